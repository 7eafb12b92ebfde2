"""One task's baselines: the splits exactly as fine-tuning caps them, the kind's baselines, their outputs.

The splits come from the fine-tuning's own functions (:func:`bertvsgpt.tasks.registry.cap_splits`
with the caps ``_finetune`` passes, then :func:`bertvsgpt.tasks.data.split_frames` as every kind's
fine-tuning splits), so a baseline predicts exactly the test rows the models predict, in the same
order, and is trained on the same training rows.

Outputs, one folder per baseline: ``<out>/<name>/metrics.json`` and ``predictions.parquet``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl

from ..io import atomic_path, write_json
from ..tasks.data import check_task_table, split_frames
from ..tasks.registry import _min_cap, cap_splits
from . import classification, extractive_qa, multiple_choice, token_classification, translation
from .base import BaselineResult

# kind -> (the columns its baselines read, its baselines)
KINDS: dict[str, tuple[tuple[str, ...], Callable[..., list[BaselineResult]]]] = {
    "classification": (("id", "split", "text", "label"), classification.run),
    "multiple_choice": (("id", "split", "text", "choices", "label"), multiple_choice.run),
    "token_classification": (("id", "split", "tokens", "tags"), token_classification.run),
    "extractive_qa": (("id", "split", "context", "question", "answer"), extractive_qa.run),
    "translation": (("id", "split", "text", "target"), translation.run),
}


def task_splits(table: pl.DataFrame, task_cfg, ft_cfg) -> dict[str, pl.DataFrame]:
    """train/dev/test as fine-tuning sees them: capped by ``cap_splits`` as ``_finetune`` calls it, then split."""
    table = cap_splits(
        table,
        _min_cap(task_cfg.max_train_examples, ft_cfg.max_train_examples),
        _min_cap(task_cfg.max_eval_examples, ft_cfg.max_eval_examples),
    )
    return split_frames(table, task_cfg.max_train_examples)


def run_baselines(frames: dict[str, pl.DataFrame], kind: str, seed: int = 0) -> list[BaselineResult]:
    """Every baseline of a task kind on its splits (the reference baseline first)."""
    if kind not in KINDS:
        raise ValueError(f"no baselines for task type '{kind}' (known: {', '.join(KINDS)})")
    columns, fn = KINDS[kind]
    check_task_table(pl.concat(list(frames.values())), columns, f"{kind} table")
    return fn(frames, seed)


def write_baselines(results: list[BaselineResult], out_dir: Path) -> None:
    """``out_dir/<name>/{metrics.json,predictions.parquet}``, the folder replaced as a whole (atomically)."""
    with atomic_path(out_dir) as tmp:
        tmp.mkdir()
        for r in results:
            (tmp / r.name).mkdir()
            r.predictions.write_parquet(tmp / r.name / "predictions.parquet")
            write_json(tmp / r.name / "metrics.json", r.metrics)


__all__ = ["KINDS", "run_baselines", "task_splits", "write_baselines"]
