"""SQuAD exact match / F1 wiring against hand-computed cases."""

from __future__ import annotations

import pytest

from bertvsgpt.metrics.qa import squad_example_scores, squad_scores


def test_normalisation_makes_exact_matches():
    # lower-casing, punctuation, articles and extra spaces are ignored
    em, f1 = squad_example_scores(["Paris.", "the  Red Fox", "An owl!"], ["paris", "red fox", "owl"])
    assert em == [1.0, 1.0, 1.0] and f1 == [1.0, 1.0, 1.0]


def test_partial_overlap_by_hand():
    # "the cat sat" -> [cat, sat]; "a cat sat down" -> [cat, sat, down]: P 1, R 2/3 -> F1 0.8
    # "big red fox" vs "red dog": common [red]: P 1/3, R 1/2 -> F1 2*(1/6)/(5/6) = 0.4
    # "" vs "owl": no tokens -> 0
    preds, golds = ["the cat sat", "big red fox", ""], ["a cat sat down", "red dog", "owl"]
    em, f1 = squad_example_scores(preds, golds)
    assert em == [0.0, 0.0, 0.0]
    assert f1 == pytest.approx([0.8, 0.4, 0.0], abs=1e-6)
    scores = squad_scores(preds, golds)
    assert scores["exact_match"] == 0.0
    assert scores["f1"] == pytest.approx((0.8 + 0.4) / 3, abs=1e-6)


def test_repeated_tokens_count_as_a_bag():
    # "fox fox" vs "fox": common = min(2, 1) = 1: P 1/2, R 1 -> F1 2/3
    em, f1 = squad_example_scores(["fox fox"], ["fox"])
    assert em == [0.0] and f1 == pytest.approx([2 / 3], abs=1e-6)


def test_corpus_scores_are_fractions_and_means():
    preds, golds = ["red fox", "blue owl", "cat"], ["red fox", "blue", "dog"]
    em, f1 = squad_example_scores(preds, golds)
    scores = squad_scores(preds, golds)
    assert em == [1.0, 0.0, 0.0] and f1 == pytest.approx([1.0, 2 / 3, 0.0], abs=1e-6)
    assert scores["exact_match"] == pytest.approx(1 / 3, abs=1e-6)
    assert scores["f1"] == pytest.approx(sum(f1) / 3, abs=1e-6)


def test_bad_input():
    with pytest.raises(ValueError, match="differ in length"):
        squad_scores(["a"], ["a", "b"])
    with pytest.raises(ValueError, match="no predictions"):
        squad_scores([], [])
    with pytest.raises(TypeError):
        squad_scores([None], ["a"])  # type: ignore[list-item]
