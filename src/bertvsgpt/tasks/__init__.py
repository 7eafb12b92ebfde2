"""Downstream tasks: input formats, classifiers and fine-tuning.

The Lightning-based parts (``ClassificationModule``, ``finetune_classification``) are imported on
first use so that formatting and data code stay cheap to import.
"""

from typing import Any

from .classifier import SequenceClassifier
from .data import ClassificationDataset, Collator, TaskData, build_task_data, label_list
from .formatting import encode_classification

__all__ = [
    "ClassificationDataset",
    "Collator",
    "ClassificationModule",
    "SequenceClassifier",
    "TaskData",
    "build_task_data",
    "encode_classification",
    "finetune_classification",
    "label_list",
]


def __getattr__(name: str) -> Any:
    if name in ("ClassificationModule", "finetune_classification"):
        from . import classification

        return getattr(classification, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
