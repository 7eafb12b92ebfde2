"""How a fine-tuning run executes (not what it computes), as one typed object; cheap to import."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional


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
