"""Classification baselines against hand-computed values: the majority class and TF-IDF + logistic regression."""

from __future__ import annotations

import pytest

from bertvsgpt.baselines.classification import C_GRID, label_list, majority, run, tfidf_logreg
from tests.baselines.helpers import frames_of

COLUMNS = ["id", "text", "label", "pred", "prob", "correct"]  # as the classification kind's predictions.parquet


def test_majority_predicts_the_most_frequent_training_label():
    frames = frames_of({"text": ["x", "y", "z"], "label": ["a", "a", "b"]}, {"text": ["d"], "label": ["b"]},
                       {"text": ["p", "q", "r"], "label": ["a", "b", "b"]})
    r = majority(frames)
    assert r.name == "majority" and r.metrics["baseline"] == "majority" and r.metrics["reference"] is True
    assert r.metrics["majority_label"] == "a"
    assert r.predictions.columns == COLUMNS
    assert r.predictions.get_column("pred").to_list() == ["a", "a", "a"]
    assert r.predictions.get_column("correct").to_list() == [True, False, False]
    assert r.predictions.get_column("prob").to_list() == pytest.approx([2 / 3] * 3)
    assert r.metrics["primary_metric"] == "test_accuracy"
    assert r.metrics["test_accuracy"] == pytest.approx(1 / 3)
    # macro-F1 over the classes in gold or predictions: a: P 1/3, R 1 -> F1 0.5; b: 0 -> mean 0.25
    assert r.metrics["test_macro_f1"] == pytest.approx(0.25)
    assert (r.metrics["n_train"], r.metrics["n_dev"], r.metrics["n_test"]) == (3, 1, 3)
    assert r.metrics["labels"] == ["a", "b"] and r.metrics["n_labels"] == 2


def test_majority_tie_goes_to_the_smallest_label_and_keeps_the_label_dtype():
    frames = frames_of({"text": ["x", "y"], "label": [2, 1]}, {"text": ["d"], "label": [1]}, {"text": ["p"], "label": [3]})
    r = majority(frames)
    assert r.predictions.get_column("pred").to_list() == [1]
    assert r.predictions.schema["pred"] == r.predictions.schema["label"]
    assert label_list(frames) == [1, 2, 3]  # every split's labels, as fine-tuning numbers them


POS = ["good great film", "great fine acting", "fine good story", "good great fine"]
NEG = ["bad awful film", "awful poor acting", "poor bad story", "bad awful poor"]


def sentiment_frames():
    return frames_of(
        {"text": POS + NEG, "label": ["pos"] * 4 + ["neg"] * 4},
        {"text": ["great good", "poor awful"], "label": ["pos", "neg"]},
        {"text": ["fine great plot", "awful bad plot", "good", "bad"], "label": ["pos", "neg", "pos", "neg"]},
    )


def test_tfidf_logreg_learns_a_separable_toy_task():
    r = tfidf_logreg(sentiment_frames(), seed=3)
    assert r.name == "tfidf-lr" and r.metrics["reference"] is False
    assert r.predictions.columns == COLUMNS
    assert r.predictions.get_column("pred").to_list() == ["pos", "neg", "pos", "neg"]
    assert r.metrics["test_accuracy"] == 1.0 and r.metrics["test_macro_f1"] == 1.0
    assert r.metrics["C"] in C_GRID and r.metrics["best_dev_macro_f1"] == 1.0
    assert all(0.5 < p <= 1.0 for p in r.predictions.get_column("prob").to_list())  # the predicted class's probability
    assert r.metrics["seed"] == 3


def test_tfidf_logreg_picks_c_by_dev_macro_f1_first_of_ties_and_is_deterministic():
    a, b = tfidf_logreg(sentiment_frames(), grid=(100.0, 1.0)), tfidf_logreg(sentiment_frames(), grid=(100.0, 1.0))
    assert a.metrics["C"] == 100.0  # both reach dev macro-F1 1.0: the first wins
    assert a.predictions.equals(b.predictions) and a.metrics == b.metrics


def test_tfidf_logreg_with_one_training_class_predicts_it():
    frames = frames_of({"text": ["xx yy", "yy zz"], "label": ["a", "a"]}, {"text": ["xx"], "label": ["b"]}, {"text": ["zz"], "label": ["b"]})
    r = tfidf_logreg(frames)
    assert r.predictions.get_column("pred").to_list() == ["a"] and r.metrics["C"] is None


def test_run_gives_the_reference_baseline_first():
    assert [r.name for r in run(sentiment_frames())] == ["majority", "tfidf-lr"]


def test_tfidf_logreg_reads_both_texts_of_a_pair():
    """The label depends on the second text only: the bag of words must include it."""
    frames = frames_of({"text": ["same evidence"] * 4, "text_b": ["yes true", "no false", "yes right", "no wrong"], "label": ["T", "F", "T", "F"]},
                       {"text": ["same evidence"] * 2, "text_b": ["yes", "no"], "label": ["T", "F"]},
                       {"text": ["same evidence"] * 2, "text_b": ["no", "yes"], "label": ["F", "T"]})
    r = tfidf_logreg(frames)
    assert r.metrics["test_accuracy"] == 1.0
    assert r.predictions.get_column("text_b").to_list() == ["no", "yes"]


def test_tfidf_logreg_reads_unspaced_chinese_by_character_ngrams():
    """A bag of whitespace words would hold whole reviews; characters carry the sentiment."""
    frames = frames_of({"text": ["这个很好用", "质量很差劲", "非常好的书", "太差了退货"], "label": ["pos", "neg", "pos", "neg"]},
                       {"text": ["好", "差"], "label": ["pos", "neg"]},
                       {"text": ["服务很好", "房间很差"], "label": ["pos", "neg"]})
    r = tfidf_logreg(frames)
    assert r.metrics["analyzer"] == "char" and "character 1-2 grams" in r.metrics["description"]
    assert r.predictions.get_column("pred").to_list() == ["pos", "neg"]
    assert tfidf_logreg(sentiment_frames()).metrics["analyzer"] == "word"
