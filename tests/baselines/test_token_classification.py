"""Token-classification baselines: all O, and each word's most frequent training tag (scored with seqeval)."""

from __future__ import annotations

import pytest

from bertvsgpt.baselines.token_classification import all_outside, most_frequent_tag, run, tag_lexicon
from bertvsgpt.metrics.entities import entity_metrics
from tests.baselines.helpers import frames_of

COLUMNS = ["id", "tokens", "tags", "pred", "n_gold_entities", "n_pred_entities", "n_correct_entities", "exact_match", "truncated"]

TRAIN = {
    "tokens": [["John", "lives", "in", "Paris"], ["Paris", "Hilton", "sings"], ["Paris", "is", "big"]],
    "tags": [["B-PER", "O", "O", "B-LOC"], ["B-PER", "I-PER", "O"], ["B-LOC", "O", "O"]],
}
TEST = {"tokens": [["John", "visited", "Paris"], ["Hilton", "sings"]], "tags": [["B-PER", "O", "B-LOC"], ["O", "O"]]}


def frames():
    return frames_of(TRAIN, {"tokens": [["big"]], "tags": [["O"]]}, TEST)


def test_lexicon_is_each_words_most_frequent_tag():
    lex = tag_lexicon(TRAIN["tokens"], TRAIN["tags"])
    # Paris: B-LOC twice, B-PER once
    assert lex == {"John": "B-PER", "lives": "O", "in": "O", "Paris": "B-LOC", "Hilton": "I-PER", "sings": "O", "is": "O", "big": "O"}
    assert tag_lexicon([["Apple", "Apple"]], [["O", "B-ORG"]]) == {"Apple": "B-ORG"}  # a tie: the alphabetically first tag
    assert tag_lexicon([["paris"]], [["O"]]).get("Paris") is None  # exact strings: case matters


def test_most_frequent_tag_scores_by_hand():
    r = most_frequent_tag(frames())
    assert r.predictions.columns == COLUMNS
    # "visited" is unseen -> O; "Hilton" alone -> I-PER, which seqeval reads as a PER entity (a false positive)
    assert r.predictions.get_column("pred").to_list() == [["B-PER", "O", "B-LOC"], ["I-PER", "O"]]
    assert r.predictions.select("n_gold_entities", "n_pred_entities", "n_correct_entities").rows() == [(2, 2, 2), (0, 1, 0)]
    # precision 2/3, recall 2/2 -> F1 = 2 * 2 / (2 + 3) = 0.8
    assert r.metrics["test_entity_precision"] == pytest.approx(2 / 3) and r.metrics["test_entity_recall"] == 1.0
    assert r.metrics["test_entity_f1"] == pytest.approx(0.8) and r.metrics["primary_metric"] == "test_entity_f1"
    assert r.metrics["test_entity_f1"] == entity_metrics(TEST["tags"], r.predictions.get_column("pred").to_list())["f1"]
    assert r.metrics["test_tag_accuracy"] == pytest.approx(4 / 5) and r.metrics["test_exact_match"] == 0.5
    assert r.metrics["unseen_test_word_rate"] == pytest.approx(1 / 5)


def test_all_outside_has_entity_f1_zero_by_construction():
    r = all_outside(frames())
    assert r.name == "majority" and r.metrics["reference"] is True
    assert r.predictions.get_column("pred").to_list() == [["O", "O", "O"], ["O", "O"]]
    assert r.metrics["test_entity_f1"] == 0.0 and r.metrics["test_n_gold_entities"] == 2 and r.metrics["test_n_pred_entities"] == 0
    assert r.metrics["test_tag_accuracy"] == pytest.approx(3 / 5) and r.metrics["test_exact_match"] == 0.5
    assert r.predictions.get_column("truncated").to_list() == [False, False]


def test_run_order_and_labels():
    results = run(frames())
    assert [r.name for r in results] == ["majority", "most-frequent-tag"]
    assert results[1].metrics["labels"] == ["B-LOC", "B-PER", "I-PER", "O"]
