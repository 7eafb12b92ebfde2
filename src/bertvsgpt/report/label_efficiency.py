"""Label efficiency: the test score against the number of training labels, pre-trained vs scratch.

The ``finetune_labels`` stage fine-tunes every model on fractions of each task's training labels; the
evaluate stage gathers them into ``data/evaluation/label_efficiency.parquet`` (one row per model,
task, label fraction and seed: ``label_fraction``, ``n_train``, ``metric`` (the primary one), ``score``).
The 100 % point of each curve is the main fine-tuning run: its mean primary score over seeds (the
summary) at its training-split size (``n_train`` of its ``metrics.json``). The section, figure and
metrics appear only when label-efficiency results exist.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from .labels import TWINS, fmt_p, fmt_score, md_table, metric_label, model_label, points
from .seed_scores import seed_score
from .significance import PairedTest, check_same_rows, compare, model_replicates, resample_counts, supports

FULL = 1.0


@dataclass(frozen=True)
class LabelPoint:
    task: str
    model: str
    fraction: float  # of the main run's training labels; 1.0 = the main run
    n_train: float | None  # training labels (mean over seeds); None when the run did not record it
    metric: str
    mean: float
    std: float
    n: int  # seeds


def read_label_efficiency(path: Path) -> pl.DataFrame | None:
    return pl.read_parquet(path) if Path(path).is_file() else None


def label_points(
    frame: pl.DataFrame | None, summary: pl.DataFrame, runs: pl.DataFrame | None, models: Sequence[str], tasks: Sequence[str],
    per_seed: pl.DataFrame | None = None,
) -> list[LabelPoint]:
    """Every (task, model, fraction) point, mean/std over seeds, plus the main run's 100 % point; [] without results.
    With ``per_seed`` (each main run's scores) the 100 % point averages the fine-tuning seeds the fractions ran
    (``label_efficiency.seeds``, which start from the first pre-training run), so the curve compares like with like;
    without it, the main run's mean over all its seeds."""
    if frame is None or frame.height == 0:
        return []
    out: list[LabelPoint] = []
    grouped = (frame.group_by(["task", "model", "label_fraction", "metric"])
               .agg(pl.col("n_train").mean(), pl.col("score").mean().alias("mean"), pl.col("score").std().fill_null(0.0).alias("std"),
                    pl.len().alias("n")))
    for task in tasks:
        part = grouped.filter(pl.col("task") == task)
        if part.height == 0:
            continue
        metric = part.get_column("metric")[0]
        for model in models:
            rows = part.filter(pl.col("model") == model).sort("label_fraction")
            for r in rows.iter_rows(named=True):
                out.append(LabelPoint(task, model, float(r["label_fraction"]), float(r["n_train"]), metric, r["mean"], r["std"], int(r["n"])))
            seeds = set(frame.filter((pl.col("model") == model) & (pl.col("task") == task)).get_column("seed").to_list()) \
                if "seed" in frame.columns else set()
            matched = seed_score(per_seed, model, task, metric, seeds)
            full = summary.filter((pl.col("model") == model) & (pl.col("task") == task) & (pl.col("metric") == metric))
            if matched is not None:
                out.append(LabelPoint(task, model, FULL, _main_n_train(runs, model, task), metric, *matched))
            elif full.height:
                s = full.row(0, named=True)
                out.append(LabelPoint(task, model, FULL, _main_n_train(runs, model, task), metric, float(s["mean"]),
                                      float(s["std"] or 0.0), int(s["n"])))
    return out


Frames = Mapping[int, pl.DataFrame]  # seed -> test predictions


def label_tests(
    pts: Sequence[LabelPoint], label_predictions: Mapping[tuple[str, str, float], Frames],
    predictions: Mapping[tuple[str, str], Frames], n_resamples: int, seed: int,
) -> dict[tuple[str, str, float], PairedTest]:
    """``(task, model, fraction) -> model − its scratch twin`` at every point of the curve where both ran: the report's
    paired bootstrap over the test examples (the same rows for every model), each side's score the mean over the
    seeds it ran. A fraction's side is its label-efficiency runs; the 100 % side is the main run's predictions of the
    fine-tuning seeds the fractions ran (the curve's own 100 % point)."""
    curve_seeds: dict[tuple[str, str], set[int]] = {}  # (model, task) -> the seeds its fractions ran
    for (m, t, _), runs in label_predictions.items():
        curve_seeds.setdefault((m, t), set()).update(runs)
    out: dict[tuple[str, str, float], PairedTest] = {}
    for p in pts:
        twin = TWINS.get(p.model)
        if twin is None:
            continue
        if p.fraction < FULL:
            sides = [label_predictions.get((m, p.task, p.fraction)) or {} for m in (p.model, twin)]
        else:
            seeds = curve_seeds.get((p.model, p.task), set())
            sides = [{s: f for s, f in (predictions.get((m, p.task)) or {}).items() if s in seeds} for m in (p.model, twin)]
        if not all(sides) or not all(supports(p.metric, f) for side in sides for f in side.values()):
            continue
        n = check_same_rows({f"{m} seed {s}": f for m, side in zip((p.model, twin), sides) for s, f in side.items()})
        counts = resample_counts(n, n_resamples, seed)
        a, b = (model_replicates(list(side.values()), p.metric, counts) for side in sides)
        out[(p.task, p.model, p.fraction)] = compare(a, b, n)
    return out


def _main_n_train(runs: pl.DataFrame | None, model: str, task: str) -> float | None:
    if runs is None or "n_train" not in runs.columns:
        return None
    v = runs.filter((pl.col("model") == model) & (pl.col("task") == task)).get_column("n_train").drop_nulls()
    return float(v.mean()) if len(v) else None


def fractions(pts: Sequence[LabelPoint]) -> list[float]:
    return sorted({p.fraction for p in pts})


def frac_key(fraction: float) -> str:
    return f"frac_{fraction:g}"


def pct(fraction: float) -> str:
    v = 100 * fraction
    return f"{v:.0f} %" if abs(v - round(v)) < 1e-9 else f"{v:g} %"


def _n(v: float | None) -> str:
    return "?" if v is None else f"{v:,.0f}"


def _index(pts: Sequence[LabelPoint]) -> dict[tuple[str, str, float], LabelPoint]:
    return {(p.task, p.model, p.fraction): p for p in pts}


def label_efficiency_table(pts: Sequence[LabelPoint], models: Sequence[str], published: Collection[str] = ()) -> str:
    """Rows (task, model); a column per label fraction and the main run (100 %): score, mean ± std over seeds."""
    fr = fractions(pts)
    at = _index(pts)
    tasks = list(dict.fromkeys(p.task for p in pts))
    header = ["task", "metric", "model", "training labels", *(f"{pct(f)} of labels" if f < FULL else "100 % (main run)" for f in fr)]
    rows = []
    for task in tasks:
        for m in models:
            own = [at.get((task, m, f)) for f in fr]
            if not any(own):
                continue
            metric = next(p.metric for p in own if p)
            labels = " / ".join(_n(p.n_train) if p else "—" for p in own)
            rows.append([task, metric_label(metric), model_label(m, published), labels,
                         *(fmt_score(p.mean, p.std, p.n, p.metric) if p else "—" for p in own)])
    return md_table(header, rows)


def _join(items: Sequence[str]) -> str:
    items = list(items)
    return "".join(items) if len(items) <= 1 else ", ".join(items[:-1]) + " and " + items[-1]


def label_efficiency_sentences(pts: Sequence[LabelPoint], tests: Mapping[tuple[str, str, float], PairedTest] | None = None) -> list[str]:
    """One sentence per task: at which label budget is pre-training's gain over scratch largest? Every budget's
    gain is listed, smallest first (with two budgets: larger with the fraction or at full data), with its paired
    test's p-value where ``tests`` (:func:`label_tests`) has one."""
    tests = tests or {}
    at = _index(pts)
    out = []
    for task in dict.fromkeys(p.task for p in pts):
        fractions = sorted({p.fraction for p in pts if p.task == task and p.fraction < FULL})
        if not fractions:
            continue
        parts = []
        for arch, twin in TWINS.items():
            gains = []  # (fraction, gain in points, training labels) where the model and its twin both ran
            for f in [*fractions, FULL]:
                a, t = at.get((task, arch, f)), at.get((task, twin, f))
                if a and t:
                    gains.append((f, points(a.mean - t.mean, a.metric), a.n_train))
            if len(gains) < 2 or gains[-1][0] != FULL:
                continue
            best = max(round(g, 1) for _, g, _ in gains)
            where_best = [f for f, g, _ in gains if round(g, 1) == best]
            word = "larger" if len(gains) == 2 else "largest"
            if len(where_best) == len(gains):
                where = "the same at both" if len(gains) == 2 else "the same at every label budget"
            elif where_best[0] == FULL:
                where = f"{word} at full data"
            else:
                where = f"{word} with {pct(where_best[0])} of the labels"
            def p_of(f: float) -> str:
                t = tests.get((task, arch, f))
                return "" if t is None else f" (p {fmt_p(t.p_value, t.n_resamples)})"

            (f0, g0, n0), *rest = gains
            listed = [f"{g0:+.1f} points{p_of(f0)} with {_n(n0)} labels",
                      *(f"{g:+.1f}{p_of(f)} with {'all ' if f == FULL else ''}{_n(n)}" for f, g, n in rest)]
            parts.append(f"{where} for {model_label(arch)} ({', '.join(listed)})")
        if parts:
            metric = next(p.metric for p in pts if p.task == task)
            out.append(f"On {task} ({metric_label(metric)}), pre-training's gain over scratch is {_join(parts)}.")
        else:
            out.append(f"On {task}, no pre-trained model ran with its scratch twin at two label budgets: no gain to compare.")
    return out


def label_efficiency_findings(pts: Sequence[LabelPoint], tests: Mapping[tuple[str, str, float], PairedTest], alpha: float) -> list[str]:
    """One finding for the report's opening list: where, with a fraction of the labels, a pre-trained model scored
    significantly above (or below) its scratch twin; [] when no point of the curve was tested."""
    at = _index(pts)
    below_full = {k: t for k, t in tests.items() if k[2] < FULL and k[1] in TWINS}
    if not below_full:
        return []

    def listed(items: list[tuple[str, float, float, float | None]]) -> str:
        by_task: dict[str, list[str]] = {}
        for task, f, gain, n in sorted(items, key=lambda i: (i[0], i[1])):
            first = not by_task.get(task)
            by_task.setdefault(task, []).append(f"{gain:+.1f}{' points' if first else ''} with {_n(n)} labels")
        return _join([f"{task} ({', '.join(v)})" for task, v in by_task.items()])

    helped, hurt = [], []
    for arch in TWINS:
        up, down = [], []
        for (task, model, f), t in below_full.items():
            p = at.get((task, model, f))
            if model != arch or p is None or t.p_value >= alpha:
                continue
            (up if t.delta > 0 else down).append((task, f, points(t.delta, p.metric), p.n_train))
        if up:
            helped.append(f"{model_label(arch)} on {listed(up)}")
        if down:
            hurt.append(f"{model_label(arch)} on {listed(down)}")
    head = "With a fraction of the labels (*Label efficiency*, one fine-tuning seed)"
    if not helped and not hurt:
        return [f"{head}, no pre-trained model differs significantly from its scratch twin."]
    parts = []
    if helped:
        parts.append(f"pre-training helped {_join(helped)} significantly over scratch")
    if hurt:
        parts.append(f"{'it' if helped else 'pre-training'} left {_join(hurt)} significantly below scratch")
    return [f"{head}, {'; '.join(parts)}."]


def label_efficiency_metrics(pts: Sequence[LabelPoint], tests: Mapping[tuple[str, str, float], PairedTest] | None = None,
                             ) -> dict[str, dict[str, dict[str, float]]]:
    """``{task: {model: {"frac_<f>": score}, "<arch>_gain": {"frac_<f>": ...}, "<arch>_gain_p": {"frac_<f>": p},
    "labels": {"frac_<f>": n}}}``, 0-100 scale; ``frac_1`` is the main run (over the curve's seeds)."""
    tests = tests or {}
    out: dict[str, dict[str, dict[str, float]]] = {}
    at = _index(pts)
    for p in pts:
        d = out.setdefault(p.task, {})
        d.setdefault(p.model, {})[frac_key(p.fraction)] = round(points(p.mean, p.metric), 2)
        if p.n_train is not None:
            d.setdefault("labels", {}).setdefault(frac_key(p.fraction), round(p.n_train, 1))
        if p.model in TWINS and (twin := at.get((p.task, TWINS[p.model], p.fraction))) is not None:
            d.setdefault(f"{p.model}_gain", {})[frac_key(p.fraction)] = round(points(p.mean - twin.mean, p.metric), 2)
            if (test := tests.get((p.task, p.model, p.fraction))) is not None:
                d.setdefault(f"{p.model}_gain_p", {})[frac_key(p.fraction)] = round(test.p_value, 4)
    return out
