"""Classification baselines (sentiment, news topic, intent; sentence pairs): the majority class, and TF-IDF + logistic regression.

* ``majority``: every test example gets the training split's most frequent label (the zero-rule
  classifier, "ZeroR"; Witten & Frank, *Data Mining*, 2005). Its accuracy is the share of that
  label in the test split; its macro-F1 shows a model that ignores the input.
* ``tfidf-lr``: a bag of word uni- and bigrams with TF-IDF weights (sublinear term frequency) and an
  L2-regularised logistic regression (scikit-learn, lbfgs, seeded), the classical text-classification
  baseline (e.g. Wang & Manning, 2012, "Baselines and Bigrams"; Joulin et al., 2017, table 1 "BoW" /
  "ngrams TFIDF"); for a sentence pair, one bag of both texts; for text written without spaces
  (Chinese), character 1-2 grams, the usual bag of n-grams where words are not delimited. The inverse regularisation strength ``C`` is picked from :data:`C_GRID` by
  macro-F1 on the dev split (the fine-tuned models' dev metric); the model is fitted on the training
  split only, like the fine-tuned models.

Both are scored with the pipeline's own metric (:func:`bertvsgpt.metrics.classification.classification_metrics`),
labels numbered by their position in the sorted list of every split's labels, as fine-tuning does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from ..cjk import is_unspaced
from ..metrics.classification import classification_metrics
from ..tasks.scoring import scored_classifications
from ..tasks.data import label_list as table_labels
from .base import BaselineResult, most_frequent, record

PRIMARY = "test_accuracy"
C_GRID = (0.1, 1.0, 10.0, 100.0)
DESCRIPTIONS = {
    "majority": "the training split's most frequent label for every example",
    "tfidf-lr": "TF-IDF word 1-2 grams + logistic regression (C picked on dev macro-F1), fitted on the training split",
}


def label_list(frames: Mapping[str, pl.DataFrame]) -> list[Any]:
    """Every label of every split, sorted: a label's id is its index (fine-tuning's :func:`~bertvsgpt.tasks.data.label_list`)."""
    return table_labels(pl.concat(list(frames.values()), how="diagonal_relaxed"))


def _result(name: str, frames: Mapping[str, pl.DataFrame], labels: list[Any], pred: Sequence[Any], prob: Sequence[float],
            seed: int, reference: bool, **extra: Any) -> BaselineResult:
    ids = {lab: i for i, lab in enumerate(labels)}
    predictions, test_metrics = scored_classifications(frames["test"], labels, [ids[p] for p in pred], prob)
    description = DESCRIPTIONS[name]
    if extra.get("analyzer") == "char":
        description = description.replace("word 1-2 grams", "character 1-2 grams (unspaced text)")
    metrics = {
        **record(name, description, PRIMARY, frames, reference, seed),
        **test_metrics,
        "n_labels": len(labels),
        "labels": labels,
        **extra,
    }
    return BaselineResult(name, metrics, predictions)


def majority(frames: Mapping[str, pl.DataFrame], seed: int = 0) -> BaselineResult:
    """The most frequent training label (ties: the smallest) for every test example; ``prob`` is its training share."""
    train = frames["train"].get_column("label").to_list()
    top, count = most_frequent(train)
    n = frames["test"].height
    return _result("majority", frames, label_list(frames), [top] * n, [count / len(train)] * n, seed, True, majority_label=top)


def input_texts(frame: pl.DataFrame) -> list[str]:
    """What the bag of words reads: ``text``, or a pair's ``text`` and ``text_b`` on two lines."""
    if "text_b" not in frame.columns:
        return frame.get_column("text").to_list()
    return [f"{a}\n{b}" for a, b in zip(frame.get_column("text").to_list(), frame.get_column("text_b").to_list())]


def unspaced(texts: Sequence[str]) -> bool:
    """Mostly written without spaces between words (Chinese, Japanese): over half of the non-space
    characters are CJK characters or CJK punctuation, so a bag of *words* would hold whole sentences."""
    chars = [ch for t in texts for ch in t if not ch.isspace()]
    return bool(chars) and sum(map(is_unspaced, chars)) > len(chars) / 2


def tfidf_logreg(frames: Mapping[str, pl.DataFrame], seed: int = 0, grid: Sequence[float] = C_GRID) -> BaselineResult:
    """TF-IDF word 1-2 grams (character 1-2 grams for unspaced text such as Chinese) + logistic regression;
    ``C`` from ``grid`` by dev macro-F1 (ties: the first)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    labels = label_list(frames)
    ids = {lab: i for i, lab in enumerate(labels)}
    texts = {s: input_texts(f) for s, f in frames.items()}
    y = {s: [ids[lab] for lab in f.get_column("label").to_list()] for s, f in frames.items()}
    analyzer = "char" if unspaced(texts["train"]) else "word"  # Chinese: character n-grams, as word n-grams need a segmenter
    vectorizer = TfidfVectorizer(analyzer=analyzer, ngram_range=(1, 2), sublinear_tf=True)
    x_train = vectorizer.fit_transform(texts["train"])
    x_dev, x_test = vectorizer.transform(texts["dev"]), vectorizer.transform(texts["test"])
    if len(set(y["train"])) < 2:  # one training class: nothing to fit, predict it
        only = labels[y["train"][0]]
        n = len(texts["test"])
        return _result("tfidf-lr", frames, labels, [only] * n, [1.0] * n, seed, False, C=None, best_dev_macro_f1=None, analyzer=analyzer)
    best = None
    for c in grid:
        clf = LogisticRegression(C=c, max_iter=2000, random_state=seed).fit(x_train, y["train"])
        dev = classification_metrics(clf.predict(x_dev).tolist(), y["dev"], len(labels))["macro_f1"]
        if best is None or dev > best[0]:
            best = (dev, c, clf)
    dev_f1, c, clf = best
    probs = clf.predict_proba(x_test)
    cols = probs.argmax(axis=1)
    pred = [labels[int(clf.classes_[k])] for k in cols]
    prob = probs[range(len(cols)), cols]
    return _result("tfidf-lr", frames, labels, pred, prob, seed, False, C=c, best_dev_macro_f1=dev_f1,
                   n_features=len(vectorizer.vocabulary_), analyzer=analyzer)


def run(frames: Mapping[str, pl.DataFrame], seed: int = 0) -> list[BaselineResult]:
    return [majority(frames, seed), tfidf_logreg(frames, seed)]
