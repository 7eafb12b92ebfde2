"""Build the whole report: compute results, draw figures, write Markdown, HTML and the metrics file.

``render_report(inputs, out_dir, opts)`` writes ``out_dir/report.md``, ``out_dir/report.html``
(self-contained) and ``out_dir/figures/*.png`` (the folder is replaced as a whole, so no stale
figure survives), and returns the :class:`Report` with the headline numbers for
``metrics/report.json`` (what ``dvc metrics show`` / ``dvc exp show`` list).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..io import atomic_path, write_text
from .comparison import GroupResult, TaskResult, group_results, task_results
from .contamination import contamination
from .figures import (
    budget_figure,
    group_scores_figure,
    label_efficiency_figure,
    pretrain_intrinsic_figure,
    pretrain_loss_figure,
    task_scores_figure,
)
from .findings import findings
from .html import markdown_to_html
from .inputs import ReportInputs
from .label_efficiency import label_efficiency_findings, label_efficiency_metrics, label_points, label_tests
from .labels import TWINS, baseline_key, points, published_families
from .markdown import TITLE, Computed, Figures, ReportOptions, build_markdown
from .tables import intrinsic_metrics

FIGURES = "figures"


@dataclass
class Report:
    markdown: str
    html: str
    figures: list[Path]
    metrics: dict[str, Any]
    computed: Computed


def _round(x: float | None, digits: int = 4) -> float | None:
    return None if x is None else round(float(x), digits)


def headline_metrics(results: list[TaskResult], groups: list[GroupResult],
                     published: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """``{"tasks": {task: {<metric>: {model: score}, "bert_minus_gpt": ..., ...}}, "groups": {...}}``.

    Numbers only (for ``dvc metrics``): scores and differences in points (0-100), p-values in [0, 1].
    Per task also each baseline's score ``baseline_<name>`` and each pre-trained model's difference to it
    ``<model>_vs_<name>`` with its p-value ``<model>_vs_<name>_p`` (``-`` in names becomes ``_``), and each
    published checkpoint's difference to our pre-trained model of its family ``<name>_minus_<bert|gpt>`` with
    ``<name>_minus_<bert|gpt>_p`` (``published``: name -> record; ``-`` and ``.`` in its name become ``_``).
    """
    families = published_families(published or {})
    tasks: dict[str, Any] = {}
    for r in results:
        d: dict[str, Any] = {r.metric: {m: _round(points(s.mean, r.metric), 2) for m, s in r.scores.items()}}
        t = r.tests.get(("bert", "gpt"))
        if t is not None:
            d["bert_minus_gpt"] = _round(points(t.delta, r.metric), 2)
            d["bert_minus_gpt_p"] = _round(t.p_value)
        for m, twin in TWINS.items():
            g = r.tests.get((m, twin))
            if g is not None:
                d[f"{m}_gain"] = _round(points(g.delta, r.metric), 2)
                d[f"{m}_gain_p"] = _round(g.p_value)
        for a, b in families.items():
            t = r.tests.get((a, b))
            key = f"{baseline_key(a).replace('.', '_')}_minus_{b}"
            if t is not None:
                d[key] = _round(points(t.delta, r.metric), 2)
                d[f"{key}_p"] = _round(t.p_value)
            elif a in r.scores and b in r.scores:
                d[key] = _round(points(r.scores[a].mean - r.scores[b].mean, r.metric), 2)
        for b, s in r.baselines.items():
            d[f"baseline_{baseline_key(b)}"] = _round(points(s.mean, r.metric), 2)
        for (m, b), t in r.baseline_tests.items():
            d[f"{m}_vs_{baseline_key(b)}"] = _round(points(t.delta, r.metric), 2)
            d[f"{m}_vs_{baseline_key(b)}_p"] = _round(t.p_value)
        tasks[r.task] = d
    out_groups: dict[str, Any] = {}
    for g in groups:
        d = {m: _round(100 * v, 2) for m, v in g.means.items()}
        if g.test is not None:
            d["bert_minus_gpt"] = _round(100 * g.test.delta, 2)
            d["bert_minus_gpt_p"] = _round(g.test.p_value)
        out_groups[g.name] = d
    return {"tasks": tasks, "groups": out_groups}


def compute(inputs: ReportInputs, opts: ReportOptions) -> Computed:
    results = task_results(inputs, opts.n_resamples, opts.seed)
    groups = group_results(results, inputs.models)
    overlaps = contamination(inputs.corpus_texts, inputs.test_texts, opts.ngram) if inputs.corpus_texts and inputs.test_texts else []
    labels = label_points(inputs.label_efficiency, inputs.summary, inputs.runs, inputs.models, inputs.tasks, inputs.per_seed)
    tests = label_tests(labels, inputs.label_predictions, inputs.predictions, opts.n_resamples, opts.seed)
    text = findings(results, groups, inputs.pretrain, overlaps, opts.alpha, opts.ngram, inputs.published,
                    label_efficiency_findings(labels, tests, opts.alpha))
    return Computed(results, groups, overlaps, text, list(inputs.budget), labels, tests)


def report_metrics(inputs: ReportInputs, computed: Computed) -> dict[str, Any]:
    """``metrics/report.json``: the headline numbers, plus ``intrinsic`` (each model's held-out metrics with their
    unigram floors and ratios, :func:`.tables.intrinsic_metrics`) and ``label_efficiency``
    (:func:`.label_efficiency.label_efficiency_metrics`) where the run has them."""
    out = headline_metrics(computed.results, computed.groups, inputs.published)
    intrinsic = intrinsic_metrics(inputs.intrinsic)
    if intrinsic:
        out["intrinsic"] = intrinsic
    if computed.label_efficiency:
        out["label_efficiency"] = label_efficiency_metrics(computed.label_efficiency, computed.label_tests)
    return out


def draw_figures(inputs: ReportInputs, computed: Computed, folder: Path) -> Figures:
    """Draw every figure that has data into ``folder``; the paths returned are relative to its parent."""
    published = inputs.published
    drawn = {
        "task_scores": task_scores_figure(computed.results, inputs.models, folder / "task_scores.png", published),
        "group_scores": group_scores_figure(computed.groups, inputs.models, folder / "group_scores.png", published),
        "pretrain_loss": pretrain_loss_figure(inputs.curves, folder / "pretrain_loss.png"),
        "pretrain_intrinsic": pretrain_intrinsic_figure(inputs.curves, inputs.intrinsic, inputs.pretrain, folder / "pretrain_intrinsic.png"),
        "budget": budget_figure(computed.budget, folder / "score_vs_compute.png"),
        "label_efficiency": label_efficiency_figure(computed.label_efficiency, inputs.models, folder / "label_efficiency.png",
                                                    published),
    }
    return Figures(**{k: f"{FIGURES}/{p.name}" if p else None for k, p in drawn.items()})


def render_report(inputs: ReportInputs, out_dir: Path, opts: ReportOptions) -> Report:
    out_dir = Path(out_dir)
    computed = compute(inputs, opts)
    with atomic_path(out_dir / FIGURES) as tmp:
        tmp.mkdir()
        figures = draw_figures(inputs, computed, tmp)
    markdown = build_markdown(inputs, computed, figures, opts)
    html = markdown_to_html(markdown, out_dir, TITLE)
    write_text(out_dir / "report.md", markdown)
    write_text(out_dir / "report.html", html)
    pngs = sorted((out_dir / FIGURES).glob("*.png"))
    return Report(markdown, html, pngs, report_metrics(inputs, computed), computed)
