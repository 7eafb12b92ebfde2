"""Evaluation: intrinsic metrics of pre-trained models and the tidy table of fine-tuning results."""

from .aggregate import collect_finetune, summarise
from .intrinsic import intrinsic_metrics
from .samples import continue_text, fill_in_blank, qualitative_samples

__all__ = ["collect_finetune", "continue_text", "fill_in_blank", "intrinsic_metrics", "qualitative_samples", "summarise"]
