"""Unigram floors of the intrinsic metrics: what a model that ignores context scores.

A language model's held-out accuracy and perplexity only mean something against the model that
knows token frequencies and nothing else. For the very positions a model is scored on (BERT's
masked tokens, GPT's next tokens):

* ``unigram_accuracy``: always predict the most frequent (non-special) token of the training stream;
* ``unigram_perplexity``: ``exp`` of the cross-entropy under the training stream's unigram
  distribution (add-one smoothed, so every token has a probability);
* ``unigram_entropy``: the entropy (nats) of the scored targets' own distribution, the lowest
  cross-entropy any context-free predictor can reach on them (``model loss / unigram_entropy``
  below 1 means the model uses context).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np


def unigram_counts(ids: np.ndarray, vocab_size: int) -> np.ndarray:
    """Token counts of a training stream (``int64``, length ``vocab_size``)."""
    return np.bincount(np.asarray(ids, dtype=np.int64), minlength=vocab_size)[:vocab_size].astype(np.int64)


def unigram_floors(train_counts: np.ndarray, targets: np.ndarray, special_ids: Iterable[int] = ()) -> dict[str, float]:
    """The floors on ``targets`` (the token ids a model is scored on) given training counts."""
    targets = np.asarray(targets, dtype=np.int64)
    if targets.size == 0:
        raise ValueError("no target tokens to compute unigram floors on")
    counts = np.asarray(train_counts, dtype=np.float64).copy()
    ranked = counts.copy()
    ranked[list(special_ids)] = -1  # never "predict" [MASK], [CLS], <|endoftext|>, ...
    top = int(ranked.argmax())
    probs = (counts + 1.0) / (counts.sum() + counts.size)
    cross_entropy = float(-np.log(probs[targets]).mean())
    _, target_counts = np.unique(targets, return_counts=True)
    freq = target_counts / targets.size
    return {
        "unigram_accuracy": float((targets == top).mean()),
        "unigram_perplexity": math.exp(cross_entropy),
        "unigram_cross_entropy": cross_entropy,
        "unigram_entropy": float(-(freq * np.log(freq)).sum()),
        "unigram_top_token_id": top,
    }
