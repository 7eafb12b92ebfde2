"""The whole report built from the small fixed run: sections, figures, HTML, metrics, findings, data checks."""

from __future__ import annotations

import json
import re

import polars as pl
import pytest
import sacrebleu

from bertvsgpt.report import ReportOptions, load_inputs, render_report
from bertvsgpt.report.budget import load_budget
from bertvsgpt.report.markdown import TITLE
from tests.report.conftest import B
from tests.report.fixtures import params

PNG = b"\x89PNG\r\n\x1a\n"


def headings(markdown: str) -> list[str]:
    return [line for line in markdown.splitlines() if line.startswith("## ")]


def test_sections_in_order(report):
    assert report.markdown.startswith(f"# {TITLE}\n")
    assert headings(report.markdown) == ["## What this run shows", "## Downstream tasks", "## By kind of task", "## Pre-training",
                                         "## Qualitative", "## Data", "## Provenance"]
    for sub in ("### All test metrics", "### Loss and intrinsic metrics vs tokens seen", "### Intrinsic metrics on held-out corpus text",
                "### Compute", "### The same prompts through both pre-trained models", "### Test errors", "### Sources",
                "### Contamination check", "### Data cards", "### Data sizes and training steps", "### Wall time per stage"):
        assert f"\n{sub}\n" in report.markdown, sub


def test_files_written(run_dir, report):
    out = run_dir / "reports"
    assert (out / "report.md").read_text() == report.markdown
    assert (out / "report.html").read_text() == report.html
    names = sorted(p.name for p in report.figures)
    assert names == ["group_scores.png", "pretrain_intrinsic.png", "pretrain_loss.png", "task_scores.png"]
    for p in report.figures:
        assert p.read_bytes().startswith(PNG) and p.stat().st_size > 5000
        assert f"](figures/{p.name})" in report.markdown


def test_headline_rows_have_task_and_metric_first(report):
    for task, metric in (("sentiment", "accuracy"), ("ner", "entity F1"), ("qa", "F1"), ("commonsense", "accuracy"), ("mt", "BLEU")):
        assert f"| {task} | {metric} |" in report.markdown


def test_html_is_self_contained(report):
    html = report.html
    assert html.startswith("<!DOCTYPE html>") and "<meta charset=\"utf-8\">" in html
    srcs = re.findall(r'<img src="([^"]+)"', html)
    assert len(srcs) == len(report.figures) and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert not re.search(r'(src|href)="(https?:)?//', html)  # nothing fetched from elsewhere
    assert "<script" not in html and "<table>" in html
    # text from the data is escaped, never interpreted
    assert "Tiny reviews | with a pipe" in html


def test_metrics_file_numbers(run_dir, report):
    m = report.metrics
    json.dumps(m)
    s = m["tasks"]["sentiment"]
    assert s["bert_minus_gpt"] == 100.0 and s["bert_minus_gpt_p"] == pytest.approx(round(1 / (B + 1), 4))
    assert s["test_accuracy"]["bert"] == 100.0 and s["test_accuracy"]["gpt-scratch"] == 40.0 and s["gpt_gain"] == -40.0
    # mt: sacreBLEU (default 13a BLEU) on each model's written test predictions, averaged over the seeds
    bleu = {}
    for model in ("bert", "gpt", "bert-scratch", "gpt-scratch"):
        runs = sorted((run_dir / "data" / "finetune" / model / "mt").glob("seed_*/predictions.parquet"))
        assert len(runs) == 2
        scores = [sacrebleu.corpus_bleu(f["hypothesis"].to_list(), [f["reference"].to_list()]).score
                  for f in map(pl.read_parquet, runs)]
        bleu[model] = sum(scores) / len(scores)
        assert m["tasks"]["mt"]["test_bleu"][model] == pytest.approx(bleu[model], abs=0.005 + 1e-9)  # shown to 2 decimals
    assert 0 < bleu["gpt"] < bleu["bert"] < 100  # the fixture's hypotheses are partly right: a value that can be wrong
    mt = m["tasks"]["mt"]
    assert mt["bert_minus_gpt"] == pytest.approx(bleu["bert"] - bleu["gpt"], abs=0.005 + 1e-9)
    assert mt["bert_gain"] == pytest.approx(bleu["bert"] - bleu["bert-scratch"], abs=0.005 + 1e-9)
    assert mt["gpt_gain"] == pytest.approx(bleu["gpt"] - bleu["gpt-scratch"], abs=0.005 + 1e-9)
    flat = [v for t in m["tasks"].values() for v in t.values()] + [v for g in m["groups"].values() for v in g.values()]
    assert all(isinstance(v, (int, float, dict)) for v in flat)  # numbers only, for dvc metrics
    assert m["tasks"]["commonsense"]["bert_minus_gpt_p"] == 1.0
    assert set(m["groups"]) == {"classification", "token-level", "span/choice", "generation", "overall"}


def test_findings_are_generated_from_the_numbers(report):
    section = report.markdown.split("## What this run shows")[1].split("## ")[0]
    assert f"BERT scores significantly higher than GPT (p < 0.05) on sentiment (100.0 points, p ≤ {1 / (B + 1):.3f})" in section
    assert "The difference between BERT and GPT is not significant on" in section and "commonsense (p 1.000)" in section
    assert f"On classification (sentiment), BERT wins: average 100.0 vs 0.0 (p ≤ {1 / (B + 1):.3f})." in section
    assert "GPT scored significantly below GPT-scratch on sentiment (−40.0 points)" in section
    assert "GPT used 1.50× BERT's training FLOPs and 1.50× its wall time" in section
    assert "At most 10.0 % of a task's test examples share 8 consecutive words with the pre-training corpus (sentiment)" in section


def test_contamination_section_by_hand(report):
    # one sentiment test text ("review number 3 says the film was good") is an 8-gram of a training document;
    # the held-out document containing all of them does not count; the mt targets have fewer than 8 words
    assert "| sentiment | 10 | 10 | 1 | 10.0 % |" in report.markdown
    assert "| mt | 4 | 0 | 0 | 0.0 % |" in report.markdown


def test_qualitative_errors_and_prompts(report):
    md = report.markdown
    assert "| The ___ was empty. | room (0.50), hall (0.25) | The **house was** |" in md
    assert "#### sentiment (classification; BERT seed 0, GPT seed 0)" in md
    errors = md.split("#### sentiment")[1].split("####")[0]
    rows = [line for line in errors.splitlines() if line.startswith("| GPT |")]
    assert len(rows) == 2  # BERT makes no sentiment error, GPT 2 drawn (errors_per_task)
    assert "| GPT | Who wrote it? | Alice | Alice | Bob |" in md  # each row: both models' answers


def test_data_cards_and_sources(report):
    md = report.markdown
    assert "| tiny_reviews | sentiment | local: `/data/tiny_reviews.txt` | CC0 | train 8, dev 1, test 10 |" in md
    assert "#### Data card: tiny_corpus" in md  # the cards' own headings, demoted under ### Data cards


def test_no_budget_section_without_budget_runs(report):
    assert "Score vs pre-training compute" not in report.markdown
    assert not (report.figures[0].parent / "score_vs_compute.png").exists()


def test_budget_section_and_figure_when_budget_runs_exist(tmp_path, run_dir):
    import shutil

    root = tmp_path / "run"
    shutil.copytree(run_dir, root, ignore=shutil.ignore_patterns("reports"))
    # the finetune_budget stage's layout: <arch>/step_<n>/seed_<s>/metrics.json, task = budget.task
    for arch, step, frac, acc in (("bert", 25, 0.25, 0.6), ("bert", 50, 0.5, 0.8), ("gpt", 25, 0.25, 0.1)):
        for seed, delta in ((0, 0.0), (1, 0.1)):
            d = root / "data" / "finetune_budget" / arch / f"step_{step:07d}" / f"seed_{seed}"
            d.mkdir(parents=True)
            d.joinpath("metrics.json").write_text(json.dumps({
                "primary_metric": "test_accuracy", "test_accuracy": acc + delta, "pretrain_fraction": frac,
                "pretrain_flops": frac * 2.0e13, "pretrain_step": step}))
    p = params()
    p.budget = type(p.finetune)(task="sentiment")
    inputs = load_inputs(root, p)
    pts = {(q.arch, q.fraction, q.source): q for q in inputs.budget}
    assert pts[("bert", 0.5, "checkpoint")].mean == pytest.approx(0.85) and pts[("bert", 0.5, "checkpoint")].n == 2
    assert pts[("bert", 0.5, "checkpoint")].flops == pytest.approx(1.0e13)
    assert pts[("bert", 0.0, "scratch")].mean == pytest.approx(1.0)  # BERT-scratch on sentiment
    assert pts[("gpt", 1.0, "final")].flops == pytest.approx(3.0e13) and pts[("gpt", 1.0, "final")].mean == 0.0
    report = render_report(inputs, root / "reports", ReportOptions(n_resamples=20, errors_per_task=0))
    assert "## Score vs pre-training compute" in report.markdown
    assert "| sentiment | BERT | 50 % | 1.00e+13 | accuracy | 85.0 ± 7.1 | checkpoint |" in report.markdown
    assert (root / "reports" / "figures" / "score_vs_compute.png").read_bytes().startswith(PNG)


def test_budget_accepts_the_fraction_task_layout(tmp_path):
    d = tmp_path / "bert" / "0.25" / "ner" / "seed_0"
    d.mkdir(parents=True)
    d.joinpath("metrics.json").write_text(json.dumps({"primary_metric": "test_entity_f1", "test_entity_f1": 0.3}))
    (pt,) = load_budget(tmp_path, {"bert": {"train_flops": 4.0e12}})
    assert (pt.task, pt.fraction, pt.flops, pt.mean, pt.n) == ("ner", 0.25, 1.0e12, 0.3, 1)
    assert load_budget(tmp_path / "missing", {}) == []


def test_rendering_twice_gives_the_same_report(run_dir, report, inputs, options, tmp_path):
    again = render_report(inputs, tmp_path / "again", options)
    assert again.markdown == report.markdown  # fixed bootstrap seed: same p-values, same errors drawn
    assert [p.read_bytes() for p in again.figures] == [p.read_bytes() for p in report.figures]


def test_scratch_gains_are_described_only_when_scratch_twins_ran(run_dir, report, options, tmp_path):
    described = ("gains over scratch are differences", "randomly initialised twin")
    assert all(s in report.markdown for s in described)
    p = params()
    p.finetune.models = ["bert", "gpt"]  # e.g. the quick preset: no scratch twins
    without = render_report(load_inputs(run_dir, p), tmp_path / "reports", options).markdown
    assert not any(s in without for s in described)
    assert "BERT − GPT is a difference in points" in without


def test_budget_ends_average_the_checkpoints_seeds(tmp_path):
    """The checkpoints are fine-tuned with seed 0 (from the first pre-training run): the scratch and final ends are the
    main runs' seed 0 too, not their mean over every seed."""
    import polars as pl

    d = tmp_path / "bert" / "step_100" / "seed_0"
    d.mkdir(parents=True)
    d.joinpath("metrics.json").write_text(json.dumps({"task": "ner", "pretrain_fraction": 0.5,
                                                      "primary_metric": "test_entity_f1", "test_entity_f1": 0.3}))
    summary = pl.DataFrame({"model": ["bert", "bert-scratch"], "task": ["ner"] * 2, "metric": ["test_entity_f1"] * 2,
                            "mean": [0.35, 0.15], "std": [0.07, 0.07], "n": [2, 2]})
    per_seed = pl.DataFrame({"model": ["bert", "bert", "bert-scratch", "bert-scratch"], "task": ["ner"] * 4,
                             "seed": [0, 1, 0, 1], "metric": ["test_entity_f1"] * 4, "value": [0.4, 0.3, 0.2, 0.1]})
    pts = {q.source: q for q in load_budget(tmp_path, {"bert": {"train_flops": 4.0e12}}, summary, per_seed=per_seed)}
    assert (pts["final"].mean, pts["final"].n) == (pytest.approx(0.4), 1)
    assert (pts["scratch"].mean, pts["scratch"].n) == (pytest.approx(0.2), 1)
    pts = {q.source: q for q in load_budget(tmp_path, {"bert": {"train_flops": 4.0e12}}, summary)}
    assert (pts["final"].mean, pts["final"].n) == (pytest.approx(0.35), 2)  # without per-seed scores: the mean
