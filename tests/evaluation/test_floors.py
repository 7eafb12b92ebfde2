"""Unigram floors of the intrinsic metrics, against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bertvsgpt.evaluation.floors import unigram_counts, unigram_floors


def test_counts_cover_the_vocabulary():
    assert unigram_counts(np.array([0, 2, 2, 3], dtype=np.uint16), 5).tolist() == [1, 0, 2, 1, 0]


def test_floors_by_hand():
    train = np.array([5, 3, 2, 0])  # token 0 most frequent
    targets = np.array([0, 0, 1, 2])
    f = unigram_floors(train, targets)
    assert f["unigram_accuracy"] == 0.5 and f["unigram_top_token_id"] == 0
    probs = (train + 1) / (train.sum() + 4)  # add-one: [6, 4, 3, 1] / 14
    ce = -(2 * math.log(6 / 14) + math.log(4 / 14) + math.log(3 / 14)) / 4
    assert f["unigram_cross_entropy"] == pytest.approx(ce) and f["unigram_perplexity"] == pytest.approx(math.exp(ce))
    h = -(0.5 * math.log(0.5) + 2 * 0.25 * math.log(0.25))
    assert f["unigram_entropy"] == pytest.approx(h)
    assert f["unigram_entropy"] <= f["unigram_cross_entropy"]  # no unigram model beats the targets' own distribution
    assert probs.sum() == pytest.approx(1.0)


def test_special_tokens_are_never_the_prediction():
    f = unigram_floors(np.array([100, 3, 2]), np.array([0, 1, 1]), special_ids=[0])
    assert f["unigram_top_token_id"] == 1 and f["unigram_accuracy"] == pytest.approx(2 / 3)


def test_no_targets_is_an_error():
    with pytest.raises(ValueError, match="no target tokens"):
        unigram_floors(np.array([1, 2]), np.array([], dtype=np.int64))
