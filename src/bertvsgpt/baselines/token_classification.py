"""Token-classification baselines (named entities, BIO tags): all ``O``, and the most frequent tag of each word.

* ``majority``: every word tagged ``O``, the most frequent tag. Tag accuracy is the share of ``O``;
  entity F1 is 0 by construction (no entity is predicted).
* ``most-frequent-tag``: each test word gets the tag it carried most often in the training split
  (the word as written, case included; ties go to the alphabetically first tag), a word never seen
  in training gets ``O``. This is the word-level form of the CoNLL shared tasks' baseline (Tjong Kim
  Sang, 2002; Tjong Kim Sang & De Meulder, 2003), which tagged test phrases that had a single entity
  class in the training data; the per-word "most frequent tag" rule is also the standard tagging
  baseline (Charniak et al., 1993; Jurafsky & Martin, *Speech and Language Processing*, ch. 8).
  A word tagged ``I-X`` after ``O`` starts an entity, as seqeval reads it (conlleval's convention).

Both are scored with the pipeline's own seqeval functions (:mod:`bertvsgpt.metrics.entities`) and
write the fine-tuning's prediction columns (per-sentence entity counts for the paired bootstrap).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from ..metrics.entities import entity_counts, entity_metrics
from .base import BaselineResult, record

PRIMARY = "test_entity_f1"
OUTSIDE = "O"
DESCRIPTIONS = {
    "majority": "every word tagged O (the most frequent tag): entity F1 0 by construction",
    "most-frequent-tag": "each word's most frequent training tag (unseen words: O), the CoNLL shared tasks' baseline",
}


def tag_list(frames: Mapping[str, pl.DataFrame]) -> list[str]:
    """Every tag of every split, sorted (as fine-tuning's label list)."""
    return sorted({t for f in frames.values() for tags in f.get_column("tags").to_list() for t in tags})


def _result(name: str, frames: Mapping[str, pl.DataFrame], pred: list[list[str]], seed: int, reference: bool,
            **extra: Any) -> BaselineResult:
    test = frames["test"]
    gold = [list(t) for t in test.get_column("tags").to_list()]
    scores = entity_metrics(gold, pred)
    counts = [entity_counts([g], [p]) for g, p in zip(gold, pred)]
    exact = [g == p for g, p in zip(gold, pred)]
    predictions = pl.DataFrame({
        "id": test.get_column("id"),
        "tokens": test.get_column("tokens"),
        "tags": test.get_column("tags"),
        "pred": pl.Series("pred", pred, dtype=pl.List(pl.String)),
        "n_gold_entities": [c[0] for c in counts],
        "n_pred_entities": [c[1] for c in counts],
        "n_correct_entities": [c[2] for c in counts],
        "exact_match": exact,
        "truncated": [False] * len(gold),  # a baseline reads every word
    })
    tags = tag_list(frames)
    metrics = {
        **record(name, DESCRIPTIONS[name], PRIMARY, frames, reference, seed),
        "test_entity_f1": scores["f1"],
        "test_entity_precision": scores["precision"],
        "test_entity_recall": scores["recall"],
        "test_f1_by_type": scores["f1_by_type"],
        "test_tag_accuracy": scores["tag_accuracy"],
        "test_exact_match": sum(exact) / len(exact),
        "test_n_gold_entities": scores["n_gold_entities"],
        "test_n_pred_entities": scores["n_pred_entities"],
        "test_n_correct_entities": scores["n_correct_entities"],
        "n_labels": len(tags),
        "labels": tags,
        **extra,
    }
    return BaselineResult(name, metrics, predictions)


def all_outside(frames: Mapping[str, pl.DataFrame], seed: int = 0) -> BaselineResult:
    """``O`` for every test word."""
    pred = [[OUTSIDE] * len(words) for words in frames["test"].get_column("tokens").to_list()]
    return _result("majority", frames, pred, seed, True)


def tag_lexicon(sentences: Sequence[Sequence[str]], tags: Sequence[Sequence[str]]) -> dict[str, str]:
    """word -> its most frequent tag over the given sentences (ties: the alphabetically first tag)."""
    counts: dict[str, Counter] = defaultdict(Counter)
    for words, sentence_tags in zip(sentences, tags):
        for word, tag in zip(words, sentence_tags):
            counts[word][tag] += 1
    return {w: min(c, key=lambda t: (-c[t], t)) for w, c in counts.items()}


def most_frequent_tag(frames: Mapping[str, pl.DataFrame], seed: int = 0) -> BaselineResult:
    """Each test word's most frequent training tag; unseen words ``O``."""
    train = frames["train"]
    lexicon = tag_lexicon(train.get_column("tokens").to_list(), train.get_column("tags").to_list())
    test_words = frames["test"].get_column("tokens").to_list()
    pred = [[lexicon.get(w, OUTSIDE) for w in words] for words in test_words]
    unseen = sum(w not in lexicon for words in test_words for w in words)
    n_words = sum(len(words) for words in test_words)
    return _result("most-frequent-tag", frames, pred, seed, False, lexicon_size=len(lexicon),
                   unseen_test_word_rate=unseen / max(1, n_words))


def run(frames: Mapping[str, pl.DataFrame], seed: int = 0) -> list[BaselineResult]:
    return [all_outside(frames, seed), most_frequent_tag(frames, seed)]
