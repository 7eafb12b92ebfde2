"""Extractive-QA baselines: the sliding window (Richardson et al., 2013) and the passage's first words."""

from __future__ import annotations

import math

import pytest

from bertvsgpt.baselines.extractive_qa import (
    first_span,
    first_span_baseline,
    modal_answer_words,
    run,
    sliding_window,
    sliding_window_baseline,
    window_scores,
)
from bertvsgpt.metrics.qa import squad_scores
from tests.baselines.helpers import frames_of

PASSAGE = "Alice Smith founded the bakery in Paris. Bob Jones sold bread."
COLUMNS = ["id", "question", "answer", "pred", "exact_match", "f1"]  # as the extractive QA kind's


def test_sliding_window_on_a_two_sentence_passage():
    # content words of the question: founded, bakery; the window around "Alice Smith" holds "founded"
    assert sliding_window(PASSAGE, "Who founded the bakery?", 2) == "Alice Smith"
    # sold, bread follow "Bob Jones"; candidates may not cross the full stop after "Paris"
    assert sliding_window(PASSAGE, "Who sold bread?", 2) == "Bob Jones"
    assert sliding_window(PASSAGE, "Who sold bread?", 20) == ""  # no span that long


def test_window_scores_weight_matches_by_inverse_count():
    passage = "Alice baked bread. Bob baked cake."
    # question words baked (twice in the passage: IC = log 1.5) and bread (once: log 2); windows of |Q| + 1 = 3 words
    scores = window_scores(passage, "Who baked bread?", 1)
    assert scores == pytest.approx({"Alice": math.log(3), "Bob": math.log(3), "cake": math.log(1.5)})
    assert sliding_window(passage, "Who baked bread?", 1) == "Alice"  # a tie: the first span


def test_first_span_and_modal_answer_length():
    assert first_span(PASSAGE, 2) == "Alice Smith" and first_span("", 2) == ""
    frames = frames_of({"context": [PASSAGE] * 3, "question": ["q"] * 3, "answer": ["Ann", "Bob Li", "Cy"]},
                       {"context": [PASSAGE], "question": ["q"], "answer": ["x"]},
                       {"context": [PASSAGE], "question": ["q"], "answer": ["Alice"]})
    assert modal_answer_words(frames) == 1
    r = first_span_baseline(frames)
    assert r.predictions.columns == COLUMNS and r.predictions.get_column("pred").to_list() == ["Alice"]
    assert r.metrics["test_exact_match"] == 1.0 and r.metrics["test_f1"] == 1.0 and r.metrics["reference"] is True


def qa_frames():
    rows = {"context": [PASSAGE, PASSAGE], "question": ["Who founded the bakery?", "Who sold bread?"],
            "answer": ["Alice Smith", "Bob Jones"]}
    return frames_of({**rows, "answer": ["Alice Smith", "Bob Jones"]}, rows,
                     {"context": [PASSAGE, PASSAGE], "question": ["Who sold bread?", "Who founded the bakery?"],
                      "answer": ["Bob Jones", "Alice"]})


def test_sliding_window_baseline_picks_the_span_length_on_dev_and_scores_with_squad():
    r = sliding_window_baseline(qa_frames())
    assert r.metrics["span_words"] == 2 and r.metrics["best_dev_f1"] == 1.0
    assert r.predictions.get_column("pred").to_list() == ["Bob Jones", "Alice Smith"]
    assert r.predictions.get_column("exact_match").to_list() == [1.0, 0.0]
    assert r.predictions.get_column("f1").to_list() == pytest.approx([1.0, 2 / 3])
    expected = squad_scores(["Bob Jones", "Alice Smith"], ["Bob Jones", "Alice"])
    assert r.metrics["test_f1"] == pytest.approx(expected["f1"]) and r.metrics["test_exact_match"] == expected["exact_match"]
    assert r.metrics["primary_metric"] == "test_f1"


def test_run_order():
    assert [r.name for r in run(qa_frames())] == ["first-span", "sliding-window"]
