"""The classical baselines in the report: headline column, the baselines table with paired tests, findings, metrics."""

from __future__ import annotations

import json
import shutil

import pytest
from sacrebleu.metrics import BLEU

from bertvsgpt.report import load_inputs, render_report
from bertvsgpt.report.comparison import task_results
from tests.report.fixtures import MT_REF, MT_SRC, params, table_after, write_all_with_baselines



@pytest.fixture(scope="module")
def baseline_dir(tmp_path_factory):
    return write_all_with_baselines(tmp_path_factory.mktemp("run_baselines"))


@pytest.fixture(scope="module")
def baseline_inputs(baseline_dir):
    return load_inputs(baseline_dir, params())


@pytest.fixture(scope="module")
def baseline_report(baseline_dir, baseline_inputs, options):
    return render_report(baseline_inputs, baseline_dir / "reports", options)


def test_inputs_list_each_tasks_baselines_reference_first(baseline_inputs):
    assert [b.name for b in baseline_inputs.baselines["sentiment"]] == ["majority", "tfidf-lr"]
    assert [b.reference for b in baseline_inputs.baselines["sentiment"]] == [True, False]
    assert baseline_inputs.baselines["sentiment"][0].description == "the majority baseline of sentiment"
    assert baseline_inputs.baselines["sentiment"][0].predictions.height == 10


def test_baseline_scores_kept_apart_from_the_models(baseline_inputs, options):
    results = {r.task: r for r in task_results(baseline_inputs, options.n_resamples, options.seed)}
    s = results["sentiment"]
    assert set(s.scores) == {"bert", "gpt", "bert-scratch", "gpt-scratch"}
    assert s.reference == "majority" and list(s.baselines) == ["majority", "tfidf-lr"]
    assert s.baselines["majority"].mean == pytest.approx(0.5) and s.baselines["tfidf-lr"].mean == pytest.approx(0.8)
    # BERT right on all 10, GPT on none: +50 and -50 points against the majority class's 5/10
    assert s.baseline_tests[("bert", "majority")].delta == pytest.approx(0.5)
    assert s.baseline_tests[("gpt", "majority")].delta == pytest.approx(-0.5)
    assert s.baseline_tests[("gpt", "tfidf-lr")].delta == pytest.approx(-0.8)
    assert s.baseline_tests[("bert", "majority")].significant(0.05) and s.baseline_tests[("gpt", "majority")].significant(0.05)
    assert ("bert-scratch", "majority") not in s.baseline_tests  # only the pre-trained models are tested
    # commonsense: BERT right on 3 of 6 against chance's expected 1/3 per question
    c = results["commonsense"]
    assert c.reference == "chance" and c.baseline_tests[("bert", "chance")].delta == pytest.approx(0.5 - 1 / 3)


def test_headline_table_has_a_baselines_column(baseline_report):
    header, *rows = table_after(baseline_report.markdown, "## Downstream tasks")
    col = header.index("baselines")
    assert header[:col] == ["task", "metric", "BERT", "GPT", "BERT-scratch", "GPT-scratch"]
    by_task = {r[0]: r for r in rows}
    assert by_task["sentiment"][col] == "majority 50.0; TF-IDF + LR 80.0"
    assert by_task["commonsense"][col] == "chance 33.3"
    assert by_task["ner"][col] == "majority 0.0"
    assert by_task["qa"][col] == "first words 25.0"
    assert by_task["mt"][col] == f"copy source {BLEU().corpus_score(MT_SRC, [MT_REF]).score:.1f}"


def test_baselines_table_rows_tests_and_descriptions(baseline_report):
    md = baseline_report.markdown
    assert "\n### Baselines\n" in md
    header, *rows = table_after(md, "### Baselines")
    assert header == ["task", "metric", "baseline", "score", "BERT − baseline [95 % CI]", "p", "GPT − baseline [95 % CI]", "p"]
    by_key = {(r[0], r[2]): r for r in rows}
    assert len(rows) == 6
    maj = by_key[("sentiment", "majority (trivial)")]
    assert maj[3] == "50.0" and maj[4].startswith("+50.0 [") and maj[6].startswith("-50.0 [")
    assert by_key[("sentiment", "TF-IDF + LR")][6].startswith("-80.0 [")
    assert by_key[("ner", "majority (trivial)")][4].startswith("+75.0 [")
    assert by_key[("qa", "first words (trivial)")][4].startswith("+41.7 [")
    # one line per baseline saying what it does
    assert "- **TF-IDF + LR** (sentiment): the tfidf-lr baseline of sentiment." in md
    assert "- **majority** (ner): the majority baseline of ner." in md


def test_findings_place_each_model_against_the_trivial_baseline(baseline_report):
    section = baseline_report.markdown.split("## What this run shows")[1].split("## ")[0]
    assert "GPT scores significantly below the trivial baseline on sentiment (majority, 50.0 points, p ≤ " in section
    assert "BERT beats the trivial baseline significantly on sentiment, ner and mt; BERT is not significantly different from it on qa" in section
    assert "A classical baseline scores significantly higher than GPT on sentiment (TF-IDF + LR, 80.0 points higher, p " in section


def test_metrics_file_has_baseline_scores_and_tests(baseline_report):
    m = baseline_report.metrics
    json.dumps(m)
    s = m["tasks"]["sentiment"]
    assert s["baseline_majority"] == 50.0 and s["baseline_tfidf_lr"] == 80.0
    assert s["bert_vs_majority"] == 50.0 and s["gpt_vs_majority"] == -50.0 and s["gpt_vs_tfidf_lr"] == -80.0
    assert 0 < s["bert_vs_majority_p"] < 0.05 and 0 < s["gpt_vs_majority_p"] < 0.05
    assert set(s["test_accuracy"]) == {"bert", "gpt", "bert-scratch", "gpt-scratch"}  # baselines apart from the models
    assert m["tasks"]["commonsense"]["baseline_chance"] == pytest.approx(33.33)
    assert m["tasks"]["ner"]["bert_vs_majority"] == 75.0 and m["tasks"]["ner"]["gpt_vs_majority"] == 40.0
    assert m["tasks"]["qa"]["baseline_first_span"] == 25.0
    assert m["tasks"]["mt"]["baseline_copy_source"] == round(BLEU().corpus_score(MT_SRC, [MT_REF]).score, 2)
    assert all(isinstance(v, (int, float, dict)) for t in m["tasks"].values() for v in t.values())


def test_baseline_on_other_test_rows_is_not_tested(baseline_dir, tmp_path, options):
    import polars as pl

    work = tmp_path / "run"
    shutil.copytree(baseline_dir, work, ignore=shutil.ignore_patterns("reports"))
    f = work / "data" / "baselines" / "sentiment" / "majority" / "predictions.parquet"
    pl.read_parquet(f).reverse().write_parquet(f)
    inputs = load_inputs(work, params())
    result = next(r for r in task_results(inputs, options.n_resamples, options.seed) if r.task == "sentiment")
    assert not any(b == "majority" for _, b in result.baseline_tests) and ("bert", "tfidf-lr") in result.baseline_tests
    assert "majority" in result.baseline_note
    md = render_report(inputs, work / "reports", options).markdown
    assert "No test against the baselines for: sentiment (baseline majority: its test rows differ" in md
    assert "+50.0 (untested)" in md


def test_report_without_baselines_has_no_baseline_parts(report):
    assert "### Baselines" not in report.markdown and "| baselines |" not in report.markdown
    assert not any(k.startswith("baseline_") for t in report.metrics["tasks"].values() for k in t)
