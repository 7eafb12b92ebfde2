"""The DVC metrics file: a nested dict that ``dvc metrics show/diff`` and ``dvc exp show`` read."""

from __future__ import annotations

from typing import Any

import polars as pl


def metrics_summary(intrinsic: dict[str, dict[str, Any]], summary: pl.DataFrame) -> dict[str, Any]:
    """``{"pretrain": {model: {...}}, "finetune": {task: {model: {metric: mean}}}}``, rounded for display."""
    out: dict[str, Any] = {
        "pretrain": {m: {k: round(float(v), 4) for k, v in d.items()} for m, d in intrinsic.items()},
        "finetune": {},
    }
    for row in summary.filter(pl.col("metric").str.starts_with("test_")).iter_rows(named=True):
        out["finetune"].setdefault(row["task"], {}).setdefault(row["model"], {})[row["metric"]] = round(row["mean"], 4)
    return out


def flatten_metrics(d: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """``{"a": {"b": 1}} -> {"a.b": 1.0}`` (numbers only), for MLflow's ``log_metrics``."""
    out: dict[str, float] = {}
    for k, v in d.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, dict):
            out.update(flatten_metrics(v, key))
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out[key] = float(v)
    return out
