"""The BERT-vs-GPT report."""

from .markdown import build_report

__all__ = ["build_report"]
