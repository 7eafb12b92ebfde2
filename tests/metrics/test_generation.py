"""BLEU / chrF wiring against hand-computed cases."""

from __future__ import annotations

import math

import pytest

from bertvsgpt.metrics.generation import metric_signatures, sentence_chrf, translation_metrics


def test_bleu_by_hand():
    # hyp "the cat sat on the mat" vs ref "the cat sat on a mat" (6 words each: BP = 1)
    # 1-grams 5/6, 2-grams 3/5 (the cat, cat sat, sat on), 3-grams 2/4, 4-grams 1/3
    m = translation_metrics(["the cat sat on the mat"], ["the cat sat on a mat"])
    expected = 100 * math.exp((math.log(5 / 6) + math.log(3 / 5) + math.log(2 / 4) + math.log(1 / 3)) / 4)
    assert m["bleu"] == pytest.approx(expected, abs=1e-6)  # 53.73


def test_brevity_penalty_by_hand():
    # 4 of 5 reference words, all n-grams match: BLEU = BP = exp(1 - 5/4)
    m = translation_metrics(["a b c d"], ["a b c d e"])
    assert m["bleu"] == pytest.approx(100 * math.exp(1 - 5 / 4), abs=1e-6)


def test_chrf_by_hand():
    # "ab" vs "ac": char 1-grams P = R = 1/2 -> F = 1/2; 2-grams "ab" vs "ac" -> 0;
    # no 3..6-grams on either side, so only orders 1-2 count: (1/2 + 0) / 2 = 25
    assert sentence_chrf("ab", "ac") == pytest.approx(25.0)
    # corpus chrF sums the statistics: 1-grams 4/5, 2-grams 2/3 (xy, yz), 3-grams 1/1
    m = translation_metrics(["ab", "xyz"], ["ac", "xyz"])
    assert m["chrf"] == pytest.approx(100 * (4 / 5 + 2 / 3 + 1) / 3)
    assert m["chrf"] != pytest.approx((25.0 + 100.0) / 2)  # not the mean of sentence scores
    # whitespace is ignored
    assert sentence_chrf("a b", "ab") == pytest.approx(100.0)


def test_perfect_empty_and_bad_input():
    perfect = translation_metrics(["Good morning, how are you?"], ["Good morning, how are you?"])
    assert perfect == {"bleu": pytest.approx(100.0), "chrf": pytest.approx(100.0)}
    assert translation_metrics(["Good morning."], ["Good morning."])["bleu"] == 0.0  # no 4-gram: BLEU is 0
    assert translation_metrics([""], ["good morning"]) == {"bleu": 0.0, "chrf": 0.0}
    with pytest.raises(ValueError, match="differ in length"):
        translation_metrics(["a"], ["a", "b"])
    with pytest.raises(ValueError, match="no hypotheses"):
        translation_metrics([], [])
    with pytest.raises(TypeError):
        translation_metrics([None], ["a"])  # type: ignore[list-item]


def test_signatures_name_the_settings():
    sig = metric_signatures()
    assert "tok:13a" in sig["bleu"] and "nrefs:1" in sig["bleu"]
    assert "nc:6" in sig["chrf"]
