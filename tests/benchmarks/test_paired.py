"""benchmarks/paired.py: a model's folder tested against other runs' folders and the baselines, task by task."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from benchmarks.paired import paired_rows


def _preds(folder: Path, correct: list[int]) -> None:
    folder.mkdir(parents=True)
    pl.DataFrame({"id": list(range(len(correct))), "correct": correct}).write_parquet(folder / "predictions.parquet")
    (folder / "metrics.json").write_text(json.dumps({"primary_metric": "test_accuracy",
                                                    "test_accuracy": sum(correct) / len(correct)}))


def test_model_is_tested_against_each_opponent_and_baseline_on_the_tasks_both_have(tmp_path):
    n = 200
    good0, good1 = [1] * 180 + [0] * 20, [1] * 170 + [0] * 30       # 90 % and 85 %: mean 87.5 %
    _preds(tmp_path / "minilm" / "sentiment" / "seed_0", good0)
    _preds(tmp_path / "minilm" / "sentiment" / "seed_1", good1)
    _preds(tmp_path / "minilm" / "news" / "seed_0", [1] * n)          # no opponent has news: skipped
    _preds(tmp_path / "bert" / "sentiment" / "seed_0", [1, 0] * (n // 2))  # 50 %
    _preds(tmp_path / "base" / "sentiment" / "majority", [1] * 100 + [0] * 100)   # the baselines stage's layout

    rows = paired_rows(tmp_path / "minilm", {"bert": tmp_path / "bert"}, baselines=tmp_path / "base")

    assert [(r["task"], r["against"]) for r in rows] == [("sentiment", "bert"), ("sentiment", "baseline:majority")]
    bert = rows[0]
    assert (bert["seeds"], bert["seeds_against"], bert["n_examples"]) == (2, 1, n)
    assert bert["score"] == pytest.approx(0.875) and bert["score_against"] == pytest.approx(0.5)
    assert bert["delta"] == pytest.approx(0.375)
    assert bert["ci_low"] > 0 and bert["p_value"] < 0.01
    assert rows[1]["delta"] == pytest.approx(0.375)
    assert paired_rows(tmp_path / "minilm", {"bert": tmp_path / "bert"}, tasks=["news"]) == []


def test_identical_predictions_differ_by_nothing_and_other_rows_are_refused(tmp_path):
    same = [1, 0, 1, 1] * 25
    _preds(tmp_path / "a" / "intent" / "seed_0", same)
    _preds(tmp_path / "b" / "intent" / "seed_0", same)
    (row,) = paired_rows(tmp_path / "a", {"b": tmp_path / "b"})
    assert row["delta"] == 0.0 and row["p_value"] == 1.0

    _preds(tmp_path / "c" / "intent" / "seed_0", same[:-1])            # one test row fewer
    with pytest.raises(ValueError):
        paired_rows(tmp_path / "a", {"c": tmp_path / "c"})


def test_cli_writes_the_csv_and_names_a_bad_opponent(tmp_path):
    _preds(tmp_path / "a" / "intent" / "seed_0", [1] * 50)
    _preds(tmp_path / "b" / "intent" / "seed_0", [0] * 50)
    out = tmp_path / "tests.csv"
    ok = subprocess.run([sys.executable, "-m", "benchmarks.paired", str(tmp_path / "a"), "--against", f"b={tmp_path / 'b'}",
                         "--out", str(out)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    (row,) = pl.read_csv(out).to_dicts()
    assert (row["task"], row["against"], row["delta"]) == ("intent", "b", 1.0)

    bad = subprocess.run([sys.executable, "-m", "benchmarks.paired", str(tmp_path / "a"), "--against", str(tmp_path / "b")],
                         capture_output=True, text=True)
    assert bad.returncode != 0 and "expected NAME=DIR" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


def test_folders_joined_by_commas_pool_as_one_model_and_a_task_missing_from_one_is_skipped(tmp_path):
    n = 100
    _preds(tmp_path / "run1" / "ner" / "seed_0", [1] * 90 + [0] * 10)      # 90 %
    _preds(tmp_path / "run2" / "ner" / "seed_0", [1] * 70 + [0] * 30)      # 70 %: pooled with run1, 80 %
    _preds(tmp_path / "run1" / "qa" / "seed_0", [1] * n)                   # run2 has no qa: not a pooled model's task
    _preds(tmp_path / "other1" / "ner" / "seed_0", [1] * 50 + [0] * 50)
    _preds(tmp_path / "other2" / "ner" / "seed_0", [1] * 30 + [0] * 70)    # pooled opponent: 40 %

    (row,) = paired_rows([tmp_path / "run1", tmp_path / "run2"], {"o": [tmp_path / "other1", tmp_path / "other2"]})

    assert (row["task"], row["model"], row["seeds"], row["seeds_against"]) == ("ner", "run1+run2", 2, 2)
    assert row["score"] == pytest.approx(0.8) and row["score_against"] == pytest.approx(0.4)
    assert row["delta"] == pytest.approx(0.4)
    # the same through the CLI, and a missing folder among the pooled ones is named in one line
    ok = subprocess.run([sys.executable, "-m", "benchmarks.paired", f"{tmp_path / 'run1'},{tmp_path / 'run2'}",
                         "--against", f"o={tmp_path / 'other1'},{tmp_path / 'other2'}"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "ner,test_accuracy,run1+run2,o,2,2,0.8,0.4,0.4" in ok.stdout
    _preds(tmp_path / "again" / "run1" / "ner" / "seed_0", [1] * 80 + [0] * 20)
    (row,) = paired_rows([tmp_path / "run1", tmp_path / "again" / "run1"], {"o": tmp_path / "other1"})
    assert row["model"] == "run1 (2 folders)" and row["score"] == pytest.approx(0.85)
    bad = subprocess.run([sys.executable, "-m", "benchmarks.paired", f"{tmp_path / 'run1'},{tmp_path / 'nope'}"],
                         capture_output=True, text=True)
    assert bad.returncode != 0 and "nope" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


def test_resample_seeds_is_the_reports_two_level_test_wider_when_seeds_disagree(tmp_path):
    from benchmarks.paired import compare_frames, seed_frames
    from bertvsgpt.report.comparison import seed_draws

    _preds(tmp_path / "a" / "news" / "seed_0", [1] * 190 + [0] * 10)      # 95 %
    _preds(tmp_path / "a" / "news" / "seed_1", [1] * 110 + [0] * 90)      # 55 %: the seeds disagree
    _preds(tmp_path / "b" / "news" / "seed_0", [1] * 130 + [0] * 70)      # 65 %
    _preds(tmp_path / "b" / "news" / "seed_1", [1] * 140 + [0] * 60)      # 70 %

    (one,) = paired_rows(tmp_path / "a", {"other": tmp_path / "b"})
    (two,) = paired_rows(tmp_path / "a", {"other": tmp_path / "b"}, resample_seeds=True)

    assert one["delta"] == two["delta"] == pytest.approx(0.075)          # the observed difference is the same
    assert two["ci_high"] - two["ci_low"] > 2 * (one["ci_high"] - one["ci_low"])
    assert one["p_value"] < 0.05 < two["p_value"]                         # one level calls it; the seeds' spread does not

    # drawn as the report draws a model of that name: the model's folder name, the opponent's NAME (not its folder)
    a, b = seed_frames(tmp_path / "a", "news"), seed_frames(tmp_path / "b", "news")
    report_way, _, _ = compare_frames(a, b, "test_accuracy", "news", 1000, 42, (seed_draws(42, "a"), seed_draws(42, "other")))
    by_folder, _, _ = compare_frames(a, b, "test_accuracy", "news", 1000, 42, (seed_draws(42, "a"), seed_draws(42, "b")))
    assert (two["ci_low"], two["ci_high"], two["p_value"]) == (round(report_way.ci_low, 4), round(report_way.ci_high, 4),
                                                                round(report_way.p_value, 4))
    assert (report_way.ci_low, report_way.ci_high) != (by_folder.ci_low, by_folder.ci_high)
    # an opponent named like the model would draw the same seeds: refused in one line
    with pytest.raises(ValueError, match="model's name"):
        paired_rows(tmp_path / "a", {"a": tmp_path / "b"}, resample_seeds=True)
    bad = subprocess.run([sys.executable, "-m", "benchmarks.paired", str(tmp_path / "a"), "--against", f"a={tmp_path / 'b'}",
                          "--resample-seeds"], capture_output=True, text=True)
    assert bad.returncode != 0 and "model's name" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1

    # with one seed a side there is nothing to redraw: the two tests agree
    for d in ("a", "b"):
        for f in ("predictions.parquet", "metrics.json"):
            (tmp_path / d / "news" / "seed_1" / f).unlink()
        (tmp_path / d / "news" / "seed_1").rmdir()
    assert paired_rows(tmp_path / "a", {"other": tmp_path / "b"}) == paired_rows(tmp_path / "a", {"other": tmp_path / "b"},
                                                                                  resample_seeds=True)
    ok = subprocess.run([sys.executable, "-m", "benchmarks.paired", str(tmp_path / "a"), "--against", f"other={tmp_path / 'b'}",
                         "--resample-seeds"], capture_output=True, text=True)
    assert ok.returncode == 0 and "news,test_accuracy,a,other,1,1" in ok.stdout, ok.stderr
