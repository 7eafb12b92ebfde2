"""Multiple-choice baselines: chance, the most frequent answer position, the TF-IDF similarity ranker."""

from __future__ import annotations

import pytest

from bertvsgpt.baselines.multiple_choice import chance, majority, run, tfidf_similarity
from tests.baselines.helpers import frames_of

COLUMNS = ["id", "text", "choices", "label", "pred", "prob", "correct"]  # as the multiple-choice kind's


def frames():
    return frames_of(
        {"text": ["The cat sat on the mat.", "It rained all day.", "She baked a cake."],
         "choices": [["a dog", "the mat", "a cat"], ["sun", "rain", "snow"], ["cake", "bread", "pie"]], "label": [2, 2, 0]},
        {"text": ["A bird sang."], "choices": [["song", "bird", "tree"]], "label": [1]},
        {"text": ["The cat sat on the mat. Where did it sit?", "She baked a cake. What did she bake?"],
         "choices": [["on the roof", "on the mat", "in the car"], ["a pie", "the mat", "a cake"]], "label": [1, 2]},
    )


def test_chance_is_one_over_the_number_of_options_on_every_example():
    r = chance(frames())
    assert r.metrics["test_accuracy"] == pytest.approx(1 / 3) and r.metrics["n_choices"] == 3 and r.metrics["reference"] is True
    assert r.predictions.columns == COLUMNS
    assert r.predictions.get_column("correct").to_list() == pytest.approx([1 / 3, 1 / 3])  # expected correctness
    assert r.predictions.get_column("pred").null_count() == 2


def test_majority_predicts_the_most_frequent_training_answer_index():
    r = majority(frames())  # training answers 2, 2, 0
    assert r.metrics["majority_index"] == 2
    assert r.predictions.get_column("pred").to_list() == [2, 2]
    assert r.predictions.get_column("correct").to_list() == [False, True]
    assert r.metrics["test_accuracy"] == 0.5 and r.metrics["primary_metric"] == "test_accuracy"


def test_tfidf_similarity_picks_the_option_closest_to_context_and_question():
    r = tfidf_similarity(frames())
    assert r.predictions.columns == COLUMNS
    assert r.predictions.get_column("pred").to_list() == [1, 2]  # "on the mat", "a cake"
    assert r.metrics["test_accuracy"] == 1.0
    assert all(0 < p <= 1 for p in r.predictions.get_column("prob").to_list())


def test_run_order():
    assert [r.name for r in run(frames())] == ["chance", "majority", "tfidf-sim"]
