"""What one fine-tuning run computes from (:class:`TaskRun`) and how it executes (:class:`RunOptions`),
each one typed object passed whole from the stage to the driver; cheap to import."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    import polars as pl

    from ..config.schema import FinetuneConfig, TaskConfig


@dataclass(frozen=True)
class TaskRun:
    """One fine-tuning run of one model: what it trains and scores on, and where it writes.

    ``table``: the task's prepared table (``id``, ``split`` and the kind's columns,
    :data:`bertvsgpt.kinds.SPECS`); ``task_cfg``: its ``tasks.<task>`` settings; ``ft_cfg``: the
    ``finetune`` protocol; ``seed``: the fine-tuning seed; ``out_dir``: where ``checkpoints/``,
    ``predictions.parquet`` and ``metrics.json`` go. Everything but ``out_dir`` determines the result.
    """

    table: pl.DataFrame
    task_cfg: TaskConfig
    ft_cfg: FinetuneConfig
    seed: int
    out_dir: Path


@dataclass(frozen=True)
class RunOptions:
    """The same options for every task kind, passed from the stage to the trainer.

    ``resume_dir`` (with the run's ``fingerprint``) makes the run resumable (see
    :mod:`bertvsgpt.tasks.trainer`); :func:`~bertvsgpt.tasks.registry.finetune_task` sets both from
    its own ``resume_dir``.
    """

    precision: str = "32-true"
    logger: Any = None
    enable_progress_bar: bool = True
    num_workers: int = 0
    eval_batch_size: Optional[int] = None
    resume_dir: Optional[Path] = None
    fingerprint: str = ""
