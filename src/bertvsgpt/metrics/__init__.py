"""Evaluation metrics."""

from .classification import classification_metrics

__all__ = ["classification_metrics"]
