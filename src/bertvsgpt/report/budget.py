"""Score vs pre-training compute: fine-tuning results from intermediate pre-training checkpoints.

The ``finetune_budget`` stage fine-tunes every budget checkpoint of ``pretrain.checkpoint_fractions``
on ``budget.task`` and writes (see :mod:`bertvsgpt.evaluation.budget`)::

    data/finetune_budget/<arch>/step_<n>/seed_<s>/metrics.json

a fine-tuning ``metrics.json`` (``test_*`` scores, ``primary_metric``) plus the checkpoint's place on
the compute axis: ``pretrain_fraction`` (of the token budget), ``pretrain_tokens``, ``pretrain_flops``.
The task is ``metrics["task"]`` when present, else ``budget.task``. Also read:
``data/finetune_budget/<arch>/<fraction>/<task>/seed_<s>/metrics.json`` (fraction and task from the path).
Without ``pretrain_flops`` the x value is ``fraction × train_flops`` of ``metrics/pretrain/<arch>.json``.
The report section appears only when at least one such file exists.

The curve of each architecture and task also gets the end points the main run already has:
the scratch twin at 0 FLOPs and the fully pre-trained model at ``train_flops``.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from .labels import TWINS
from .seed_scores import seed_score


@dataclass(frozen=True)
class BudgetPoint:
    arch: str
    task: str
    fraction: float  # of the pre-training token budget
    flops: float  # pre-training FLOPs of the checkpoint
    metric: str
    mean: float
    std: float
    n: int
    source: str  # "checkpoint", "final" (the main run) or "scratch"


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def load_budget(
    root: Path,
    pretrain: Mapping[str, Mapping[str, Any]],
    summary: pl.DataFrame | None = None,
    primary: Mapping[str, str] | None = None,
    default_task: str | None = None,
    per_seed: pl.DataFrame | None = None,
) -> list[BudgetPoint]:
    """Points (arch, task, fraction) of the primary metric, mean/std over seeds; [] without budget runs. The ends (the
    scratch twin at 0, the main run at 1) average the fine-tuning seeds the checkpoints ran when ``per_seed`` (each
    main run's scores) is given, else the main runs' means over all seeds."""
    root = Path(root)
    if not root.is_dir():
        return []
    runs: dict[tuple[str, str, float], list[tuple[float, float, str]]] = {}
    seeds: dict[tuple[str, str], set[int]] = {}  # (arch, task) -> fine-tuning seeds of its checkpoint runs
    for f in sorted(root.glob("*/**/seed_*/metrics.json")):
        parts = f.relative_to(root).parts  # arch, <step_n | fraction [, task]>, seed_s, metrics.json
        arch, middle = parts[0], parts[1:-2]
        metrics = json.loads(f.read_text(encoding="utf-8"))
        task = metrics.get("task") or (middle[1] if len(middle) == 2 else default_task)
        fraction = next((float(v) for v in (metrics.get("pretrain_fraction"), metrics.get("fraction"))
                         if isinstance(v, (int, float))), _number(middle[0]) if middle else None)
        metric = metrics.get("primary_metric") or (primary or {}).get(str(task))
        if not task or fraction is None or metric not in metrics:
            continue
        flops = metrics.get("pretrain_flops")
        if not isinstance(flops, (int, float)):
            flops = fraction * float(pretrain.get(arch, {}).get("train_flops", 0.0))
        runs.setdefault((arch, str(task), fraction), []).append((float(metrics[metric]), float(flops), metric))
        seed = _number(parts[-2].removeprefix("seed_"))
        if seed is not None:
            seeds.setdefault((arch, str(task)), set()).add(int(seed))
    points = []
    for (arch, task, fraction), vals in sorted(runs.items()):
        scores = [v[0] for v in vals]
        points.append(BudgetPoint(
            arch, task, fraction, statistics.fmean(v[1] for v in vals), vals[0][2], statistics.fmean(scores),
            statistics.stdev(scores) if len(scores) > 1 else 0.0, len(scores), "checkpoint",
        ))
    if points and summary is not None:
        points += _end_points(points, pretrain, summary, per_seed, seeds)
    return sorted(points, key=lambda p: (p.task, p.arch, p.flops))


def _end_points(points: list[BudgetPoint], pretrain: Mapping[str, Mapping[str, Any]], summary: pl.DataFrame,
                per_seed: pl.DataFrame | None = None, seeds: Mapping[tuple[str, str], set[int]] | None = None) -> list[BudgetPoint]:
    out = []
    for arch, task, metric in sorted({(p.arch, p.task, p.metric) for p in points}):
        for model, fraction, source in ((TWINS.get(arch, ""), 0.0, "scratch"), (arch, 1.0, "final")):
            flops = fraction * float(pretrain.get(arch, {}).get("train_flops", 0.0))
            matched = seed_score(per_seed, model, task, metric, (seeds or {}).get((arch, task), set()))
            rows = summary.filter((pl.col("model") == model) & (pl.col("task") == task) & (pl.col("metric") == metric))
            if matched is not None:
                out.append(BudgetPoint(arch, task, fraction, flops, metric, *matched, source))
            elif rows.height:
                r = rows.row(0, named=True)
                out.append(BudgetPoint(arch, task, fraction, flops, metric, r["mean"], r["std"], int(r["n"]), source))
    return out
