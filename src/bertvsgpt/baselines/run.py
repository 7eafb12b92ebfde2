"""One task's baselines: the splits exactly as fine-tuning caps them, the kind's baselines, their outputs.

The splits come from the fine-tuning's own functions (:func:`bertvsgpt.tasks.data.cap_splits`
with the caps the fine-tuning driver applies, then :func:`bertvsgpt.tasks.data.split_frames`), so a baseline predicts exactly the test rows the models predict, in the same
order, and is trained on the same training rows.

Outputs, one folder per baseline: ``<out>/<name>/metrics.json`` and ``predictions.parquet``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl

from ..io import atomic_path, write_json
from ..kinds import SPECS
from ..tasks.data import cap_splits, check_task_table, min_cap, split_frames
from . import classification, extractive_qa, multiple_choice, token_classification, translation
from .base import BaselineResult

# kind -> its baselines (they read the kind's table columns, bertvsgpt.kinds.SPECS)
KINDS: dict[str, Callable[..., list[BaselineResult]]] = {
    "classification": classification.run,
    "multiple_choice": multiple_choice.run,
    "token_classification": token_classification.run,
    "extractive_qa": extractive_qa.run,
    "translation": translation.run,
    "pair_classification": classification.run,  # one bag of words of both texts
}
assert set(KINDS) == set(SPECS), "every kind in bertvsgpt.kinds.SPECS needs its baselines here"


def task_splits(table: pl.DataFrame, task_cfg, ft_cfg) -> dict[str, pl.DataFrame]:
    """train/dev/test as fine-tuning sees them: capped by ``cap_splits`` as the fine-tuning driver caps them, then split."""
    table = cap_splits(
        table,
        min_cap(task_cfg.max_train_examples, ft_cfg.max_train_examples),
        min_cap(task_cfg.max_eval_examples, ft_cfg.max_eval_examples),
    )
    return split_frames(table)


def run_baselines(frames: dict[str, pl.DataFrame], kind: str, seed: int = 0) -> list[BaselineResult]:
    """Every baseline of a task kind on its splits (the reference baseline first)."""
    if kind not in KINDS:
        raise ValueError(f"no baselines for task type '{kind}' (known: {', '.join(KINDS)})")
    check_task_table(pl.concat(list(frames.values())), SPECS[kind].table, f"{kind} table")
    return KINDS[kind](frames, seed)


def write_baselines(results: list[BaselineResult], out_dir: Path) -> None:
    """``out_dir/<name>/{metrics.json,predictions.parquet}``, the folder replaced as a whole (atomically)."""
    with atomic_path(out_dir) as tmp:
        tmp.mkdir()
        for r in results:
            (tmp / r.name).mkdir()
            r.predictions.write_parquet(tmp / r.name / "predictions.parquet")
            write_json(tmp / r.name / "metrics.json", r.metrics)


__all__ = ["KINDS", "run_baselines", "task_splits", "write_baselines"]
