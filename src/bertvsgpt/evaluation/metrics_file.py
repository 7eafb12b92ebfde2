"""The DVC metrics file: a nested dict that ``dvc metrics show/diff`` and ``dvc exp show`` read."""

from __future__ import annotations

from typing import Any

import polars as pl


def metrics_summary(
    intrinsic: dict[str, dict[str, Any]], summary: pl.DataFrame, label_efficiency: pl.DataFrame | None = None
) -> dict[str, Any]:
    """``{"pretrain": {model: {...}}, "finetune": {task: {model: {metric: mean}}}}``, rounded for display.

    With label-efficiency results (:func:`bertvsgpt.evaluation.label_efficiency.collect_label_efficiency`)
    also ``"label_efficiency": {task: {model: {"frac_<f>": mean primary score over seeds}}}``.
    """
    out: dict[str, Any] = {
        "pretrain": {m: {k: round(float(v), 4) for k, v in d.items() if _is_number(v)} for m, d in intrinsic.items()},
        "finetune": {},
    }
    for row in summary.filter(pl.col("metric").str.starts_with("test_")).iter_rows(named=True):
        out["finetune"].setdefault(row["task"], {}).setdefault(row["model"], {})[row["metric"]] = round(row["mean"], 4)
    if label_efficiency is not None and label_efficiency.height:
        means = label_efficiency.group_by(["task", "model", "label_fraction"]).agg(pl.col("score").mean()).sort(["task", "model", "label_fraction"])
        le: dict[str, Any] = {}
        for row in means.iter_rows(named=True):
            le.setdefault(row["task"], {}).setdefault(row["model"], {})[f"frac_{row['label_fraction']:g}"] = round(row["score"], 4)
        out["label_efficiency"] = le
    return out


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


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
