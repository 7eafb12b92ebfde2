"""Multiple-choice baselines (Social IQa): chance, the most frequent answer position, a TF-IDF similarity ranker.

* ``chance``: a uniform random guess among the ``n`` options. Its expected accuracy is exactly
  ``1/n``, and so is its expected correctness on every example: ``correct`` holds ``1/n`` (``pred``
  is empty), so the report's paired bootstrap tests a model against the chance *level* itself, with
  no sampling noise of one particular random draw (Social IQa's paper, Sap et al., 2019, table 2,
  reports chance as 33.3 %).
* ``majority``: every question gets the option position that is most often correct in training
  (the answer-position prior; a deterministic predictor).
* ``tfidf-sim``: the option most similar to the context and question, by cosine similarity of
  TF-IDF vectors (word unigrams) fitted on the training split's contexts and options; the classic
  information-retrieval baseline of reading-comprehension and multiple-choice QA (e.g. the "IR
  solver" of Clark et al., 2016, "Combining Retrieval, Statistics, and Inference to Answer
  Elementary Science Questions"). Ties go to the first option.

Accuracy is the pipeline's own metric (:func:`bertvsgpt.metrics.classification.classification_metrics`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from ..metrics.classification import classification_metrics
from .base import BaselineResult, most_frequent, record

PRIMARY = "test_accuracy"
DESCRIPTIONS = {
    "chance": "a uniform random guess among the options: expected accuracy 1 / number of options",
    "majority": "the answer position most often correct in training, for every question",
    "tfidf-sim": "the option with the highest TF-IDF cosine similarity to the context and question",
}


def n_choices(frames: Mapping[str, pl.DataFrame]) -> int:
    sizes = {n for f in frames.values() for n in f.get_column("choices").list.len().unique().to_list()}
    if len(sizes) != 1:
        raise ValueError(f"every question needs the same number of choices, found {sorted(sizes)}")
    return int(sizes.pop())


def _result(name: str, frames: Mapping[str, pl.DataFrame], pred: Sequence[int] | None, prob: Sequence[float],
            correct: Sequence[Any], seed: int, reference: bool, **extra: Any) -> BaselineResult:
    test = frames["test"]
    n = n_choices(frames)
    if pred is None:  # chance: no prediction, its expected correctness
        accuracy = float(np.mean(correct))
    else:
        accuracy = classification_metrics(list(pred), test.get_column("label").to_list(), n)["accuracy"]
    predictions = test.select("id", "text", "choices", "label").with_columns(
        pl.Series("pred", pred if pred is not None else [None] * test.height, dtype=pl.Int64),
        pl.Series("prob", [float(p) for p in prob], dtype=pl.Float32),
        pl.Series("correct", list(correct)),
    )
    metrics = {**record(name, DESCRIPTIONS[name], PRIMARY, frames, reference, seed), "test_accuracy": accuracy, "n_choices": n, **extra}
    return BaselineResult(name, metrics, predictions)


def chance(frames: Mapping[str, pl.DataFrame], seed: int = 0) -> BaselineResult:
    """Expected correctness ``1/n`` on every test question (a float ``correct`` column)."""
    n, rows = n_choices(frames), frames["test"].height
    return _result("chance", frames, None, [1.0 / n] * rows, [1.0 / n] * rows, seed, True)


def majority(frames: Mapping[str, pl.DataFrame], seed: int = 0) -> BaselineResult:
    """The training split's most frequent answer index (ties: the lowest) for every question."""
    train = frames["train"].get_column("label").to_list()
    top, count = most_frequent(train)
    gold = frames["test"].get_column("label").to_list()
    return _result("majority", frames, [top] * len(gold), [count / len(train)] * len(gold), [g == top for g in gold], seed, False,
                   majority_index=int(top))


def tfidf_similarity(frames: Mapping[str, pl.DataFrame], seed: int = 0) -> BaselineResult:
    """Pick the option whose TF-IDF vector is closest (cosine) to the context + question's."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    train = frames["train"]
    vectorizer = TfidfVectorizer()
    vectorizer.fit(train.get_column("text").to_list() + [o for opts in train.get_column("choices").to_list() for o in opts])
    test = frames["test"]
    contexts = vectorizer.transform(test.get_column("text").to_list())  # rows are L2-normalised: dot = cosine
    pred, prob = [], []
    for i, options in enumerate(test.get_column("choices").to_list()):
        sims = (vectorizer.transform(list(options)) @ contexts[i].T).toarray().ravel()
        best = int(np.argmax(sims))  # the first of equal maxima
        pred.append(best)
        prob.append(sims[best] / sims.sum() if sims.sum() > 0 else 1.0 / len(options))
    gold = test.get_column("label").to_list()
    return _result("tfidf-sim", frames, pred, prob, [p == g for p, g in zip(pred, gold)], seed, False)


def run(frames: Mapping[str, pl.DataFrame], seed: int = 0) -> list[BaselineResult]:
    return [chance(frames, seed), majority(frames, seed), tfidf_similarity(frames, seed)]
