"""Fine-tuning results table, its summary over seeds, and the DVC metrics file."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import polars as pl
import pytest

from bertvsgpt.evaluation.aggregate import collect_finetune, summarise
from bertvsgpt.evaluation.metrics_file import flatten_metrics, metrics_summary

# (model, task, seed) -> metrics.json content
RESULTS = {
    ("bert", "sentiment", 0): {"test_accuracy": 0.7, "test_macro_f1": 0.5, "dev_macro_f1": 0.6, "epochs": 3, "primary_metric": "test_accuracy"},
    ("bert", "sentiment", 1): {"test_accuracy": 0.8, "test_macro_f1": 0.5, "dev_macro_f1": 0.6},
    ("bert", "sentiment", 2): {"test_accuracy": 0.9, "test_macro_f1": 0.5, "dev_macro_f1": 0.6},
    ("gpt", "sentiment", 0): {"test_accuracy": 0.6, "test_macro_f1": 0.4, "dev_macro_f1": 0.45},
    ("gpt", "sentiment", 10): {"test_accuracy": 0.7, "test_macro_f1": 0.6, "dev_macro_f1": 0.55},
    ("bert", "topic", 3): {"test_accuracy": 0.25, "test_macro_f1": 0.2},
    ("gpt", "topic", 3): {"test_accuracy": 0.5, "test_macro_f1": 0.1, "best_epoch": 2},
}


def write_results(root: Path, results=RESULTS) -> Path:
    for (model, task, seed), metrics in results.items():
        d = root / model / task / f"seed_{seed}"
        d.mkdir(parents=True)
        (d / "metrics.json").write_text(json.dumps(metrics))
    return root


@pytest.fixture
def table(tmp_path):
    return collect_finetune(write_results(tmp_path / "finetune"), ["bert", "gpt"], ["sentiment", "topic"])


def test_collect_reads_every_test_metric_of_every_seed(table):
    assert table.columns == ["model", "task", "seed", "metric", "value", "primary"]
    assert table.schema["seed"] == pl.Int64 and table.schema["value"] == pl.Float64
    expected = sorted(
        (m, t, s, k, float(v), k == metrics.get("primary_metric"))
        for (m, t, s), metrics in RESULTS.items()
        for k, v in metrics.items()
        if k.startswith("test_")
    )
    assert sorted(table.iter_rows()) == expected
    # 3 x 2 (bert sentiment) + 2 x 2 (gpt sentiment) + 2 + 2 (topic)
    assert table.height == 14
    assert set(table["metric"]) == {"test_accuracy", "test_macro_f1"}  # dev and bookkeeping keys ignored
    assert table.filter(pl.col("primary")).height == 1


def test_collect_parses_multi_digit_seeds(table):
    assert sorted(set(table.filter(pl.col("model") == "gpt", pl.col("task") == "sentiment")["seed"])) == [0, 10]


def test_collect_only_reads_requested_models_and_tasks(tmp_path):
    root = write_results(tmp_path / "ft")
    t = collect_finetune(root, ["gpt"], ["topic"])
    assert set(t["model"]) == {"gpt"} and set(t["task"]) == {"topic"} and t.height == 2


def test_collect_missing_results_name_the_folder(tmp_path):
    root = write_results(tmp_path / "ft")
    (root / "gpt" / "ner").mkdir()  # bert has sentiment results, but none for ner
    with pytest.raises(FileNotFoundError, match=re.escape(str(root / "bert" / "ner"))):
        collect_finetune(root, ["bert", "gpt"], ["sentiment", "ner"])


def test_collect_empty_task_folder_names_the_folder(tmp_path):
    root = write_results(tmp_path / "ft")
    (root / "bert" / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=re.escape(str(root / "bert" / "empty"))):
        collect_finetune(root, ["bert"], ["empty"])


def test_collect_with_no_metric_rows_keeps_schema(tmp_path):
    root = write_results(tmp_path / "ft", {("bert", "t", 0): {"loss": 1.0}})
    t = collect_finetune(root, ["bert"], ["t"])
    assert t.height == 0 and t.columns == ["model", "task", "seed", "metric", "value", "primary"]


def _row(summary: pl.DataFrame, model: str, task: str, metric: str) -> dict:
    rows = summary.filter(pl.col("model") == model, pl.col("task") == task, pl.col("metric") == metric)
    assert rows.height == 1
    return rows.row(0, named=True)


def test_summarise_mean_sample_std_and_count(table):
    s = summarise(table)
    assert s.columns == ["model", "task", "metric", "mean", "std", "n", "primary"]
    assert _row(s, "bert", "sentiment", "test_accuracy")["primary"] and not _row(s, "gpt", "sentiment", "test_accuracy")["primary"]
    assert s.height == 2 * 2 + 2 * 2  # (model, task, metric) groups
    # bert sentiment accuracy: 0.7, 0.8, 0.9 -> mean 0.8, sample std sqrt((0.01 + 0 + 0.01) / 2) = 0.1
    r = _row(s, "bert", "sentiment", "test_accuracy")
    assert r["mean"] == pytest.approx(0.8) and r["std"] == pytest.approx(0.1) and r["n"] == 3
    # constant values -> std 0
    r = _row(s, "bert", "sentiment", "test_macro_f1")
    assert r["mean"] == pytest.approx(0.5) and r["std"] == pytest.approx(0.0) and r["n"] == 3
    # gpt sentiment accuracy: 0.6, 0.7 -> mean 0.65, std sqrt(2 * 0.05**2 / 1) = sqrt(0.005)
    r = _row(s, "gpt", "sentiment", "test_accuracy")
    assert r["mean"] == pytest.approx(0.65) and r["std"] == pytest.approx(math.sqrt(0.005)) and r["n"] == 2
    # gpt sentiment macro-F1: 0.4, 0.6 -> mean 0.5, std sqrt(0.02) (ddof=1; ddof=0 would give 0.1)
    r = _row(s, "gpt", "sentiment", "test_macro_f1")
    assert r["mean"] == pytest.approx(0.5) and r["std"] == pytest.approx(math.sqrt(0.02)) and r["n"] == 2
    # a single seed: std 0, not null
    r = _row(s, "gpt", "topic", "test_accuracy")
    assert r["mean"] == pytest.approx(0.5) and r["std"] == 0.0 and r["n"] == 1


def test_summarise_is_sorted_by_task_metric_model(table):
    s = summarise(table)
    keys = list(zip(s["task"], s["metric"], s["model"]))
    assert keys == sorted(keys)


def test_metrics_summary_shape_and_rounding(table):
    s = summarise(table)
    intrinsic = {"bert": {"mlm_accuracy": 0.123456, "masked_tokens": 100}, "gpt": {"perplexity": 12.345678}}
    m = metrics_summary(intrinsic, s)
    assert set(m) == {"pretrain", "finetune"}
    assert m["pretrain"] == {"bert": {"mlm_accuracy": 0.1235, "masked_tokens": 100.0}, "gpt": {"perplexity": 12.3457}}
    assert set(m["finetune"]) == {"sentiment", "topic"}
    assert set(m["finetune"]["sentiment"]) == {"bert", "gpt"}
    # only test_* metrics, dev metrics are left out
    assert m["finetune"]["sentiment"]["bert"] == {"test_accuracy": 0.8, "test_macro_f1": 0.5}
    assert m["finetune"]["sentiment"]["gpt"] == {"test_accuracy": 0.65, "test_macro_f1": 0.5}
    assert m["finetune"]["topic"]["bert"] == {"test_accuracy": 0.25, "test_macro_f1": 0.2}
    json.dumps(m)  # JSON-serialisable


def test_metrics_summary_rounds_means_to_four_digits():
    t = pl.DataFrame(
        {"model": ["bert"] * 3, "task": ["x"] * 3, "seed": [0, 1, 2], "metric": ["test_accuracy"] * 3, "value": [1.0, 0.0, 0.0], "primary": [True] * 3}
    )
    m = metrics_summary({}, summarise(t))
    assert m == {"pretrain": {}, "finetune": {"x": {"bert": {"test_accuracy": 0.3333}}}}


def test_flatten_metrics_dotted_numbers_only():
    nested = {
        "pretrain": {"bert": {"mlm_accuracy": 0.5, "masked_tokens": 7, "precision": "32-true", "ok": True}},
        "finetune": {"sentiment": {"gpt": {"test_accuracy": 0.25}}},
        "top": 3,
    }
    flat = flatten_metrics(nested)
    assert flat == {
        "pretrain.bert.mlm_accuracy": 0.5,
        "pretrain.bert.masked_tokens": 7.0,
        "finetune.sentiment.gpt.test_accuracy": 0.25,
        "top": 3.0,
    }
    assert all(type(v) is float for v in flat.values())
    assert flatten_metrics({"a": {"b": 1}}, prefix="p") == {"p.a.b": 1.0}
    assert flatten_metrics({}) == {}


# --- the classical baselines ------------------------------------------------------------------------


def write_baseline_results(root: Path) -> Path:
    for task, name, metrics in (
        ("sentiment", "majority", {"baseline": "majority", "primary_metric": "test_accuracy", "test_accuracy": 0.5,
                                   "test_macro_f1": 0.33, "reference": True, "seed": 42, "n_test": 10, "labels": ["a", "b"]}),
        ("sentiment", "tfidf-lr", {"baseline": "tfidf-lr", "primary_metric": "test_accuracy", "test_accuracy": 0.8,
                                   "test_macro_f1": 0.79, "reference": False, "seed": 42, "C": 10.0}),
        ("topic", "majority", {"primary_metric": "test_accuracy", "test_accuracy": 0.25}),
    ):
        d = root / task / name
        d.mkdir(parents=True)
        (d / "metrics.json").write_text(json.dumps(metrics))
    return root


def test_collect_baselines_rows_named_baseline_colon_name(tmp_path):
    from bertvsgpt.evaluation.aggregate import collect_baselines

    t = collect_baselines(write_baseline_results(tmp_path / "baselines"), ["sentiment", "topic"])
    assert t.columns == ["model", "task", "seed", "metric", "value", "primary"]
    assert sorted(t.iter_rows()) == sorted([
        ("baseline:majority", "sentiment", 42, "test_accuracy", 0.5, True),
        ("baseline:majority", "sentiment", 42, "test_macro_f1", 0.33, False),
        ("baseline:tfidf-lr", "sentiment", 42, "test_accuracy", 0.8, True),
        ("baseline:tfidf-lr", "sentiment", 42, "test_macro_f1", 0.79, False),
        ("baseline:majority", "topic", 0, "test_accuracy", 0.25, True),  # no recorded seed: 0
    ])


def test_baselines_summarised_beside_the_models(table, tmp_path):
    from bertvsgpt.evaluation.aggregate import collect_baselines

    s = summarise(pl.concat([table, collect_baselines(write_baseline_results(tmp_path / "b"), ["sentiment", "topic"])]))
    r = _row(s, "baseline:tfidf-lr", "sentiment", "test_accuracy")
    assert r["mean"] == pytest.approx(0.8) and r["std"] == 0.0 and r["n"] == 1 and r["primary"]
    assert _row(s, "bert", "sentiment", "test_accuracy")["mean"] == pytest.approx(0.8)  # the models' rows unchanged
    m = metrics_summary({}, s)
    assert m["finetune"]["sentiment"]["baseline:majority"] == {"test_accuracy": 0.5, "test_macro_f1": 0.33}


def test_collect_baselines_missing_task_names_the_folder(tmp_path):
    from bertvsgpt.evaluation.aggregate import collect_baselines

    root = write_baseline_results(tmp_path / "baselines")
    with pytest.raises(FileNotFoundError, match=re.escape(str(root / "ner")) + ".*baselines stage"):
        collect_baselines(root, ["sentiment", "ner"])


# --- label efficiency in metrics/evaluation.json ------------------------------------------------------


def test_metrics_summary_label_efficiency_means_per_fraction(table):
    labels = pl.DataFrame({"model": ["bert", "bert", "gpt"], "task": ["sentiment"] * 3, "label_fraction": [0.1, 0.1, 0.1],
                           "n_train": [60, 60, 60], "seed": [0, 1, 0], "metric": ["test_accuracy"] * 3, "score": [0.7, 0.8, 0.6]})
    m = metrics_summary({}, summarise(table), labels)
    assert m["label_efficiency"] == {"sentiment": {"bert": {"frac_0.1": 0.75}, "gpt": {"frac_0.1": 0.6}}}
    assert flatten_metrics(m)["label_efficiency.sentiment.bert.frac_0.1"] == 0.75
    assert "label_efficiency" not in metrics_summary({}, summarise(table), labels.clear())
    assert "label_efficiency" not in metrics_summary({}, summarise(table))


def test_metrics_summary_keeps_the_intrinsic_floors_numbers_only(table):
    m = metrics_summary({"bert": {"mlm_accuracy": 0.25, "unigram_accuracy": 0.05, "accuracy_over_unigram": 5.0, "note": "x"}},
                        summarise(table))
    assert m["pretrain"]["bert"] == {"mlm_accuracy": 0.25, "unigram_accuracy": 0.05, "accuracy_over_unigram": 5.0}
