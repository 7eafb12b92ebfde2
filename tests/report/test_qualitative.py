"""Qualitative section: prompt samples and test errors per task kind."""

from __future__ import annotations

import polars as pl

from bertvsgpt.report.qualitative import _entities, error_examples, errors_table, samples_section

BERT_SAMPLES = [
    {"prompt": "The ___ was empty.", "predictions": [("room", 0.5), ("|", 0.25), ("hall", 0.125)]},
    {"prompt": "A | B ___ .", "predictions": [("x", 0.9)]},
]
GPT_SAMPLES = [
    {"prompt": "The", "continuation": " cat | dog\nsat "},
    {"prompt": "A | B", "continuation": " end"},
    {"prompt": "Only GPT", "continuation": " more"},
]


def test_samples_section_rows_and_escaping():
    lines = samples_section({"bert": BERT_SAMPLES, "gpt": GPT_SAMPLES}).splitlines()
    assert lines[:2] == ["| prompt | BERT fills ___ (top 5) | GPT continues |", "|---|---|---|"]
    assert lines[2] == r"| The ___ was empty. | room (0.50), \| (0.25), hall (0.12) | The **cat \| dog sat** |"
    assert lines[3] == r"| A \| B ___ . | x (0.90) | A \| B **end** |"
    assert lines[4] == "| Only GPT | — | Only GPT **more** |"
    for line in lines:
        assert line.replace("\\|", "").count("|") == 4


def test_samples_section_without_prompts():
    assert "evaluate.prompts" in samples_section({})
    assert "evaluate.prompts" in samples_section({"bert": [], "gpt": []})


def test_entities_from_bio():
    assert _entities(["New", "York", "and", "Acme", "Corp"], ["B-LOC", "I-LOC", "O", "B-ORG", "I-ORG"]) == "New York/LOC; Acme Corp/ORG"
    assert _entities(["a", "b"], ["I-PER", "I-LOC"]) == "a/PER; b/LOC"  # a stray I- starts an entity
    assert _entities(["a"], ["O"]) == "(none)"


def test_classification_errors_show_both_models():
    frame = lambda correct: pl.DataFrame({"id": [0, 1, 2], "text": ["t0", "t1", "t2"], "label": ["a", "b", "a"],
                                          "pred": [("a" if c else "x") for c in correct], "correct": correct})
    rows = error_examples("classification", {"bert": frame([True, False, True]), "gpt": frame([False, False, True])}, k=5, seed=0)
    # BERT's one error (t1), then GPT's errors not already shown (t0)
    assert [(r["wrong"], r["input"], r["gold"], r["BERT"], r["GPT"]) for r in rows] == [
        ("BERT", "t1", "b", "x", "x"), ("GPT", "t0", "a", "a", "x")]
    assert errors_table(rows).splitlines()[0] == "| wrong by | input | gold | BERT | GPT |"


def test_errors_are_capped_and_seeded():
    frame = pl.DataFrame({"id": list(range(20)), "question": [f"q{i}" for i in range(20)], "answer": ["a"] * 20,
                          "pred": ["b"] * 20, "exact_match": [0.0] * 20, "f1": [0.0] * 20})
    a = error_examples("extractive_qa", {"bert": frame}, k=3, seed=4)
    assert len(a) == 3 and a == error_examples("extractive_qa", {"bert": frame}, k=3, seed=4)
    assert error_examples("extractive_qa", {"bert": frame}, k=0, seed=4) == []
    assert errors_table([]) == "_No errors to show._"


def test_every_task_kind_has_an_error_definition_and_a_view():
    """A kind registered in bertvsgpt.kinds without its report view fails here, not in a report."""
    from bertvsgpt.kinds import SPECS
    from bertvsgpt.report.qualitative import ERRORS

    assert set(ERRORS) == set(SPECS)


def test_a_frame_without_the_deciding_columns_is_refused():
    import pytest

    from bertvsgpt.report.qualitative import _wrong

    with pytest.raises(ValueError, match="no error definition for task kind 'translation'"):
        _wrong("translation", pl.DataFrame({"id": [0], "hypothesis": ["a"]}))
    with pytest.raises(ValueError, match="kind 'regression'"):
        _wrong("regression", pl.DataFrame({"id": [0]}))
