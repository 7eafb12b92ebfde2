"""Label efficiency: the same fine-tuning on a fraction of each task's training labels.

Pre-training's promise is that it needs fewer labels (Howard & Ruder, 2018, fig. 3; Devlin et al.,
2019, fig. 5 of the appendix). The ``finetune_labels`` stage fine-tunes every model on a stratified,
seeded ``fraction`` of the training split the main run uses (after its caps), with the same protocol
(validated every ``label_efficiency.validate_every_steps`` steps where that is more than an epoch), dev
and test splits; the report draws score against the number of training labels, pre-trained vs
scratch, with the main run as the 100 % point. Results land in
``data/label_efficiency/<model>/<task>/frac_<f>/seed_<s>/`` (``metrics.json`` with ``label_fraction``
and ``n_train`` added, ``predictions.parquet``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import polars as pl

from ..tasks.data import subsample_train

FRACTION_DIR = "frac_{:g}"


def with_label_fraction(table: pl.DataFrame, fraction: float, seed: int = 0) -> pl.DataFrame:
    """``table`` with its training split cut to ``ceil(fraction * n_train)`` of its rows (stratified by
    label where the kind has one, seeded); dev and test untouched. Pass the main run's table
    (:func:`~bertvsgpt.tasks.registry.main_run_training`), so the fraction is a subset of its rows."""
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"label fraction {fraction} is not in (0, 1]")
    n_train = table.filter(pl.col("split") == "train").height
    keep = max(1, math.ceil(round(fraction * n_train, 9)))  # 0.07 * 100 is 7.000000000000001
    train = subsample_train(table.filter(pl.col("split") == "train"), keep, seed)
    return pl.concat([train, table.filter(pl.col("split") != "train")], how="vertical_relaxed")


def collect_label_efficiency(root: Path, models: list[str], tasks: list[str]) -> pl.DataFrame:
    """One row per (model, task, fraction, seed): ``label_fraction``, ``n_train``, the primary metric's name and score."""
    rows: list[dict[str, Any]] = []
    for model in models:
        for task in tasks:
            for metrics_file in sorted((Path(root) / model / task).glob("frac_*/seed_*/metrics.json")):
                m = json.loads(metrics_file.read_text())
                rows.append(
                    {
                        "model": model,
                        "task": task,
                        "label_fraction": float(m["label_fraction"]),
                        "n_train": int(m["n_train"]),
                        "seed": int(m["seed"]),
                        "metric": m["primary_metric"],
                        "score": float(m[m["primary_metric"]]),
                    }
                )
    schema = {"model": pl.Utf8, "task": pl.Utf8, "label_fraction": pl.Float64, "n_train": pl.Int64, "seed": pl.Int64, "metric": pl.Utf8, "score": pl.Float64}
    return pl.DataFrame(rows, schema=schema)
