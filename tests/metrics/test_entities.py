"""Entity-level metric wiring against hand-computed cases."""

from __future__ import annotations

import pytest

from bertvsgpt.metrics.entities import entity_counts, entity_f1, entity_metrics


def test_conll_example_by_hand():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-ORG", "I-ORG", "O"]]
    pred = [["B-PER", "I-PER", "O", "B-PER"], ["O", "B-ORG", "O", "O"]]
    # gold: PER(0-1), LOC(3), ORG(1-2) = 3; pred: PER(0-1), PER(3), ORG(1) = 3; correct: PER(0-1) only
    m = entity_metrics(gold, pred)
    assert (m["n_gold_entities"], m["n_pred_entities"], m["n_correct_entities"]) == (3, 3, 1)
    assert m["precision"] == pytest.approx(1 / 3)
    assert m["recall"] == pytest.approx(1 / 3)
    assert m["f1"] == pytest.approx(1 / 3)
    assert entity_f1(gold, pred) == pytest.approx(1 / 3)
    # PER: tp1 fp1 fn0 -> P 1/2 R 1 -> F1 2/3; LOC: tp0 fn1 -> 0; ORG: wrong span -> 0
    assert m["f1_by_type"] == pytest.approx({"LOC": 0.0, "ORG": 0.0, "PER": 2 / 3})
    assert m["tag_accuracy"] == pytest.approx(6 / 8)


def test_precision_and_recall_differ():
    gold = [["B-LOC", "O", "B-LOC", "O", "B-PER"]]
    pred = [["B-LOC", "O", "O", "O", "B-PER"]]
    m = entity_metrics(gold, pred)  # tp2 fp0 fn1
    assert m["precision"] == pytest.approx(1.0)
    assert m["recall"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(0.8)
    assert m["f1_by_type"] == pytest.approx({"LOC": 2 / 3, "PER": 1.0})


def test_stray_inside_tag_starts_an_entity_like_conlleval():
    # default (conlleval) mode: "I-PER" after "O" is an entity of its own
    assert entity_counts([["O", "I-PER", "I-PER"]], [["O", "B-PER", "I-PER"]]) == (1, 1, 1)
    # a type change inside a chunk splits it
    assert entity_counts([["B-PER", "I-PER"]], [["B-PER", "I-LOC"]]) == (1, 2, 0)


def test_entities_do_not_run_across_sentences():
    gold = [["O", "B-PER"], ["I-PER", "O"]]
    assert entity_counts(gold, gold) == (2, 2, 2)


def test_no_entities_is_zero_without_warning(recwarn):
    m = entity_metrics([["O", "O"]], [["O", "O"]])
    assert (m["precision"], m["recall"], m["f1"]) == (0.0, 0.0, 0.0)
    assert m["f1_by_type"] == {}
    assert m["tag_accuracy"] == 1.0
    assert not [w for w in recwarn if "Undefined" in type(w.message).__name__]
    assert entity_metrics([["B-PER"]], [["O"]])["f1"] == 0.0


def test_shape_errors():
    with pytest.raises(ValueError, match="number of sentences"):
        entity_metrics([["O"]], [])
    with pytest.raises(ValueError, match="sentence 0"):
        entity_metrics([["O", "O"]], [["O"]])
    with pytest.raises(ValueError, match="no sentences"):
        entity_f1([], [])
