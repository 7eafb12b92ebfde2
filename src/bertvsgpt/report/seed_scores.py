"""A main fine-tuning run's score over chosen seeds: curves whose points fine-tune only some seeds (label efficiency,
the budget curve) end on the main run's score over those same seeds."""

from __future__ import annotations

import statistics
from collections.abc import Collection

import polars as pl


def seed_score(per_seed: pl.DataFrame | None, model: str, task: str, metric: str,
               seeds: Collection[int]) -> tuple[float, float, int] | None:
    """Mean, sample std and count of ``metric`` over the main fine-tuning runs of ``model`` on ``task`` with a seed in
    ``seeds`` (None when there is none): a curve whose points fine-tune only some seeds ends on the same seeds."""
    if per_seed is None or not seeds:
        return None
    values = per_seed.filter((pl.col("model") == model) & (pl.col("task") == task) & (pl.col("metric") == metric)
                             & pl.col("seed").is_in(sorted(seeds))).get_column("value").to_list()
    if not values:
        return None
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0, len(values)
