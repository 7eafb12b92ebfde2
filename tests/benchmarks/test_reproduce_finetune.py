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


def test_a_run_is_re_made_from_the_pre_training_run_it_records(tmp_path):
    """Fine-tuning seed 1 of the default run starts from pre-training run 1 (``pretraining_run.json``), not from
    ``data/models/<model>`` (run 0); a run that records nothing starts from the model folder."""
    from pathlib import Path

    from benchmarks.reproduce_finetune import start_of

    seed_1 = tmp_path / "seed_1"
    seed_1.mkdir()
    (seed_1 / "pretraining_run.json").write_text(json.dumps({"pretrain_seed": 1, "model_dir": "data/models/bert/runs/seed-1"}))
    assert start_of(seed_1, "bert") == Path("data/models/bert/runs/seed-1")
    assert start_of(tmp_path / "seed_0", "bert-scratch") == Path("data/models/bert-scratch")
