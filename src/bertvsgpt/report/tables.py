"""The report's Markdown tables, each from already-computed numbers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

from .budget import BudgetPoint
from .comparison import GroupResult, TaskResult
from .contamination import Overlap
from .labels import (
    METRIC_LABELS,
    SCALE_100,
    TWINS,
    fmt_count,
    fmt_delta,
    fmt_p,
    fmt_seconds,
    fmt_score,
    md_cell,
    md_table,
    metric_label,
    model_label,
    twinned,
)
from .significance import PairedTest


def winner(test: PairedTest | None, alpha: float, a: str = "bert", b: str = "gpt", delta: float | None = None) -> str:
    """The significantly better model of ``a − b``; ``"none"`` when ``p ≥ alpha``."""
    if test is None:
        if delta is None:
            return "—"
        return f"{model_label(a) if delta > 0 else model_label(b) if delta < 0 else 'tie'} (untested)"
    if not test.significant(alpha):
        return "none"
    return model_label(a) if test.delta > 0 else model_label(b)


def _delta_ci(test: PairedTest, metric: str) -> str:
    return f"{fmt_delta(test.delta, metric)} [{fmt_delta(test.ci_low, metric)}, {fmt_delta(test.ci_high, metric)}]"


def _gain(result: TaskResult, model: str) -> str:
    twin = TWINS[model]
    test = result.tests.get((model, twin))
    if test is not None:
        return f"{fmt_delta(test.delta, result.metric)} (p {fmt_p(test.p_value, test.n_resamples)})"
    a, b = result.scores.get(model), result.scores.get(twin)
    return fmt_delta(a.mean - b.mean, result.metric) if a and b else "—"


def headline_table(results: Sequence[TaskResult], models: Sequence[str], alpha: float) -> str:
    """One row per task: primary metric per model, BERT − GPT with its test, each model's gain over scratch."""
    gains = twinned(models)
    header = ["task", "metric", *(model_label(m) for m in models)]
    has_pair = "bert" in models and "gpt" in models
    if has_pair:
        header += ["BERT − GPT [95 % CI]", "p", "winner"]
    header += [f"{model_label(m)} − {model_label(TWINS[m])}" for m in gains]
    rows = []
    for r in results:
        cells: list[Any] = [r.task, metric_label(r.metric)]
        for m in models:
            s = r.scores.get(m)
            cells.append(fmt_score(s.mean, s.std, s.n, r.metric) if s else "—")
        if has_pair:
            test = r.tests.get(("bert", "gpt"))
            if test is not None:
                cells += [_delta_ci(test, r.metric), fmt_p(test.p_value, test.n_resamples), winner(test, alpha)]
            else:
                a, b = r.scores.get("bert"), r.scores.get("gpt")
                delta = a.mean - b.mean if a and b else None
                cells += [fmt_delta(delta, r.metric) if delta is not None else "—", "—", winner(None, alpha, delta=delta)]
        cells += [_gain(r, m) for m in gains]
        rows.append(cells)
    return md_table(header, rows)


def group_table(groups: Sequence[GroupResult], models: Sequence[str], alpha: float) -> str:
    """Mean over tasks of the primary metrics on a 0-100 scale, per group and overall."""
    has_pair = "bert" in models and "gpt" in models
    header = ["group", "tasks", *(model_label(m) for m in models)]
    if has_pair:
        header += ["BERT − GPT [95 % CI]", "p", "winner"]
    rows = []
    for g in groups:
        name = f"**{g.name}**" if g.name == "overall" else g.name
        cells: list[Any] = [name, ", ".join(g.tasks) if g.name != "overall" else f"all {len(g.tasks)}"]
        for m in models:
            v = g.means.get(m)
            partial = v is not None and g.n_tasks.get(m, 0) < len(g.tasks)
            cells.append("—" if v is None else f"{100 * v:.1f}{' *' if partial else ''}")
        if has_pair:
            if g.test is not None:
                t = g.test
                cells += [f"{100 * t.delta:+.1f} [{100 * t.ci_low:+.1f}, {100 * t.ci_high:+.1f}]",
                          fmt_p(t.p_value, t.n_resamples), winner(t, alpha)]
            else:
                a, b = g.means.get("bert"), g.means.get("gpt")
                delta = a - b if a is not None and b is not None else None
                cells += ["—" if delta is None else f"{100 * delta:+.1f}", "—", winner(None, alpha, delta=delta)]
        rows.append(cells)
    return md_table(header, rows)


def all_metrics_table(summary: pl.DataFrame, models: Sequence[str], tasks: Sequence[str] | None = None) -> str:
    """Every test metric of every task: mean ± std over seeds per model, and BERT − GPT."""
    rows_df = summary.filter(pl.col("metric").is_in(list(METRIC_LABELS)))
    if tasks is not None:
        order = {t: i for i, t in enumerate(tasks)}
        rows_df = rows_df.filter(pl.col("task").is_in(list(tasks)))
        rows_df = rows_df.with_columns(pl.col("task").replace_strict(order, return_dtype=pl.Int64).alias("_order"))
        rows_df = rows_df.sort(["_order", "metric"], maintain_order=True)
    header = ["task", "metric", *(model_label(m) for m in models), "BERT − GPT", "higher"]
    out = []
    for (task, metric), grp in rows_df.group_by(["task", "metric"], maintain_order=True):
        by_model = {r["model"]: r for r in grp.iter_rows(named=True)}
        cells = [task, metric_label(metric)]
        for m in models:
            r = by_model.get(m)
            cells.append(fmt_score(r["mean"], r["std"] or 0.0, r["n"], metric) if r else "—")
        if "bert" in by_model and "gpt" in by_model:
            diff = by_model["bert"]["mean"] - by_model["gpt"]["mean"]
            cells += [fmt_delta(diff, metric), "BERT" if diff > 0 else "GPT" if diff < 0 else "tie"]
        else:
            cells += ["—", "—"]
        out.append(cells)
    return md_table(header, out)


def compute_table(pretrain: dict[str, dict[str, Any]]) -> str:
    cols = [
        ("parameters", "parameters", fmt_count),
        ("tokens_seen", "tokens", fmt_count),
        ("train_flops", "training FLOPs", lambda v: f"{v:.2e}"),
        ("train_seconds", "wall time", fmt_seconds),
        ("tokens_per_second", "tokens/s", lambda v: f"{v:,.0f}"),
        ("mfu", "MFU", lambda v: f"{100 * v:.0f} %"),
        ("peak_memory_mb", "peak memory", lambda v: f"{v:,.0f} MB"),
        ("precision", "precision", str),
    ]
    rows = [[model_label(m), *(fmt(s[key]) if key in s else "—" for key, _, fmt in cols)] for m, s in pretrain.items()]
    return md_table(["model", *(c[1] for c in cols)], rows)


def intrinsic_table(intrinsic: dict[str, dict[str, Any]]) -> str:
    rows = []
    for model, d in intrinsic.items():
        for k, v in d.items():
            val = f"{v:.4g}" if isinstance(v, float) else f"{v:,}"
            rows.append([model_label(model), k.replace("_", " "), val])
    return md_table(["model", "metric", "value"], rows)


def cards_table(cards: Sequence[dict[str, Any]], usage: dict[str, str]) -> str:
    """One row per data source: what it is used for, where it comes from, its licence and size."""
    rows = []
    for c in cards:
        counts = c.get("counts") or {}
        size = ", ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}" for k, v in counts.items())
        rows.append([md_cell(c.get("name", "?")), md_cell(usage.get(c.get("name", ""), "—")),
                     md_cell(f"{c.get('client', '?')}: `{c.get('spec', '')}`"), md_cell(c.get("licence", "unknown")), md_cell(size)])
    return md_table(["source", "used for", "origin", "licence", "size"], rows)


def contamination_table(overlaps: Sequence[Overlap], n: int) -> str:
    rows = [[o.task, f"{o.n_examples:,}", f"{o.n_checkable:,}", f"{o.n_overlapping:,}", f"{100 * o.share:.1f} %"] for o in overlaps]
    return md_table(["task", "test examples", f"with ≥ {n} words", f"sharing {n} consecutive words with the corpus", "share"], rows,
                    align=["l", "r", "r", "r", "r"])


def budget_table(points: Sequence[BudgetPoint]) -> str:
    rows = []
    for p in points:
        val = fmt_score(p.mean, p.std, p.n, p.metric)
        rows.append([p.task, model_label(p.arch), f"{100 * p.fraction:.0f} %", f"{p.flops:.2e}", metric_label(p.metric), val, p.source])
    return md_table(["task", "pre-training", "of the token budget", "pre-training FLOPs", "metric", "score", "from"], rows)


def scale_note(metrics: Sequence[str]) -> str:
    """What the numbers of a table are."""
    hundred = sorted({metric_label(m) for m in metrics if m in SCALE_100})
    note = "Scores are percentages (0-100)"
    if hundred:
        note += f"; {', '.join(hundred)} on sacreBLEU's 0-100 scale"
    return note + "."
