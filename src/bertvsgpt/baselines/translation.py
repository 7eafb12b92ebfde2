"""Translation baselines (German -> English): copy the source, and retrieve the nearest training pair.

* ``copy-source``: the German source sentence itself as the English hypothesis. It scores above
  zero on names, numbers, punctuation and cognates shared by the two languages: the floor any
  translation model has to clear.
* ``nearest-pair``: translation by retrieval, the nearest-neighbour baseline of example-based MT
  (Nagao, 1984): the training source most similar to the test source by cosine similarity of TF-IDF
  vectors (word uni- and bigrams, lower-cased, fitted on the training sources) is found, and its
  English target is output unchanged (ties: the first training pair).

Both are scored with the pipeline's sacreBLEU functions (:mod:`bertvsgpt.metrics.generation`:
corpus BLEU, primary, and chrF; a sentence chrF per example) and write the fine-tuning's
prediction columns (``source``, ``reference``, ``hypothesis``, ``chrf``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl

from ..tasks.scoring import scored_translations
from .base import BaselineResult, record

PRIMARY = "test_bleu"
DESCRIPTIONS = {
    "copy-source": "the German source copied as the English translation",
    "nearest-pair": "the English side of the training pair whose German source is most similar (TF-IDF cosine)",
}


def _result(name: str, frames: Mapping[str, pl.DataFrame], hyps: list[str], seed: int, reference: bool,
            **extra: Any) -> BaselineResult:
    predictions, test_metrics = scored_translations(frames["test"], hyps)
    metrics = {**record(name, DESCRIPTIONS[name], PRIMARY, frames, reference, seed), **test_metrics, **extra}
    return BaselineResult(name, metrics, predictions)


def copy_source(frames: Mapping[str, pl.DataFrame], seed: int = 0) -> BaselineResult:
    return _result("copy-source", frames, frames["test"].get_column("text").to_list(), seed, True)


def nearest_pair(frames: Mapping[str, pl.DataFrame], seed: int = 0) -> BaselineResult:
    """The target of the training pair whose source is closest (TF-IDF cosine) to each test source."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    train = frames["train"]
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), lowercase=True)
    x_train = vectorizer.fit_transform(train.get_column("text").to_list())
    x_test = vectorizer.transform(frames["test"].get_column("text").to_list())
    sims = (x_test @ x_train.T).toarray()  # rows are L2-normalised: cosine similarity
    nearest = sims.argmax(axis=1)  # the first of equal maxima
    targets = train.get_column("target").to_list()
    hyps = [targets[int(j)] for j in nearest]
    best = sims[np.arange(len(nearest)), nearest]
    return _result("nearest-pair", frames, hyps, seed, False, mean_similarity=float(best.mean()) if len(best) else 0.0,
                   no_overlap=int((best == 0).sum()))


def run(frames: Mapping[str, pl.DataFrame], seed: int = 0) -> list[BaselineResult]:
    return [copy_source(frames, seed), nearest_pair(frames, seed)]
