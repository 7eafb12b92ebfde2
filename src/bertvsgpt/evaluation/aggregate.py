"""Collect every fine-tuning run's test metrics into one tidy table: (model, task, seed, metric, value, primary).

Every numeric ``test_*`` entry of a run's ``metrics.json`` becomes a row; ``primary`` marks the
task's headline metric (the run's ``primary_metric``). The classical baselines
(``data/baselines/<task>/<name>/metrics.json``) make the same rows with model ``baseline:<name>``.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl


def collect_finetune(root: Path, models: list[str], tasks: list[str]) -> pl.DataFrame:
    rows = []
    for model in models:
        for task in tasks:
            task_dir = Path(root) / model / task
            seed_dirs = sorted(task_dir.glob("seed_*"))
            if not seed_dirs:
                raise FileNotFoundError(f"no fine-tuning results in {task_dir} (run the finetune stage)")
            for seed_dir in seed_dirs:
                metrics = json.loads((seed_dir / "metrics.json").read_text())
                seed = int(seed_dir.name.removeprefix("seed_"))
                rows += _metric_rows(model, task, seed, metrics)
    return pl.DataFrame(rows, schema=SCHEMA)


def _metric_rows(model: str, task: str, seed: int, metrics: dict) -> list[dict]:
    primary = metrics.get("primary_metric")
    return [
        {"model": model, "task": task, "seed": seed, "metric": key, "value": float(value), "primary": key == primary}
        for key, value in metrics.items()
        if key.startswith("test_") and isinstance(value, (int, float)) and not isinstance(value, bool)
    ]


BASELINE_PREFIX = "baseline:"


def collect_baselines(root: Path, tasks: list[str]) -> pl.DataFrame:
    """The baselines' test metrics, one row per (baseline, task, metric), model ``baseline:<name>``.

    Each baseline of a task (a folder ``root/<task>/<name>/`` with ``metrics.json``) is deterministic and
    runs once: its seed is the one it recorded.
    """
    rows = []
    for task in tasks:
        files = sorted((Path(root) / task).glob("*/metrics.json"))
        if not files:
            raise FileNotFoundError(f"no baseline results in {Path(root) / task} (run the baselines stage)")
        for f in files:
            metrics = json.loads(f.read_text())
            rows += _metric_rows(f"{BASELINE_PREFIX}{f.parent.name}", task, int(metrics.get("seed", 0)), metrics)
    return pl.DataFrame(rows, schema=SCHEMA)


SCHEMA = {"model": pl.String, "task": pl.String, "seed": pl.Int64, "metric": pl.String, "value": pl.Float64, "primary": pl.Boolean}


def summarise(table: pl.DataFrame) -> pl.DataFrame:
    """Mean, std and count over seeds per (model, task, metric)."""
    return (
        table.group_by(["model", "task", "metric"])
        .agg(
            pl.col("value").mean().alias("mean"),
            pl.col("value").std().fill_null(0.0).alias("std"),
            pl.len().alias("n"),
            pl.col("primary").any().alias("primary"),
        )
        .sort(["task", "metric", "model"])
    )
