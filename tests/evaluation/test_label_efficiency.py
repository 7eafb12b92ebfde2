"""Label efficiency: the training split cut to a fraction of its labels, and the stage's results gathered into one table."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from bertvsgpt.evaluation.label_efficiency import FRACTION_DIR, collect_label_efficiency, with_label_fraction


def task_table(n_a: int = 15, n_b: int = 5) -> pl.DataFrame:
    """A classification task: ``n_a`` + ``n_b`` training rows (labels a, b), 4 dev and 6 test rows."""
    labels = ["a"] * n_a + ["b"] * n_b + ["a", "b"] * 2 + ["a", "b", "b"] * 2
    splits = ["train"] * (n_a + n_b) + ["dev"] * 4 + ["test"] * 6
    return pl.DataFrame({"id": list(range(len(labels))), "text": [f"t{i}" for i in range(len(labels))], "label": labels, "split": splits})


def _split(t: pl.DataFrame, split: str) -> pl.DataFrame:
    return t.filter(pl.col("split") == split)


@pytest.mark.parametrize(("fraction", "n_a", "n_b", "expected"), [(0.2, 15, 5, 4), (0.25, 15, 5, 5), (0.1, 15, 5, 2), (0.3, 7, 3, 3),
                                                                 (0.01, 15, 5, 1), (1.0, 15, 5, 20), (0.07, 75, 25, 7)])
def test_keeps_ceil_of_fraction_times_the_train_size(fraction, n_a, n_b, expected):
    part = with_label_fraction(task_table(n_a, n_b), fraction)
    assert _split(part, "train").height == expected  # 0.07 * 100 = 7.000000000000001 still keeps 7


def test_the_fraction_is_a_subset_of_the_main_runs_capped_training_rows():
    from bertvsgpt.config.schema import FinetuneConfig, task_config
    from bertvsgpt.tasks.data import cap_splits
    from bertvsgpt.tasks.registry import main_run_training

    table = task_table(60, 20)
    main = main_run_training(table, task_config(max_train_examples=40), FinetuneConfig())
    assert _split(main, "train").equals(_split(cap_splits(table, 40, None), "train"))  # what the main run trains on
    part = with_label_fraction(main, 0.25)
    assert _split(part, "train").height == 10
    assert set(_split(part, "train")["id"]) <= set(_split(main, "train")["id"])


def test_dev_and_test_untouched():
    table = task_table()
    part = with_label_fraction(table, 0.2)
    for split in ("dev", "test"):
        assert _split(part, split).sort("id").equals(_split(table, split).sort("id"))


def test_train_rows_are_a_stratified_seeded_subset():
    table = task_table(15, 5)  # 75 % a, 25 % b
    part = _split(with_label_fraction(table, 0.2), "train")
    assert part.get_column("label").value_counts().sort("label").rows() == [("a", 3), ("b", 1)]
    assert set(part.get_column("id")) <= set(_split(table, "train").get_column("id"))  # training rows only
    assert part.equals(_split(with_label_fraction(table, 0.2), "train"))  # same seed: same rows
    other = [_split(with_label_fraction(table, 0.4, seed=s), "train").get_column("id").to_list() for s in range(5)]
    assert len({tuple(o) for o in other}) > 1  # the seed changes which rows


def test_rare_label_kept_while_the_budget_allows():
    part = _split(with_label_fraction(task_table(19, 1), 0.1), "train")  # 2 rows: one of each label
    assert sorted(part.get_column("label")) == ["a", "b"]


@pytest.mark.parametrize("fraction", [0.0, -0.1, 1.5])
def test_fraction_outside_zero_one_is_refused(fraction):
    with pytest.raises(ValueError, match="not in \\(0, 1\\]"):
        with_label_fraction(task_table(), fraction)


def write_runs(root: Path) -> Path:
    for model, task, fraction, seed, metric, score, n in (
        ("bert", "sentiment", 0.1, 0, "test_accuracy", 0.7, 60), ("bert", "sentiment", 0.1, 1, "test_accuracy", 0.8, 60),
        ("bert", "sentiment", 0.5, 0, "test_accuracy", 0.9, 300), ("gpt", "sentiment", 0.1, 0, "test_accuracy", 0.6, 60),
        ("gpt", "ner", 0.1, 0, "test_entity_f1", 0.2, 60),
    ):
        d = root / model / task / FRACTION_DIR.format(fraction) / f"seed_{seed}"
        d.mkdir(parents=True)
        (d / "metrics.json").write_text(json.dumps({"seed": seed, "primary_metric": metric, metric: score, "test_macro_f1": 0.1,
                                                    "label_fraction": fraction, "n_train": n, "n_dev": 10}))
    return root


def test_collect_one_row_per_model_task_fraction_seed(tmp_path):
    root = write_runs(tmp_path / "label_efficiency")
    assert (root / "bert" / "sentiment" / "frac_0.1" / "seed_0").is_dir()  # the stage's layout
    t = collect_label_efficiency(root, ["bert", "gpt"], ["sentiment", "ner"])
    assert t.columns == ["model", "task", "label_fraction", "n_train", "seed", "metric", "score"]
    assert sorted(t.rows()) == sorted([
        ("bert", "sentiment", 0.1, 60, 0, "test_accuracy", 0.7), ("bert", "sentiment", 0.1, 60, 1, "test_accuracy", 0.8),
        ("bert", "sentiment", 0.5, 300, 0, "test_accuracy", 0.9), ("gpt", "sentiment", 0.1, 60, 0, "test_accuracy", 0.6),
        ("gpt", "ner", 0.1, 60, 0, "test_entity_f1", 0.2)])
    assert collect_label_efficiency(root, ["gpt"], ["ner"]).height == 1  # only what is asked for


def test_collect_without_results_is_an_empty_typed_table(tmp_path):
    t = collect_label_efficiency(tmp_path / "missing", ["bert"], ["sentiment"])
    assert t.height == 0 and t.schema["score"] == pl.Float64 and t.schema["n_train"] == pl.Int64
    t.write_parquet(tmp_path / "le.parquet")  # the evaluate stage writes it as is
    assert pl.read_parquet(tmp_path / "le.parquet").schema == t.schema


def test_the_stage_fine_tunes_the_fractions_with_the_label_efficiency_protocol(tmp_path, monkeypatch):
    """``finetune_labels`` hands every fraction run ``label_efficiency.protocol(finetune)`` (its validation
    cadence), not the main runs' protocol."""
    import contextlib

    import pipeline.finetune_labels as stage
    from bertvsgpt.cli import StageArgs
    from bertvsgpt.config import load_params

    params = load_params(Path(__file__).resolve().parents[2] / "params.yaml",
                         ["label_efficiency.validate_every_steps=7", "label_efficiency.tasks=[sentiment]",
                          "label_efficiency.fractions=[0.5]"])
    seen = []
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(stage, "stage_run", lambda *a, **k: contextlib.nullcontext(None))
    monkeypatch.setattr(stage.pl, "read_parquet", lambda path: task_table())
    monkeypatch.setattr(stage, "finetune_task", lambda model_dir, run, **k: seen.append(run) or {"train_seconds": 1.0})
    stage.main(StageArgs(params=params, item={"model": "bert"}))
    assert [r.ft_cfg.validate_every_steps for r in seen] == [7]
    assert seen[0].ft_cfg == params.label_efficiency.protocol(params.finetune)
    assert json.loads((tmp_path / "data/label_efficiency/bert/sentiment/frac_0.5/seed_0/metrics.json").read_text())["label_fraction"] == 0.5
