"""Scoring a test split: the per-example predictions table and the ``test_*`` metrics of each task kind.

A fine-tuned model and a baseline write the same table and metrics, so both call these functions
(:mod:`..baselines` through this module alone). The module imports neither torch nor Lightning nor
torchmetrics, so the baselines stage starts in about a second instead of loading the fine-tuning stack
(issue 12, target 8).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

from ..metrics.classification import classification_metrics
from ..metrics.entities import entity_counts, entity_metrics
from ..metrics.generation import metric_signatures, sentence_chrf, translation_metrics


def scored_classifications(
    test: pl.DataFrame, labels: Sequence[Any], pred_ids: Sequence[int], probs: Sequence[float]
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """The test split's per-example predictions table (label, prediction, its probability, correct) and
    its ``test_*`` metrics, from predicted label ids (indices into ``labels``); what a fine-tuned
    classifier and a baseline both write."""
    ids = {lab: i for i, lab in enumerate(labels)}
    gold = [ids[g] for g in test.get_column("label").to_list()]
    scores = classification_metrics(list(pred_ids), gold, len(labels))
    pair = {"text_b": test.get_column("text_b")} if "text_b" in test.columns else {}
    predictions = pl.DataFrame(
        {
            "id": test.get_column("id"),
            "text": test.get_column("text"),
            **pair,
            "label": test.get_column("label"),
            "pred": pl.Series("pred", [labels[i] for i in pred_ids], dtype=test.schema["label"]),
            "prob": pl.Series("prob", [float(p) for p in probs], dtype=pl.Float32),
            "correct": [p == g for p, g in zip(pred_ids, gold)],
        }
    )
    return predictions, {"test_accuracy": scores["accuracy"], "test_macro_f1": scores["macro_f1"]}


def scored_tags(test: pl.DataFrame, pred: list[list[str]], truncated: Sequence[bool]) -> tuple[pl.DataFrame, dict[str, Any]]:
    """The test split's per-example predictions table and its ``test_*`` metrics (seqeval entity F1 and
    counts), from predicted word tags; what a fine-tuned tagger and a baseline both write."""
    gold = test.get_column("tags").to_list()
    scores = entity_metrics(gold, pred)
    counts = [entity_counts([g], [p]) for g, p in zip(gold, pred)]
    predictions = pl.DataFrame(
        {
            "id": test.get_column("id"),
            "tokens": test.get_column("tokens"),
            "tags": test.get_column("tags"),
            "pred": pl.Series("pred", pred, dtype=pl.List(pl.String)),
            "n_gold_entities": [c[0] for c in counts],
            "n_pred_entities": [c[1] for c in counts],
            "n_correct_entities": [c[2] for c in counts],
            "exact_match": [g == p for g, p in zip(gold, pred)],
            "truncated": list(truncated),
        }
    )
    metrics = {
        "test_entity_f1": scores["f1"],
        "test_entity_precision": scores["precision"],
        "test_entity_recall": scores["recall"],
        "test_f1_by_type": scores["f1_by_type"],
        "test_tag_accuracy": scores["tag_accuracy"],
        "test_exact_match": float(predictions.get_column("exact_match").mean()),
        "test_n_gold_entities": scores["n_gold_entities"],
        "test_n_pred_entities": scores["n_pred_entities"],
        "test_n_correct_entities": scores["n_correct_entities"],
    }
    return predictions, metrics


def scored_translations(test: pl.DataFrame, hyps: Sequence[str]) -> tuple[pl.DataFrame, dict[str, Any]]:
    """The test split's per-example predictions table (with sentence chrF) and its ``test_*`` corpus
    metrics (sacreBLEU BLEU and chrF, their signatures); what a fine-tuned model and a baseline both write."""
    sources, refs = test.get_column("text").to_list(), test.get_column("target").to_list()
    scores = translation_metrics(list(hyps), refs)
    predictions = pl.DataFrame(
        {
            "id": test.get_column("id"),
            "source": sources,
            "reference": refs,
            "hypothesis": pl.Series("hypothesis", list(hyps), dtype=pl.String),
            "chrf": [sentence_chrf(h, r) for h, r in zip(hyps, refs)],
        }
    )
    signatures = metric_signatures()
    metrics = {
        "test_bleu": scores["bleu"],
        "test_chrf": scores["chrf"],
        "empty_hypotheses": sum(not h for h in hyps),
        "bleu_signature": signatures["bleu"],
        "chrf_signature": signatures["chrf"],
    }
    return predictions, metrics
