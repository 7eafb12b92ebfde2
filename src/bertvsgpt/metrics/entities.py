"""Entity-level metrics for BIO tagging (seqeval).

An entity is a maximal chunk ``B-X I-X ...`` of one type ``X``; a predicted entity counts as
correct only when its type, start and end all equal a gold entity's (CoNLL-2003 scoring,
Tjong Kim Sang & De Meulder, 2003). Precision, recall and F1 are micro-averaged over all
entities of all sentences.

seqeval runs in its default mode, which is compatible with ``conlleval.pl``: a stray ``I-X``
(after ``O`` or after another type) starts a new entity, as in IOB1. With well-formed IOB2
input this is identical to ``mode="strict", scheme=IOB2``; on a model's ill-formed output it
is the lenient, conventional reading. (seqeval ignores ``scheme`` outside strict mode.)
An undefined ratio (no gold or no predicted entities) is 0, without a warning.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# seqeval is imported where it is used: it loads scikit-learn (2-3 s), which only scoring needs

Tags = Sequence[Sequence[str]]


def _check(gold: Tags, pred: Tags) -> tuple[list[list[str]], list[list[str]]]:
    gold, pred = [list(s) for s in gold], [list(s) for s in pred]
    if len(gold) != len(pred):
        raise ValueError(f"gold and pred differ in number of sentences ({len(gold)} vs {len(pred)})")
    if not gold:
        raise ValueError("no sentences to score")
    for i, (g, p) in enumerate(zip(gold, pred)):
        if len(g) != len(p):
            raise ValueError(f"sentence {i}: gold has {len(g)} tags but pred {len(p)}")
    return gold, pred


def entity_f1(gold: Tags, pred: Tags) -> float:
    """Micro entity F1 only (the dev metric)."""
    from seqeval.metrics import f1_score

    gold, pred = _check(gold, pred)
    return float(f1_score(gold, pred, average="micro", zero_division=0))


def entity_metrics(gold: Tags, pred: Tags) -> dict[str, Any]:
    """Entity-level scores of predicted vs. gold tag sequences (one list of tags per sentence).

    Returns ``precision``, ``recall``, ``f1`` (micro over entities), ``f1_by_type`` (entity type
    -> F1, for every type in gold or pred), ``tag_accuracy`` (fraction of correct tags, ``O``
    included) and the entity counts ``n_gold_entities``, ``n_pred_entities``,
    ``n_correct_entities``.
    """
    from seqeval.metrics import accuracy_score, f1_score, precision_score, recall_score
    from seqeval.metrics.sequence_labeling import get_entities, precision_recall_fscore_support

    gold, pred = _check(gold, pred)
    n_gold, n_pred, n_correct = entity_counts(gold, pred)
    # seqeval orders per-type results by the sorted union of gold and predicted types
    types = sorted({t for t, _, _ in get_entities(gold)} | {t for t, _, _ in get_entities(pred)})
    by_type: dict[str, float] = {}
    if types:
        _, _, f1s, _ = precision_recall_fscore_support(gold, pred, average=None, zero_division=0)
        by_type = {t: float(f) for t, f in zip(types, f1s)}
    return {
        "precision": float(precision_score(gold, pred, average="micro", zero_division=0)),
        "recall": float(recall_score(gold, pred, average="micro", zero_division=0)),
        "f1": float(f1_score(gold, pred, average="micro", zero_division=0)),
        "f1_by_type": by_type,
        "tag_accuracy": float(accuracy_score(gold, pred)),
        "n_gold_entities": n_gold,
        "n_pred_entities": n_pred,
        "n_correct_entities": n_correct,
    }


def entity_counts(gold: Tags, pred: Tags) -> tuple[int, int, int]:
    """``(n_gold, n_pred, n_correct)`` entities, with seqeval's chunking (per sentence or overall)."""
    from seqeval.metrics.sequence_labeling import get_entities

    gold, pred = _check(gold, pred)
    g = set(get_entities(gold))  # (type, start, end) over the sentences joined by "O"
    p = set(get_entities(pred))
    return len(g), len(p), len(g & p)
