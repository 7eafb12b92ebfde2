"""Extractive-QA baselines (Quoref): the passage's first words, and the sliding-window lexical matcher.

* ``first-span``: the passage's first ``k`` words, ``k`` the most common answer length (in words) of
  the training split: what position and length alone give.
* ``sliding-window``: the lexical baseline of Richardson et al. (2013, "MCTest", algorithm 1 "SW"),
  as the SQuAD paper adapted it to span extraction (Rajpurkar et al., 2016, §5.1 "Sliding Window
  Baseline"). Every passage word ``w`` is weighted by its inverse count ``IC(w) = log(1 + 1/C(w))``
  (``C(w)``: its number of occurrences in the passage). A candidate answer is a span of ``k``
  consecutive passage words; a window of ``|Q| + k`` words (``|Q|``: the question's distinct
  content words) slides over every position that contains the span, and scores the summed ``IC``
  of its words that are question words; the span's score is its best window's, and the answer is the
  best-scoring span (ties: the first). Candidates stand in for the SQuAD paper's constituents
  (it parsed the passage): a candidate neither starts nor ends with a stop word (scikit-learn's
  English list), has no punctuation between its words, and repeats no question word (the answer is
  what the question does not say); question stop words do not count. The span length ``k`` is
  picked from :data:`SPAN_WORDS` by F1 on the dev split.

Words are maximal runs of letters and digits (with inner apostrophes and hyphens), matched
lower-cased; the predicted answer is the passage text from the span's first to its last word.
Scores are the pipeline's SQuAD exact match and F1 (:mod:`bertvsgpt.metrics.qa`).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from ..metrics.qa import squad_example_scores, squad_scores
from .base import BaselineResult, most_frequent, record

PRIMARY = "test_f1"
SPAN_WORDS = (1, 2, 3, 4)
WORD = re.compile(r"\w+(?:['’-]\w+)*")
DESCRIPTIONS = {
    "first-span": "the passage's first k words (k: the most common training answer length)",
    "sliding-window": "the span whose surrounding words best match the question's, weighted by inverse word count "
                      "(Richardson et al., 2013; the SQuAD paper's sliding-window baseline)",
}


def stop_words() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS)


def passage_words(text: str) -> list[tuple[str, int, int]]:
    """``(lower-cased word, start, end)`` character offsets of every word of ``text``."""
    return [(m.group().lower(), m.start(), m.end()) for m in WORD.finditer(text)]


def n_words(text: str) -> int:
    return len(WORD.findall(text))


def first_span(context: str, k: int) -> str:
    words = passage_words(context)[:k]
    return context[words[0][1]:words[-1][2]] if words else ""


def _span_scores(context: str, question: str, k: int, stop: frozenset[str]) -> tuple[list[tuple[str, int, int]], np.ndarray]:
    """The passage's words and the sliding-window score of the ``k``-word span starting at each word (``-inf``: not a candidate)."""
    words = passage_words(context)
    keys = [w for w, _, _ in words]
    n = len(keys)
    if n < k:
        return words, np.full(0, -np.inf)
    question_words = {w for w, _, _ in passage_words(question)} - stop
    counts = Counter(keys)
    matched = np.array([math.log(1.0 + 1.0 / counts[w]) if w in question_words else 0.0 for w in keys])
    prefix = np.concatenate([[0.0], np.cumsum(matched)])
    width = len(question_words) + k  # the window: |Q| + k words
    if width >= n:  # the whole passage is the only window
        window_best = np.full(n - k + 1, prefix[-1])
    else:
        sums = prefix[width:] - prefix[:-width]  # the window starting at word a, for a in [0, n - width]
        pad = width - k  # a window holding the span [s, s + k) starts in [s - pad, s]
        padded = np.concatenate([np.full(pad, -np.inf), sums, np.full(pad, -np.inf)])
        window_best = np.lib.stride_tricks.sliding_window_view(padded, pad + 1).max(axis=1)[: n - k + 1]
    joined = [context[words[i][2]:words[i + 1][1]].isspace() for i in range(n - 1)]  # no punctuation between i and i + 1
    valid = np.array([
        keys[s] not in stop and keys[s + k - 1] not in stop
        and not any(w in question_words for w in keys[s:s + k])
        and all(joined[s:s + k - 1])
        for s in range(n - k + 1)
    ])
    return words, np.where(valid, window_best, -np.inf)


def _span_text(context: str, words: list[tuple[str, int, int]], s: int, k: int) -> str:
    return context[words[s][1]:words[s + k - 1][2]]


def window_scores(context: str, question: str, k: int, stop: frozenset[str] | None = None) -> dict[str, float]:
    """Every candidate ``k``-word span's text -> its sliding-window score (a text found twice: its best)."""
    words, scores = _span_scores(context, question, k, stop_words() if stop is None else stop)
    out: dict[str, float] = {}
    for s, score in enumerate(scores):
        if np.isfinite(score):
            text = _span_text(context, words, s, k)
            out[text] = max(out.get(text, -math.inf), float(score))
    return out


def sliding_window(context: str, question: str, k: int, stop: frozenset[str] | None = None) -> str:
    """The best ``k``-word span of ``context`` by the sliding-window score (see the module docstring); ``""`` if none."""
    words, scores = _span_scores(context, question, k, stop_words() if stop is None else stop)
    if not np.isfinite(scores).any():
        return ""
    s = int(np.argmax(scores))  # the first of equal maxima
    return _span_text(context, words, s, k)


def _result(name: str, frames: Mapping[str, pl.DataFrame], preds: list[str], seed: int, reference: bool,
            **extra: Any) -> BaselineResult:
    test = frames["test"]
    answers = test.get_column("answer").to_list()
    scores = squad_scores(preds, answers)
    exact, f1 = squad_example_scores(preds, answers)
    predictions = pl.DataFrame({
        "id": test.get_column("id"),
        "question": test.get_column("question"),
        "answer": test.get_column("answer"),
        "pred": pl.Series("pred", preds, dtype=pl.String),
        "exact_match": exact,
        "f1": f1,
    })
    metrics = {
        **record(name, DESCRIPTIONS[name], PRIMARY, frames, reference, seed),
        "test_f1": scores["f1"],
        "test_exact_match": scores["exact_match"],
        **extra,
    }
    return BaselineResult(name, metrics, predictions)


def modal_answer_words(frames: Mapping[str, pl.DataFrame]) -> int:
    """The most common answer length in words in the training split (ties: the shorter; at least 1)."""
    lengths = [max(1, n_words(a)) for a in frames["train"].get_column("answer").to_list()]
    return int(most_frequent(lengths)[0]) if lengths else 1


def first_span_baseline(frames: Mapping[str, pl.DataFrame], seed: int = 0) -> BaselineResult:
    k = modal_answer_words(frames)
    preds = [first_span(c, k) for c in frames["test"].get_column("context").to_list()]
    return _result("first-span", frames, preds, seed, True, span_words=k)


def _answer_all(frame: pl.DataFrame, k: int, stop: frozenset[str]) -> list[str]:
    return [sliding_window(c, q, k, stop) for c, q in frame.select("context", "question").iter_rows()]


def sliding_window_baseline(frames: Mapping[str, pl.DataFrame], seed: int = 0,
                            span_words: Sequence[int] = SPAN_WORDS) -> BaselineResult:
    """The sliding-window baseline with the span length of best dev F1 (ties: the shorter)."""
    stop = stop_words()
    dev = frames["dev"]
    best: tuple[float, int] | None = None
    for k in span_words:
        f1 = squad_scores(_answer_all(dev, k, stop), dev.get_column("answer").to_list())["f1"]
        if best is None or f1 > best[0]:
            best = (f1, k)
    dev_f1, k = best
    return _result("sliding-window", frames, _answer_all(frames["test"], k, stop), seed, False, span_words=k, best_dev_f1=dev_f1)


def run(frames: Mapping[str, pl.DataFrame], seed: int = 0) -> list[BaselineResult]:
    return [first_span_baseline(frames, seed), sliding_window_baseline(frames, seed)]
