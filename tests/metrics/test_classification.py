"""Metric wiring against hand-computed cases."""

from __future__ import annotations

import pytest
import torch

from bertvsgpt.metrics import classification_metrics


def test_three_classes_by_hand():
    # class 0: tp=1 fp=0 fn=0 -> F1 1
    # class 1: tp=1 fp=1 fn=0 -> P 1/2, R 1 -> F1 2/3
    # class 2: tp=1 fp=0 fn=1 -> P 1, R 1/2 -> F1 2/3
    m = classification_metrics([0, 1, 1, 2], [0, 1, 2, 2], 3)
    assert m["accuracy"] == pytest.approx(0.75)
    assert m["macro_f1"] == pytest.approx((1 + 2 / 3 + 2 / 3) / 3, abs=1e-6)


def test_absent_classes_are_left_out_of_macro_f1():
    # classes 2 and 3 never occur; class 0: tp1 fp0 fn1 -> 2/3; class 1: tp2 fp1 fn0 -> 4/5
    m = classification_metrics(torch.tensor([0, 1, 1, 1]), torch.tensor([0, 1, 1, 0]), 4)
    assert m["accuracy"] == pytest.approx(0.75)
    assert m["macro_f1"] == pytest.approx((2 / 3 + 4 / 5) / 2, abs=1e-6)


def test_majority_class_predictor():
    # always predicting 0 on [0,0,0,1]: class 0 F1 = 2*3/(2*3+1) = 6/7, class 1 F1 = 0
    m = classification_metrics([0, 0, 0, 0], [0, 0, 0, 1], 2)
    assert m["accuracy"] == pytest.approx(0.75)
    assert m["macro_f1"] == pytest.approx(3 / 7, abs=1e-6)


def test_perfect_and_bad_input():
    assert classification_metrics([1, 0], [1, 0], 2) == {"accuracy": 1.0, "macro_f1": 1.0}
    with pytest.raises(ValueError):
        classification_metrics([0, 1], [0], 2)
    with pytest.raises(ValueError):
        classification_metrics([0, 2], [0, 1], 2)
