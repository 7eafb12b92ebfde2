"""What every baseline returns: its name, the metrics of its task kind and one prediction row per test example.

``metrics`` holds the same ``test_*`` keys and ``primary_metric`` as a fine-tuned model's
``metrics.json`` for the kind, plus ``baseline`` (the name), ``description`` (one line, shown in the
report) and ``reference`` (true for the trivial baseline every pre-trained model is tested against).
``predictions`` has the columns of the kind's fine-tuning ``predictions.parquet`` in the same row
order (the test split's), so the report's paired bootstrap pairs a model and a baseline example by
example.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl


@dataclass
class BaselineResult:
    name: str
    metrics: dict[str, Any]
    predictions: pl.DataFrame


def record(
    name: str, description: str, primary_metric: str, frames: Mapping[str, pl.DataFrame], reference: bool, seed: int
) -> dict[str, Any]:
    """The ``metrics.json`` keys every baseline writes: what it is, its split sizes, its primary metric."""
    return {
        "baseline": name,
        "description": description,
        "reference": reference,
        "primary_metric": primary_metric,
        "seed": seed,
        "n_train": frames["train"].height,
        "n_dev": frames["dev"].height,
        "n_test": frames["test"].height,
    }


def most_frequent(values: Iterable[Hashable]) -> tuple[Any, int]:
    """The most frequent value and its count; a tie goes to the smallest value (deterministic)."""
    counts = Counter(values)
    if not counts:
        raise ValueError("no values to count")
    best = min(counts, key=lambda v: (-counts[v], v))
    return best, counts[best]
