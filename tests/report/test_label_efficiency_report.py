"""Label efficiency in the report: points, table, generated sentences, the small-multiples figure, metrics."""

from __future__ import annotations

import json
import shutil

import pytest

from bertvsgpt.report import load_inputs, render_report
from bertvsgpt.report.label_efficiency import label_points
from tests.report.fixtures import params, write_label_efficiency

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def le_dir(run_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("run_labels") / "run"
    shutil.copytree(run_dir, root, ignore=shutil.ignore_patterns("reports"))
    return write_label_efficiency(root)


@pytest.fixture(scope="module")
def le_inputs(le_dir):
    return load_inputs(le_dir, params())


@pytest.fixture(scope="module")
def le_report(le_dir, le_inputs, options):
    return render_report(le_inputs, le_dir / "reports", options)


def test_points_take_the_main_run_as_the_100_percent_point(le_inputs):
    pts = {(p.task, p.model, p.fraction): p for p in label_points(le_inputs.label_efficiency, le_inputs.summary, le_inputs.runs,
                                                                  le_inputs.models, le_inputs.tasks)}
    assert {t for t, _, _ in pts} == {"sentiment", "ner"}
    frac = pts[("sentiment", "bert", 0.25)]
    assert frac.mean == pytest.approx(0.8) and frac.n == 2 and frac.n_train == 2 and frac.metric == "test_accuracy"
    full = pts[("sentiment", "gpt-scratch", 1.0)]  # the main run: 5/10 and 3/10 over two seeds, on 8 training labels
    assert full.mean == pytest.approx(0.4) and full.n == 2 and full.n_train == 8
    assert pts[("ner", "bert", 1.0)].mean == pytest.approx(0.75) and pts[("ner", "bert", 0.25)].n_train == 10


def test_no_label_efficiency_section_without_results(report, inputs):
    assert "## Label efficiency" not in report.markdown and "label_efficiency" not in report.metrics
    assert not (report.figures[0].parent / "label_efficiency.png").exists()
    assert label_points(None, inputs.summary, inputs.runs, inputs.models, inputs.tasks) == []


def test_section_table_and_sentences(le_report):
    md = le_report.markdown
    headings = [line for line in md.splitlines() if line.startswith("## ")]
    assert headings.index("## Label efficiency") == headings.index("## By kind of task") + 1
    section = md.split("## Label efficiency")[1].split("\n## ")[0]
    assert "| task | metric | model | training labels | 25 % of labels | 100 % (main run) |" in section
    assert "| sentiment | accuracy | BERT | 2 / 8 | 80.0 ± 7.1 | 100.0 ± 0.0 |" in section
    assert "| sentiment | accuracy | GPT-scratch | 2 / 8 | 30.0 ± 7.1 | 40.0 ± 14.1 |" in section
    assert "| ner | entity F1 | BERT-scratch | 10 / 40 | 20.0 ± 7.1 | 40.0 ± 0.0 |" in section
    assert ("- On sentiment (accuracy), pre-training's gain over scratch is larger with 25 % of the labels for BERT (+30.0 points "
            "with 2 labels, +0.0 with all 8) and larger with 25 % of the labels for GPT (+0.0 points with 2 labels, -40.0 with all 8).") in section
    assert ("- On ner (entity F1), pre-training's gain over scratch is larger at full data for BERT (+10.0 points with 10 labels, "
            "+35.0 with all 40) and larger with 25 % of the labels for GPT") in section
    assert "](figures/label_efficiency.png)" in section


def test_figure_is_drawn(le_dir, le_report):
    f = le_dir / "reports" / "figures" / "label_efficiency.png"
    assert f in le_report.figures and f.read_bytes().startswith(PNG) and f.stat().st_size > 5000


def test_keys_reach_the_metrics_file(le_report):
    m = le_report.metrics["label_efficiency"]
    json.dumps(m)
    assert m["sentiment"]["bert"]["frac_0.25"] == 80.0 and m["sentiment"]["bert"]["frac_1"] == 100.0
    assert m["sentiment"]["bert_gain"] == {"frac_0.25": 30.0, "frac_1": 0.0}
    assert m["sentiment"]["gpt_gain"] == {"frac_0.25": 0.0, "frac_1": -40.0}
    assert m["ner"]["labels"] == {"frac_0.25": 10.0, "frac_1": 40.0}
    assert m["ner"]["gpt-scratch"]["frac_0.25"] == 0.0
    from bertvsgpt.evaluation.metrics_file import flatten_metrics

    flat = flatten_metrics(le_report.metrics)
    assert flat["label_efficiency.sentiment.bert.frac_0.25"] == 80.0


def test_sentence_lists_every_label_budget_and_names_the_largest_gain():
    from bertvsgpt.report.label_efficiency import LabelPoint, label_efficiency_sentences

    def pt(model, f, n, acc):
        return LabelPoint("sentiment", model, f, n, "test_accuracy", acc, 0.0, 1)

    pts = [pt("bert", 0.01, 80, 0.60), pt("bert-scratch", 0.01, 80, 0.55), pt("bert", 0.1, 803, 0.70),
           pt("bert-scratch", 0.1, 803, 0.62), pt("bert", 1.0, 8033, 0.75), pt("bert-scratch", 1.0, 8033, 0.76),
           pt("gpt", 0.01, 80, 0.5), pt("gpt-scratch", 0.01, 80, 0.5), pt("gpt", 1.0, 8033, 0.8), pt("gpt-scratch", 1.0, 8033, 0.8)]
    [sentence] = label_efficiency_sentences(pts)
    assert sentence == ("On sentiment (accuracy), pre-training's gain over scratch is largest with 10 % of the labels for BERT "
                        "(+5.0 points with 80 labels, +8.0 with 803, -1.0 with all 8,033) and the same at both for GPT "
                        "(+0.0 points with 80 labels, +0.0 with all 8,033).")


def test_the_100_percent_point_averages_the_seeds_the_fractions_ran():
    """Label efficiency fine-tunes seed 0 only (it starts from the first pre-training run): its 100 % point is the main
    run's seed 0, not the mean over both main seeds (seed 1 starts from the second pre-training run)."""
    import polars as pl

    frame = pl.DataFrame({"model": ["bert"], "task": ["sentiment"], "label_fraction": [0.1], "n_train": [10], "seed": [0],
                          "metric": ["test_accuracy"], "score": [0.6]})
    summary = pl.DataFrame({"model": ["bert"], "task": ["sentiment"], "metric": ["test_accuracy"], "mean": [0.7],
                            "std": [0.1414], "n": [2]})
    per_seed = pl.DataFrame({"model": ["bert", "bert"], "task": ["sentiment"] * 2, "seed": [0, 1],
                             "metric": ["test_accuracy"] * 2, "value": [0.8, 0.6]})
    full = {p.fraction: p for p in label_points(frame, summary, None, ["bert"], ["sentiment"], per_seed)}[1.0]
    assert (full.mean, full.std, full.n) == (pytest.approx(0.8), 0.0, 1)
    fallback = {p.fraction: p for p in label_points(frame, summary, None, ["bert"], ["sentiment"])}[1.0]
    assert (fallback.mean, fallback.n) == (pytest.approx(0.7), 2)  # without per-seed scores: the main run's mean


def _acc(correct):
    import polars as pl

    return pl.DataFrame({"id": list(range(len(correct))), "correct": [float(c) for c in correct]})


def test_each_gain_over_scratch_on_the_curve_is_a_paired_test_over_test_examples():
    """At a fraction the label-efficiency runs are compared; at 100 % the main runs of the seeds the curve ran (seed 0
    here: the main run's seed 1, which would erase the gain, is left out); identical predictions give p 1."""
    from bertvsgpt.report.label_efficiency import LabelPoint, label_efficiency_metrics, label_efficiency_sentences, label_tests

    good, bad = _acc([1] * 45 + [0] * 5), _acc([1] * 5 + [0] * 45)
    label_preds = {("bert", "sentiment", 0.1): {0: good}, ("bert-scratch", "sentiment", 0.1): {0: bad},
                   ("gpt", "sentiment", 0.1): {0: good}, ("gpt-scratch", "sentiment", 0.1): {0: good}}
    main = {("bert", "sentiment"): {0: good, 1: bad}, ("bert-scratch", "sentiment"): {0: bad, 1: good}}
    pts = [LabelPoint("sentiment", m, f, n, "test_accuracy", 0.0, 0.0, 1)
           for m in ("bert", "bert-scratch", "gpt", "gpt-scratch") for f, n in ((0.1, 50), (1.0, 500))]
    tests = label_tests(pts, label_preds, main, n_resamples=200, seed=1)

    at_10 = tests[("sentiment", "bert", 0.1)]
    assert at_10.delta == pytest.approx(0.8) and at_10.p_value == pytest.approx(1 / 201) and at_10.n_examples == 50
    assert tests[("sentiment", "bert", 1.0)].delta == pytest.approx(0.8)  # seed 0 only: with seed 1 it would be 0
    assert tests[("sentiment", "gpt", 0.1)].delta == 0.0 and tests[("sentiment", "gpt", 0.1)].p_value == 1.0
    assert ("sentiment", "gpt", 1.0) not in tests  # no main-run predictions for GPT: nothing to test
    assert not any(m.endswith("scratch") for _, m, _ in tests)

    scored = [LabelPoint("sentiment", m, f, 50, "test_accuracy", acc, 0.0, 1)
              for m, f, acc in (("bert", 0.1, 0.9), ("bert-scratch", 0.1, 0.1), ("bert", 1.0, 0.9), ("bert-scratch", 1.0, 0.1))]
    [sentence] = label_efficiency_sentences(scored, tests)
    assert "+80.0 points (p ≤ 0.005) with 50 labels, +80.0 (p ≤ 0.005) with all 50" in sentence
    metrics = label_efficiency_metrics(scored, tests)
    assert metrics["sentiment"]["bert_gain_p"] == {"frac_0.1": round(1 / 201, 4), "frac_1": round(1 / 201, 4)}


def test_a_curve_point_on_other_test_rows_is_refused():
    from bertvsgpt.report.label_efficiency import LabelPoint, label_tests

    shifted = _acc([1] * 10).with_columns(id=pl_range(10, 20))
    pts = [LabelPoint("sentiment", "bert", 0.1, 5, "test_accuracy", 0.0, 0.0, 1)]
    with pytest.raises(ValueError, match="test rows differ"):
        label_tests(pts, {("bert", "sentiment", 0.1): {0: _acc([1] * 10)}, ("bert-scratch", "sentiment", 0.1): {0: shifted}}, {}, 10, 0)


def pl_range(a, b):
    import polars as pl

    return pl.Series(list(range(a, b)))


def test_the_report_reads_the_label_efficiency_predictions(tmp_path):
    from bertvsgpt.report.inputs import read_label_predictions

    d = tmp_path / "bert" / "news" / "frac_0.01" / "seed_0"
    d.mkdir(parents=True)
    _acc([1, 0]).write_parquet(d / "predictions.parquet")
    (tmp_path / "bert" / "news" / "frac_0.1" / "seed_0").mkdir(parents=True)  # no predictions: not a run
    got = read_label_predictions(tmp_path, ["bert", "gpt"], ["news"])
    assert list(got) == [("bert", "news", 0.01)] and got[("bert", "news", 0.01)][0].height == 2


def test_the_opening_findings_name_where_few_labels_make_pre_training_pay():
    from bertvsgpt.report.label_efficiency import LabelPoint, label_efficiency_findings
    from bertvsgpt.report.significance import PairedTest

    def pt(task, model, f, n):
        return LabelPoint(task, model, f, n, "test_accuracy", 0.5, 0.0, 1)

    pts = [pt("news", "bert", 0.01, 17), pt("news", "bert", 0.1, 164), pt("intent", "bert", 0.1, 49), pt("news", "gpt", 0.01, 17),
           pt("news", "gpt", 1.0, 1640)]
    test = lambda d, p: PairedTest(d, d - 0.1, d + 0.1, p, 100, 1000)  # noqa: E731
    tests = {("news", "bert", 0.01): test(0.248, 0.001), ("news", "bert", 0.1): test(0.121, 0.001),
             ("intent", "bert", 0.1): test(0.106, 0.016), ("news", "gpt", 0.01): test(-0.2, 0.01),
             ("news", "gpt", 1.0): test(0.3, 0.001)}  # the 100 % point is the headline's business, not this finding's
    [sentence] = label_efficiency_findings(pts, tests, 0.05)
    assert sentence == ("With a fraction of the labels (*Label efficiency*, one fine-tuning seed), pre-training helped BERT on "
                        "intent (+10.6 points with 49 labels) and news (+24.8 points with 17 labels, +12.1 with 164 labels) "
                        "significantly over scratch; it left GPT on news (-20.0 points with 17 labels) significantly below scratch.")
    tests_flat = {k: test(0.01, 0.5) for k in tests}
    assert label_efficiency_findings(pts, tests_flat, 0.05) == [
        "With a fraction of the labels (*Label efficiency*, one fine-tuning seed), no pre-trained model differs significantly "
        "from its scratch twin."]
    assert label_efficiency_findings(pts, {}, 0.05) == []
