"""benchmarks/score_vs_compute.py: bodies from finished folders, their compute and mean scores, the figure, bad specs."""

import json
import subprocess
import sys

import pytest

from benchmarks.score_vs_compute import body_rows, parse_body, scratch_rows


def _model(dir_, arch, tokens, flops, intrinsic):
    dir_.mkdir(parents=True)
    key = "mlm_accuracy" if arch == "bert" else "perplexity"
    (dir_ / "budget_summary.json").write_text(json.dumps({"arch": arch, "budget_tokens": tokens, "train_flops": flops, key: intrinsic}))
    return dir_


def _finetune(dir_, task, scores, metric="test_entity_f1"):
    for seed, score in scores.items():
        d = dir_ / task / f"seed_{seed}"
        d.mkdir(parents=True)
        (d / "metrics.json").write_text(json.dumps({"primary_metric": metric, metric: score, "test_other": 0.0}))
    return dir_


def test_parse_body_splits_series_model_folders_and_finetune_folders():
    series, models, ft = parse_body("GPT L4/H256=/a/gpt-8,/b/gpt-8:/c/gpt")
    assert series == "GPT L4/H256" and [str(m) for m in models] == ["/a/gpt-8", "/b/gpt-8"] and [str(f) for f in ft] == ["/c/gpt"]
    assert [str(f) for f in parse_body("G=/a/m:/c/ft1,/d/ft2")[2]] == ["/c/ft1", "/d/ft2"]
    with pytest.raises(ValueError, match="SERIES=MODEL_DIR"):
        parse_body("no-separators")


def test_body_rows_average_flops_over_runs_and_scores_over_seeds(tmp_path):
    a = _model(tmp_path / "a", "gpt", 8_000_000, 2.0e14, 80.0)
    b = _model(tmp_path / "b", "gpt", 8_000_000, 4.0e14, 60.0)
    ft = _finetune(tmp_path / "ft", "ner", {0: 0.2, 1: 0.3, 10: 0.4})
    (row,) = body_rows("GPT", [a, b], [ft], ["ner"])
    assert row["arch"] == "gpt" and row["tokens"] == 8_000_000 and row["bodies"] == 2
    assert row["train_flops"] == pytest.approx(3.0e14) and row["intrinsic"] == "perplexity" and row["intrinsic_value"] == 70.0
    assert row["metric"] == "test_entity_f1" and row["score"] == pytest.approx(0.3) and row["seeds"] == 3


def test_body_rows_refuse_mixed_objectives_and_missing_files(tmp_path):
    bert = _model(tmp_path / "bert", "bert", 8, 1.0, 0.2)
    gpt = _model(tmp_path / "gpt", "gpt", 8, 1.0, 70.0)
    ft = _finetune(tmp_path / "ft", "ner", {0: 0.2})
    with pytest.raises(ValueError, match="different objectives"):
        body_rows("x", [bert, gpt], [ft], ["ner"])
    with pytest.raises(FileNotFoundError, match="budget_summary.json"):
        body_rows("x", [tmp_path / "nowhere"], [ft], ["ner"])
    with pytest.raises(FileNotFoundError, match="qa"):
        body_rows("x", [bert], [ft], ["qa"])


def test_scratch_rows_have_no_compute(tmp_path):
    ft = _finetune(tmp_path / "ft", "qa", {0: 0.1, 1: 0.3}, metric="test_f1")
    (row,) = scratch_rows("BERT", [ft], ["qa"])
    assert row["train_flops"] == 0 and row["score"] == pytest.approx(0.2) and row["metric"] == "test_f1"


def test_several_finetune_folders_pool_their_seeds_and_must_share_the_metric(tmp_path):
    gpt = _model(tmp_path / "gpt", "gpt", 8, 1.0, 70.0)
    ft1 = _finetune(tmp_path / "ft1", "ner", {0: 0.2, 1: 0.4})   # one body's fine-tunes
    ft2 = _finetune(tmp_path / "ft2", "ner", {0: 0.6})           # the other body's: the same seed name, counted apart
    (row,) = body_rows("GPT", [gpt], [ft1, ft2], ["ner"])
    assert row["seeds"] == 3 and row["score"] == pytest.approx(0.4)
    other = _finetune(tmp_path / "ft3", "ner", {0: 0.5}, metric="test_token_accuracy")
    with pytest.raises(ValueError, match="primary metric"):
        body_rows("GPT", [gpt], [ft1, other], ["ner"])


def test_cli_writes_the_csv_and_figure_and_fails_in_one_line_on_a_bad_folder(tmp_path):
    bert = _model(tmp_path / "m" / "bert-16", "bert", 16, 4.0e14, 0.28)
    gpt = _model(tmp_path / "m" / "gpt-16", "gpt", 16, 5.0e14, 55.0)
    ft_b = _finetune(tmp_path / "f" / "bert", "ner", {0: 0.37})
    ft_g = _finetune(tmp_path / "f" / "gpt", "ner", {0: 0.30})
    ft_s = _finetune(tmp_path / "f" / "scratch", "ner", {0: 0.2})
    out, table = tmp_path / "fig.png", tmp_path / "points.csv"
    cmd = [sys.executable, "-m", "benchmarks.score_vs_compute", "--tasks", "ner", "--out", str(out), "--csv", str(table),
           f"BERT={bert}:{ft_b}", f"GPT={gpt}:{ft_g}", "--scratch", f"BERT={ft_s}"]
    subprocess.run(cmd, check=True, capture_output=True)
    assert out.stat().st_size > 0
    lines = table.read_text().splitlines()
    assert len(lines) == 4 and lines[1].startswith("BERT,bert,16,") and lines[3].startswith("BERT,,0,0,")
    bad = subprocess.run([*cmd[:-3], f"GPT={tmp_path / 'missing'}:{ft_g}"], capture_output=True, text=True)
    assert bad.returncode != 0 and bad.stderr.strip().count("\n") == 0 and "budget_summary.json" in bad.stderr
