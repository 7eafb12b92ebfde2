"""Tables: number formats, the headline table and the group averages against hand-computed values."""

from __future__ import annotations

import polars as pl
import pytest

from bertvsgpt.report.comparison import group_results, task_results
from bertvsgpt.report.labels import fmt_delta, fmt_p, fmt_score, md_table
from bertvsgpt.report.tables import all_metrics_table, compute_table, group_table, headline_table, intrinsic_table
from tests.report.conftest import B
from tests.report.fixtures import MODELS, expected_primary


def cells(line: str) -> list[str]:
    assert line.startswith("| ") and line.endswith(" |")
    return [c.strip() for c in line[2:-2].split(" | ")]


def rows_by_first_cell(table: str) -> dict[str, list[str]]:
    return {cells(line)[0]: cells(line) for line in table.splitlines()[2:]}


# --- formats ---------------------------------------------------------------------------------------


def test_mean_std_format_on_the_0_100_scale():
    assert fmt_score(0.8, 0.1, 3, "test_accuracy") == "80.0 ± 10.0"
    assert fmt_score(0.12345, 0.0, 2, "test_f1") == "12.3 ± 0.0"
    assert fmt_score(0.8, 0.1, 1, "test_accuracy") == "80.0"  # one seed: no spread to show
    assert fmt_score(25.34, 1.26, 3, "test_bleu") == "25.3 ± 1.3"  # sacreBLEU is already 0-100
    assert fmt_delta(-0.4, "test_accuracy") == "-40.0" and fmt_delta(2.5, "test_bleu") == "+2.5"


def test_count_and_duration_formats():
    from bertvsgpt.report.labels import fmt_count, fmt_seconds

    assert [fmt_count(v) for v in (1_234_567, 45_600, 512)] == ["1.23 M", "45.6 k", "512"]
    assert [fmt_seconds(v) for v in (12.34, 90, 7200)] == ["12.3 s", "1.5 min", "2.00 h"]


def test_p_value_format():
    assert fmt_p(0.04567) == "0.046" and fmt_p(1.0) == "1.000" and fmt_p(None) == "—"
    assert fmt_p(1 / 1001, 1000) == "≤ 0.001"  # the floor of a 1000-resample bootstrap
    assert fmt_p(2 / 1001, 1000) == "0.002"


def test_md_table_shape_and_alignment():
    assert md_table(["a", "b"], [[1, 2]], align=["l", "r"]).splitlines() == ["| a | b |", "|---|---:|", "| 1 | 2 |"]
    with pytest.raises(ValueError, match="2 cells"):
        md_table(["a", "b", "c"], [[1, 2]])


# --- headline table from the fixed run ---------------------------------------------------------------


@pytest.fixture(scope="module")
def results(inputs, options):
    return task_results(inputs, options.n_resamples, options.seed)


def test_primary_means_equal_the_hand_computed_values(results):
    expected = expected_primary()
    for r in results:
        for m in MODELS:
            assert r.scores[m].mean == pytest.approx(expected[(m, r.task)]), (m, r.task)
            # the bootstrap's full-sample score is the same number, recomputed from the predictions
            assert r.replicates[m].observed == pytest.approx(expected[(m, r.task)]), (m, r.task)


def test_headline_table_rows_by_hand(results, options):
    table = headline_table(results, MODELS, options.alpha)
    lines = table.splitlines()
    assert cells(lines[0]) == ["task", "metric", "BERT", "GPT", "BERT-scratch", "GPT-scratch", "BERT − GPT [95 % CI]", "p",
                               "winner", "BERT − BERT-scratch", "GPT − GPT-scratch"]
    rows = rows_by_first_cell(table)
    assert list(rows) == ["sentiment", "ner", "qa", "commonsense", "mt"]  # the order of finetune.tasks
    floor = f"≤ {1 / (B + 1):.3f}"
    # BERT always right, GPT always wrong: +100 points, the smallest p, BERT wins
    s = rows["sentiment"]
    assert s[:10] == ["sentiment", "accuracy", "100.0 ± 0.0", "0.0 ± 0.0", "100.0 ± 0.0", "40.0 ± 14.1",
                      "+100.0 [+100.0, +100.0]", floor, "BERT", "+0.0 (p 1.000)"]
    # GPT-scratch 0.5 and 0.3 -> mean 0.4, sample std 0.1414; GPT − GPT-scratch = −40 points
    assert s[10].startswith("-40.0 (p ")
    # identical predictions: difference 0, p = 1, no winner
    assert rows["commonsense"][6:9] == ["+0.0 [+0.0, +0.0]", "1.000", "none"]
    assert rows["commonsense"][2:6] == ["50.0 ± 0.0", "50.0 ± 0.0", "66.7 ± 0.0", "66.7 ± 0.0"]
    # NER: 2c/(g+p) = 6/8 vs 2/5
    assert rows["ner"][1:4] == ["entity F1", "75.0 ± 0.0", "40.0 ± 0.0"] and rows["ner"][6].startswith("+35.0 [")
    assert rows["mt"][1] == "BLEU"
    assert all(len(cells(line)) == 11 for line in lines if not line.startswith("|---"))


def test_headline_table_without_predictions_says_untested(inputs, options):
    bare = type(inputs)(models=inputs.models, tasks=inputs.tasks, task_kinds=inputs.task_kinds, summary=inputs.summary,
                        primary=inputs.primary)
    results = task_results(bare, 50, 0)
    assert all(r.note == "no per-example predictions" and not r.tests for r in results)
    row = rows_by_first_cell(headline_table(results, MODELS, 0.05))["sentiment"]
    assert row[6:10] == ["+100.0", "—", "BERT (untested)", "+0.0"]


def test_group_averages_by_hand(results, options):
    e = expected_primary()
    groups = {g.name: g for g in group_results(results, MODELS)}
    assert list(groups) == ["classification", "token-level", "span/choice", "generation", "overall"]
    assert groups["classification"].means["gpt-scratch"] == pytest.approx(0.4)
    assert groups["token-level"].means["bert"] == pytest.approx(0.75)
    assert groups["span/choice"].tasks == ["qa", "commonsense"]
    assert groups["span/choice"].means["bert"] == pytest.approx((2.6667 / 4 + 0.5) / 2, abs=1e-4)
    assert groups["span/choice"].means["gpt"] == pytest.approx((0.5 + 0.5) / 2)
    assert groups["generation"].means["bert"] == pytest.approx(e[("bert", "mt")] / 100)  # BLEU brought to 0-1
    overall = (1.0 + 0.75 + (1 + 2 / 3 + 1) / 4 + 0.5 + e[("bert", "mt")] / 100) / 5  # mean over the 5 tasks
    assert groups["overall"].means["bert"] == pytest.approx(overall)
    assert groups["overall"].n_tasks["bert"] == 5
    # a one-task group's test is that task's test
    assert groups["classification"].test.p_value == pytest.approx(1 / (B + 1))
    assert groups["classification"].test.delta == pytest.approx(1.0)
    # the group difference is the mean of the task differences (normalised)
    assert groups["span/choice"].test.delta == pytest.approx(((2.6667 / 4 - 0.5) + 0.0) / 2, abs=1e-4)


def test_group_table_rows(results, options):
    table = group_table(group_results(results, MODELS), MODELS, options.alpha)
    rows = rows_by_first_cell(table)
    assert rows["classification"][:6] == ["classification", "sentiment", "100.0", "0.0", "100.0", "40.0"]
    assert rows["classification"][8] == "BERT"
    assert rows["span/choice"][1:4] == ["qa, commonsense", "58.3", "50.0"]
    assert rows["**overall**"][1] == "all 5"


def test_all_metrics_table_follows_the_task_order(inputs):
    rows = [cells(line) for line in all_metrics_table(inputs.summary, MODELS, inputs.tasks).splitlines()[2:]]
    assert [r[:2] for r in rows] == [["sentiment", "accuracy"], ["sentiment", "macro-F1"], ["ner", "entity F1"],
                                     ["qa", "exact match"], ["qa", "F1"], ["commonsense", "accuracy"], ["mt", "BLEU"], ["mt", "chrF"]]
    assert rows[0][6:] == ["+100.0", "BERT"] and rows[5][6:] == ["+0.0", "tie"]


def test_all_metrics_table_missing_model_and_single_seed():
    summary = pl.DataFrame({"model": ["bert", "gpt", "bert"], "task": ["a", "a", "b"], "metric": ["test_accuracy"] * 3,
                            "mean": [0.7, 0.75, 0.333], "std": [0.0, 0.0, 0.0], "n": [1, 1, 1]})
    rows = {cells(line)[0]: cells(line) for line in all_metrics_table(summary, ["bert", "gpt"]).splitlines()[2:]}
    assert rows["a"] == ["a", "accuracy", "70.0", "75.0", "-5.0", "GPT"]
    assert rows["b"] == ["b", "accuracy", "33.3", "—", "—", "—"]


def test_compute_table_formats_by_hand():
    pretrain = {
        "bert": {"parameters": 1_234_567, "tokens_seen": 2_000_000, "train_flops": 123456789.0, "train_seconds": 90.0,
                 "tokens_per_second": 12345.6, "mfu": 0.123, "peak_flops_per_device": 2.034e11, "peak_memory_mb": 2048.4,
                 "precision": "32-true"},
        "gpt": {"parameters": 500_000, "precision": "bf16-mixed"},
    }
    lines = compute_table(pretrain).splitlines()
    assert cells(lines[0]) == ["model", "parameters", "tokens", "training FLOPs", "wall time", "tokens/s", "MFU", "peak probe",
                               "peak memory", "precision"]
    assert cells(lines[2]) == ["BERT", "1.23 M", "2.00 M", "1.23e+08", "1.5 min", "12,346", "12 %", "203 GFLOP/s", "2,048 MB",
                               "32-true"]
    assert cells(lines[3]) == ["GPT", "500.0 k", "—", "—", "—", "—", "—", "—", "—", "bf16-mixed"]


def test_compute_table_shows_each_runs_peak_probe_beside_its_mfu():
    """Two runs of one model with the same tokens/s but probes 2x apart: the table shows why their MFUs differ 2x."""
    run = {"parameters": 1_000, "tokens_per_second": 30_000.0, "precision": "bf16-mixed"}
    pretrain = {"bert": {**run, "seed": 42, "runs": {
        "seed-42": {**run, "seed": 42, "mfu": 0.80, "peak_flops_per_device": 2.0e11},
        "seed-1": {**run, "seed": 1, "mfu": 0.40, "peak_flops_per_device": 4.0e11}}}}
    lines = compute_table(pretrain).splitlines()
    col = cells(lines[0]).index("peak probe")
    assert [cells(line)[col] for line in lines[2:]] == ["200 GFLOP/s", "400 GFLOP/s"]
    assert [cells(line)[col - 1] for line in lines[2:]] == ["80 %", "40 %"]


def test_compute_table_has_a_row_per_pretraining_run_first_run_first():
    run = {"parameters": 1_000, "tokens_seen": 4_000, "train_seconds": 60.0, "precision": "bf16-mixed"}
    pretrain = {
        "bert": {**run, "seed": 42, "runs": {"seed-1": {**run, "seed": 1, "train_seconds": 72.0}, "seed-42": {**run, "seed": 42}}},
        "gpt": {**run, "seed": 42, "runs": {"seed-42": {**run, "seed": 42}}},  # one run: one plain row
    }
    rows = [cells(line) for line in compute_table(pretrain).splitlines()[2:]]
    assert [(r[0], r[4]) for r in rows] == [("BERT (seed 42)", "1.0 min"), ("BERT (seed 1)", "1.2 min"), ("GPT", "1.0 min")]


def test_intrinsic_table_formats_floats_and_ints():
    # an older intrinsic.json without the unigram floors: the values alone, no floor, ratio or verdict
    lines = intrinsic_table({"bert": {"mlm_accuracy": 0.123456, "masked_tokens": 12345}, "gpt": {"perplexity": 345.678}}).splitlines()
    assert cells(lines[0]) == ["model", "metric", "value", "unigram floor", "value / floor", "target"]
    assert [cells(line) for line in lines[2:]] == [["BERT", "MLM accuracy", "12.3 %", "—", "—", "≥ 3× floor"],
                                                   ["BERT", "masked tokens", "12,345", "—", "—", "—"],
                                                   ["GPT", "next-token perplexity", "345.7", "—", "—", "—"]]


def test_different_test_rows_skip_the_test_with_a_note(inputs):
    import dataclasses

    preds = dict(inputs.predictions)
    preds[("gpt", "qa")] = {s: f.reverse() for s, f in preds[("gpt", "qa")].items()}  # same ids, other order
    results = {r.task: r for r in task_results(dataclasses.replace(inputs, predictions=preds), 20, 0)}
    assert not results["qa"].tests and "differ" in results["qa"].note and "gpt/qa/seed_0" in results["qa"].note
    assert results["sentiment"].tests  # the other tasks are still tested


def test_a_small_nonzero_difference_keeps_two_decimals():
    from bertvsgpt.report.labels import fmt_delta, fmt_points

    # +0.02 BLEU must not read "+0.0" (a significant gain shown as none); zero and larger values keep one decimal
    assert [fmt_delta(x, "test_bleu") for x in (0.02, -0.03, 0.0, 1.2)] == ["+0.02", "-0.03", "+0.0", "+1.2"]
    assert fmt_delta(0.0002, "test_accuracy") == "+0.02"  # accuracy is shown in points (x 100)
    assert [fmt_points(v) for v in (0.04, 0.05, 12.345)] == ["0.04", "0.1", "12.3"]


def test_rounding_noise_reads_as_zero():
    from bertvsgpt.report.labels import fmt_delta

    # two equal means computed in different orders differ by ~1e-16: "+0.0", not "+0.00"
    assert fmt_delta(187 / 208 - (93 / 208 + 94 / 208) - 1e-16, "test_accuracy") == "+0.0"


def test_compute_sentence_compares_the_objectives_over_all_their_runs():
    from bertvsgpt.report.findings import compute_sentence

    run = {"train_flops": 1.0, "tokens_seen": 1_000}
    bert = {**run, "train_seconds": 100.0, "runs": {"seed-42": {"train_seconds": 100.0}, "seed-1": {"train_seconds": 120.0}}}
    gpt = {**run, "train_flops": 1.6, "train_seconds": 150.0,
           "runs": {"seed-42": {"train_seconds": 150.0}, "seed-1": {"train_seconds": 210.0}}}
    (line,) = compute_sentence({"bert": bert, "gpt": gpt})
    assert "1.60× BERT's training FLOPs and 1.64× its wall time over its 2 pre-training runs" in line  # 360 / 220 s
    (line,) = compute_sentence({"bert": {**run, "train_seconds": 100.0}, "gpt": {**run, "train_seconds": 150.0}})
    assert line.endswith("1.00× BERT's training FLOPs and 1.50× its wall time.")
