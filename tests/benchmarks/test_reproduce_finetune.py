"""The re-run comparison: identical outputs pass; a changed prediction or score is named."""

from __future__ import annotations

import json

import polars as pl

from benchmarks.reproduce_finetune import compare


def _run(path, preds, accuracy, seconds):
    path.mkdir(parents=True)
    pl.DataFrame({"id": [0, 1], "pred": preds}).write_parquet(path / "predictions.parquet")
    (path / "metrics.json").write_text(json.dumps({"test_accuracy": accuracy, "train_seconds": seconds}))
    return path


def test_identical_runs_differ_only_in_time(tmp_path):
    a = _run(tmp_path / "a", ["x", "y"], 0.5, 10.0)
    b = _run(tmp_path / "b", ["x", "y"], 0.5, 99.0)
    assert compare(a, b) == []


def test_a_changed_prediction_and_score_are_reported(tmp_path):
    a = _run(tmp_path / "a", ["x", "y"], 0.5, 10.0)
    b = _run(tmp_path / "b", ["x", "x"], 1.0, 10.0)
    problems = compare(a, b)
    assert problems[0] == "predictions.parquet bytes differ"
    assert "metrics.json test_accuracy: 0.5 -> 1.0" in problems
