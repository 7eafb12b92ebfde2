"""Scoring a test split: the predictions table and ``test_*`` metrics a fine-tuned model and a baseline both
write (``tasks/scoring.py``). Translation's is tested against sacreBLEU in ``test_translation.py``."""

from __future__ import annotations

import polars as pl
import pytest

from bertvsgpt.tasks.scoring import scored_classifications, scored_tags


def test_scored_classifications_table_and_metrics_by_hand():
    test = pl.DataFrame({"id": [3, 1, 2, 5], "text": ["a", "b", "c", "d"], "label": ["neg", "pos", "pos", "neu"]})
    labels = ["neg", "neu", "pos"]
    predictions, metrics = scored_classifications(test, labels, [0, 2, 0, 2], [0.9, 0.6, 0.5, 0.4])
    assert predictions["id"].to_list() == [3, 1, 2, 5]
    assert predictions["pred"].to_list() == ["neg", "pos", "neg", "pos"]
    assert predictions["correct"].to_list() == [True, True, False, False]
    assert predictions["prob"].to_list() == pytest.approx([0.9, 0.6, 0.5, 0.4])
    assert "text_b" not in predictions.columns
    assert metrics["test_accuracy"] == pytest.approx(0.5)
    # per class F1: neg P 1/2 R 1 -> 2/3; neu P 0 R 0 -> 0; pos P 1/2 R 1/2 -> 1/2
    assert metrics["test_macro_f1"] == pytest.approx((2 / 3 + 0 + 1 / 2) / 3)


def test_scored_classifications_keeps_the_label_type_and_the_second_text():
    test = pl.DataFrame({"id": [0, 1], "text": ["x", "y"], "text_b": ["u", "v"], "label": [1, 0]})
    predictions, metrics = scored_classifications(test, [0, 1], [1, 1], [0.7, 0.8])
    assert predictions["text_b"].to_list() == ["u", "v"]
    assert predictions.schema["pred"] == test.schema["label"] and predictions["pred"].to_list() == [1, 1]
    assert metrics["test_accuracy"] == pytest.approx(0.5)


def test_scored_tags_counts_entities_per_sentence():
    test = pl.DataFrame(
        {
            "id": [10, 11],
            "tokens": [["Ada", "Lovelace", "wrote"], ["in", "London"]],
            "tags": [["B-PER", "I-PER", "O"], ["O", "B-LOC"]],
        }
    )
    pred = [["B-PER", "I-PER", "O"], ["O", "O"]]
    predictions, metrics = scored_tags(test, pred, [False, True])
    assert predictions["n_gold_entities"].to_list() == [1, 1]
    assert predictions["n_pred_entities"].to_list() == [1, 0]
    assert predictions["n_correct_entities"].to_list() == [1, 0]
    assert predictions["exact_match"].to_list() == [True, False]
    assert predictions["truncated"].to_list() == [False, True]
    # 1 correct of 1 predicted and 2 gold entities
    assert metrics["test_entity_precision"] == pytest.approx(1.0)
    assert metrics["test_entity_recall"] == pytest.approx(0.5)
    assert metrics["test_entity_f1"] == pytest.approx(2 / 3)
    assert metrics["test_tag_accuracy"] == pytest.approx(4 / 5)
    assert metrics["test_exact_match"] == pytest.approx(0.5)
    assert (metrics["test_n_gold_entities"], metrics["test_n_pred_entities"], metrics["test_n_correct_entities"]) == (2, 1, 1)
    assert metrics["test_f1_by_type"]["PER"] == pytest.approx(1.0) and metrics["test_f1_by_type"]["LOC"] == 0.0
