"""The report's figures (matplotlib, PNG): labelled axes with units, legends, readable in grey print.

Each function draws one figure into ``path`` and returns it, or returns ``None`` when there is
nothing to draw. Models keep one colour everywhere (BERT blue, GPT vermillion: the Okabe-Ito
colour-blind-safe pair); scratch twins use the same colour, lighter and hatched (in line plots: the
same colour, dashed, hollow markers), and lines differ by marker and dash as well as colour. Any other
model (a published checkpoint) takes the next colour and marker of :data:`OTHER_COLOURS` / :data:`OTHER_MARKERS`
in the order of the run's models, its bars dotted.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from .budget import BudgetPoint
from .comparison import GroupResult, TaskResult
from .label_efficiency import LabelPoint
from .labels import TWINS, metric_label, model_label, points

COLOURS = {"bert": "#0072B2", "gpt": "#D55E00", "bert-scratch": "#56B4E9", "gpt-scratch": "#E69F00"}
HATCHES = {"bert-scratch": "//", "gpt-scratch": "\\\\"}
MARKERS = {"bert": "o", "gpt": "s"}
# Models without a colour of their own (published checkpoints): the rest of the Okabe-Ito palette, then greys.
OTHER_COLOURS = ("#009E73", "#CC79A7", "#000000", "#F0E442", "#999999")
OTHER_MARKERS = ("^", "D", "v", "P", "X")
OTHER_HATCH = ".."
LEGEND_COLUMNS = 4  # our four models in one row; published checkpoints beyond them wrap to the next


def _other_index(model: str, models: Sequence[str]) -> int:
    """The place of ``model`` among the run's models that have no colour of their own (0 when not listed)."""
    others = [m for m in models if m not in COLOURS]
    return others.index(model) if model in others else 0


def colour_of(model: str, models: Sequence[str] = ()) -> str:
    """The model's colour: ours fixed (:data:`COLOURS`), any other the next of :data:`OTHER_COLOURS`."""
    if model in COLOURS:
        return COLOURS[model]
    return OTHER_COLOURS[_other_index(model, models) % len(OTHER_COLOURS)]


def marker_of(model: str, models: Sequence[str] = ()) -> str:
    """The model's marker: ours fixed (:data:`MARKERS`; ``o`` for a model without one), any other model without a
    colour of its own the next of :data:`OTHER_MARKERS`."""
    if model in MARKERS:
        return MARKERS[model]
    if model in COLOURS:
        return "o"
    return OTHER_MARKERS[_other_index(model, models) % len(OTHER_MARKERS)]


def hatch_of(model: str) -> str | None:
    """Scratch twins hatched (:data:`HATCHES`), any model without a colour of its own dotted, ours plain."""
    return HATCHES.get(model) if model in COLOURS else OTHER_HATCH
DPI = 150


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    return fig


def _save(fig: Figure, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=DPI, metadata={"Software": None})
    return path


def _tokens(frame: pl.DataFrame) -> np.ndarray:
    return frame.get_column("tokens_seen").cast(pl.Float64).to_numpy() / 1e6


def _has(frame: pl.DataFrame, *cols: str) -> bool:
    return all(c in frame.columns for c in cols) and frame.height > 0


def pretrain_loss_figure(curves: dict[str, pl.DataFrame], path: Path) -> Path | None:
    """Training loss against tokens seen, both models on one axis."""
    lines = []
    if "bert" in curves and _has(curves["bert"], "tokens_seen", "loss"):
        b = curves["bert"]
        nsp = "nsp_loss" in b.columns  # next-sentence prediction off: the loss is the MLM loss
        label = "BERT: MLM + NSP loss" if nsp else "BERT: MLM loss (masked tokens)"
        lines.append((_tokens(b), b.get_column("loss").to_numpy(), label, "bert", "-"))
        if nsp and "mlm_loss" in b.columns:
            lines.append((_tokens(b), b.get_column("mlm_loss").to_numpy(), "BERT: MLM loss (masked tokens)", "bert", "--"))
    if "gpt" in curves and _has(curves["gpt"], "tokens_seen", "loss"):
        g = curves["gpt"]
        lines.append((_tokens(g), g.get_column("loss").to_numpy(), "GPT: next-token loss", "gpt", "-"))
    if not lines:
        return None
    fig = _figure(6.4, 3.8)
    ax = fig.add_subplot()
    for x, y, label, model, dash in lines:
        ax.plot(x, y, dash, color=COLOURS[model], marker=MARKERS[model], markevery=max(1, len(x) // 8), ms=4, label=label)
    ax.set_xlabel("pre-training tokens seen (millions)")
    ax.set_ylabel("training loss (nats, cross-entropy)")
    ax.set_title("Pre-training loss vs tokens seen")
    ax.grid(alpha=0.3)
    ax.legend(frameon=False)
    return _save(fig, path)


def pretrain_intrinsic_figure(
    curves: dict[str, pl.DataFrame], intrinsic: dict[str, dict[str, Any]], pretrain: dict[str, dict[str, Any]], path: Path
) -> Path | None:
    """Accuracies and perplexities vs tokens seen: training-batch curves, held-out values as large markers."""
    acc_lines, ppl_lines = [], []
    b, g = curves.get("bert"), curves.get("gpt")
    if b is not None and _has(b, "tokens_seen"):
        for col, label, dash in (("mlm_accuracy", "BERT MLM accuracy", "-"), ("nsp_accuracy", "BERT NSP accuracy", ":")):
            if col in b.columns:
                acc_lines.append((_tokens(b), 100 * b.get_column(col).to_numpy(), label, "bert", dash))
        if "mlm_perplexity" in b.columns:
            ppl_lines.append((_tokens(b), b.get_column("mlm_perplexity").to_numpy(), "BERT masked-token perplexity", "bert", "-"))
    if g is not None and _has(g, "tokens_seen"):
        if "next_token_accuracy" in g.columns:
            acc_lines.append((_tokens(g), 100 * g.get_column("next_token_accuracy").to_numpy(), "GPT next-token accuracy", "gpt", "-"))
        if "perplexity" in g.columns:
            ppl_lines.append((_tokens(g), g.get_column("perplexity").to_numpy(), "GPT next-token perplexity", "gpt", "-"))
    held_acc, held_ppl = [], []
    for arch, keys in (("bert", (("mlm_accuracy", "MLM acc."), ("nsp_accuracy", "NSP acc."), ("mlm_perplexity", "MLM ppl."))),
                       ("gpt", (("next_token_accuracy", "next-token acc."), ("perplexity", "ppl.")))):
        x = (pretrain.get(arch) or {}).get("tokens_seen")
        if x is None and arch in curves and _has(curves[arch], "tokens_seen"):
            x = float(curves[arch].get_column("tokens_seen").max())
        for key, short in keys:
            v = (intrinsic.get(arch) or {}).get(key)
            if x is None or not isinstance(v, (int, float)):
                continue
            target = held_ppl if "perplexity" in key else held_acc
            target.append((x / 1e6, v if "perplexity" in key else 100 * v, f"{model_label(arch)} held-out {short}", arch))
    if not (acc_lines or ppl_lines or held_acc or held_ppl):
        return None
    fig = _figure(10.0, 4.8)
    ax_acc, ax_ppl = fig.subplots(1, 2)
    for ax, lines, held in ((ax_acc, acc_lines, held_acc), (ax_ppl, ppl_lines, held_ppl)):
        for x, y, label, model, dash in lines:
            ax.plot(x, y, dash, color=COLOURS[model], marker=MARKERS[model], markevery=max(1, len(x) // 8), ms=4,
                    label=f"{label} (training batches)")
        for i, (x, y, label, model) in enumerate(held):
            ax.plot([x], [y], linestyle="none", marker="*^vDP"[i % 5], ms=11, mec="black", color=COLOURS[model], label=label)
        ax.set_xlabel("pre-training tokens seen (millions)")
        ax.grid(alpha=0.3)
        if lines or held:  # below the axes: never over the curves
            ax.legend(frameon=False, fontsize=7.5, ncols=2, loc="upper center", bbox_to_anchor=(0.5, -0.17))
    ax_acc.set_ylabel("accuracy (%)")
    ax_acc.set_title("Accuracy vs tokens seen")
    ax_ppl.set_ylabel("perplexity (log scale)")
    if ppl_lines or held_ppl:
        ax_ppl.set_yscale("log")
        plain = FuncFormatter(lambda v, _: f"{v:g}")
        ax_ppl.yaxis.set_major_formatter(plain)
        lo, hi = ax_ppl.get_ylim()
        if hi / max(lo, 1e-9) < 10:  # within a decade: label the minor ticks too
            ax_ppl.yaxis.set_minor_formatter(plain)
        else:  # several decades: 1-2-5 ticks
            ax_ppl.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            ax_ppl.yaxis.set_minor_formatter(NullFormatter())
    ax_ppl.set_title("Perplexity vs tokens seen")
    return _save(fig, path)


def _bars(ax, labels: Sequence[str], series: dict[str, tuple[list[float], list[float]]], models: Sequence[str],
          published: Collection[str] = ()) -> None:
    n = max(1, len(series))
    width = 0.8 / n
    x = np.arange(len(labels))
    for i, m in enumerate(m for m in models if m in series):
        means, stds = series[m]
        ax.bar(x + (i - (n - 1) / 2) * width, np.nan_to_num(means), width, yerr=stds, capsize=2,
               color=colour_of(m, models), hatch=hatch_of(m), edgecolor="black", linewidth=0.5,
               label=model_label(m, published), error_kw={"linewidth": 0.8})
    ax.set_xticks(x, labels)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)


def task_scores_figure(results: Sequence[TaskResult], models: Sequence[str], path: Path, published: Collection[str] = ()) -> Path | None:
    """Each task's primary metric per model (mean, error bars: std over seeds)."""
    if not results:
        return None
    series = {}
    for m in models:
        if any(m in r.scores for r in results):
            means = [points(r.scores[m].mean, r.metric) if m in r.scores else np.nan for r in results]
            stds = [points(r.scores[m].std, r.metric) if m in r.scores else 0.0 for r in results]
            series[m] = (means, stds)
    fig = _figure(max(6.4, 1.3 * len(results) + 1.5), 3.9)
    ax = fig.add_subplot()
    _bars(ax, [f"{r.task}\n({metric_label(r.metric)})" for r in results], series, models, published)
    ax.set_ylabel("test score (0-100; error bar: std over seeds)")
    ax.set_title("Primary test metric per task")
    ax.legend(frameon=False, ncols=min(len(series), LEGEND_COLUMNS), loc="upper center", bbox_to_anchor=(0.5, -0.2))
    return _save(fig, path)


def group_scores_figure(groups: Sequence[GroupResult], models: Sequence[str], path: Path, published: Collection[str] = ()) -> Path | None:
    """Mean normalised primary metric per group of tasks and overall."""
    if not groups:
        return None
    series = {m: ([100 * g.means.get(m, np.nan) for g in groups], [0.0] * len(groups)) for m in models if any(m in g.means for g in groups)}
    fig = _figure(max(6.4, 1.4 * len(groups) + 1.5), 3.6)
    ax = fig.add_subplot()
    _bars(ax, [g.name for g in groups], series, models, published)
    ax.set_ylabel("mean primary metric (0-100)")
    ax.set_title("Average over the tasks of each group")
    ax.legend(frameon=False, ncols=min(len(series), LEGEND_COLUMNS), loc="upper center", bbox_to_anchor=(0.5, -0.12))
    return _save(fig, path)


def budget_figure(budget: Sequence[BudgetPoint], path: Path) -> Path | None:
    """Fine-tuned score vs the pre-training FLOPs of the checkpoint it started from, per task."""
    tasks = sorted({p.task for p in budget})
    if not tasks:
        return None
    fig = _figure(max(4.5, 3.6 * len(tasks)), 3.6)
    axes = np.atleast_1d(fig.subplots(1, len(tasks)))
    for ax, task in zip(axes, tasks):
        metric = ""
        for arch in ("bert", "gpt"):
            pts = sorted((p for p in budget if p.task == task and p.arch == arch), key=lambda p: p.flops)
            if not pts:
                continue
            metric = pts[0].metric
            ax.errorbar([p.flops for p in pts], [points(p.mean, p.metric) for p in pts], yerr=[points(p.std, p.metric) for p in pts],
                        color=COLOURS[arch], marker=MARKERS[arch], capsize=2, label=model_label(arch))
        ax.set_xlabel("pre-training FLOPs (0 = scratch twin)")
        ax.set_ylabel(f"test {metric_label(metric)} (0-100; bar: std over seeds)")
        ax.set_title(f"{task}: score vs pre-training compute")
        ax.ticklabel_format(axis="x", style="sci", scilimits=(0, 0))
        ax.grid(alpha=0.3)
        ax.legend(frameon=False)
    return _save(fig, path)


def label_efficiency_figure(pts: Sequence[LabelPoint], models: Sequence[str], path: Path, published: Collection[str] = ()) -> Path | None:
    """Small multiples, one panel per task: test score vs training labels (log scale), one line per model;
    the scratch twins dashed in their pre-trained twin's colour. The 100 % point is the main run."""
    tasks = list(dict.fromkeys(p.task for p in pts if p.n_train))
    if not tasks:
        return None
    ncols = min(4, len(tasks))
    nrows = -(-len(tasks) // ncols)
    fig = _figure(max(4.5, 3.4 * ncols), 3.0 * nrows + 0.7)
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    twin_of = {twin: arch for arch, twin in TWINS.items()}
    drawn: dict[str, Any] = {}
    for ax, task in zip(axes, tasks):
        metric = ""
        for m in models:
            own = sorted((p for p in pts if p.task == task and p.model == m and p.n_train), key=lambda p: p.n_train)
            if not own:
                continue
            metric = own[0].metric
            arch = twin_of.get(m, m)
            line = ax.errorbar([p.n_train for p in own], [points(p.mean, p.metric) for p in own],
                               yerr=[points(p.std, p.metric) for p in own], color=colour_of(arch, models),
                               linestyle="--" if m in twin_of else "-", marker=marker_of(arch, models),
                               mfc="white" if m in twin_of else None, ms=5, capsize=2, label=model_label(m, published))
            drawn.setdefault(m, line)
        ax.set_xscale("log")
        xs = sorted({p.n_train for p in pts if p.task == task and p.n_train})
        ax.set_xticks(xs, [f"{x:,.0f}" for x in xs])  # the label counts that ran
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("training labels (log scale)")
        ax.set_ylabel(f"test {metric_label(metric)} (0-100)")
        ax.set_title(task)
        ax.grid(alpha=0.3, which="both")
    for ax in axes[len(tasks):]:
        ax.set_visible(False)
    fig.suptitle("Test score vs number of training labels (rightmost point: the main run, all labels)")
    fig.legend([drawn[m] for m in models if m in drawn], [model_label(m, published) for m in models if m in drawn],
               loc="outside lower center", ncols=min(len(drawn), LEGEND_COLUMNS), frameon=False)
    return _save(fig, path)
