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

from ..tasks.data import tag_list
from ..tasks.scoring import scored_tags
from .base import BaselineResult, record

PRIMARY = "test_entity_f1"
OUTSIDE = "O"
DESCRIPTIONS = {
    "majority": "every word tagged O (the most frequent tag): entity F1 0 by construction",
    "most-frequent-tag": "each word's most frequent training tag (unseen words: O), the CoNLL shared tasks' baseline",
}


def _result(name: str, frames: Mapping[str, pl.DataFrame], pred: list[list[str]], seed: int, reference: bool,
            **extra: Any) -> BaselineResult:
    test = frames["test"]
    predictions, test_metrics = scored_tags(test, pred, [False] * test.height)  # a baseline reads every word
    tags = tag_list(pl.concat(list(frames.values()), how="diagonal_relaxed"))
    metrics = {
        **record(name, DESCRIPTIONS[name], PRIMARY, frames, reference, seed),
        **test_metrics,
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
