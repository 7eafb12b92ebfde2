"""Evaluation: intrinsic metrics of pre-trained models and the tidy table of fine-tuning results."""

from .aggregate import collect_finetune, summarise
from .intrinsic import intrinsic_metrics

__all__ = ["collect_finetune", "intrinsic_metrics", "summarise"]
