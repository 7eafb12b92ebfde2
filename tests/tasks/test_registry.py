"""The task registry and driver: every kind is registered, caps are paired across models and applied
once, scratch dirs build random models."""

from __future__ import annotations

import json

import polars as pl
import pytest

from bertvsgpt.config.schema import FinetuneConfig, task_config
from bertvsgpt.kinds import TASK_TYPES
from bertvsgpt.tasks import registry
from bertvsgpt.tasks.data import cap_splits
from bertvsgpt.tasks.registry import finetune_task, kind_of, kinds
from bertvsgpt.tasks.options import TaskRun


def test_every_task_type_has_a_kind():
    assert set(kinds()) == set(TASK_TYPES)
    for name in TASK_TYPES:
        kind = kind_of(name)
        assert all(callable(getattr(kind, m)) for m in ("encode", "build", "score"))
        assert kind.primary_metric.startswith("test_")
    with pytest.raises(ValueError, match="unknown task type 'regression'"):
        kind_of("regression")


def _table() -> pl.DataFrame:
    splits = ["train"] * 50 + ["dev"] * 20 + ["test"] * 20
    return pl.DataFrame({"id": list(range(90)), "split": splits, "text": [f"t{i}" for i in range(90)]})


def test_cap_splits_is_a_fixed_subset_in_table_order():
    t = _table()
    a, b = cap_splits(t, 10, 5), cap_splits(t, 10, 5)
    assert a.equals(b)
    assert dict(a.group_by("split").len().iter_rows()) == {"train": 10, "dev": 5, "test": 5}
    for s in ("train", "dev", "test"):
        ids = a.filter(pl.col("split") == s)["id"].to_list()
        assert ids == sorted(ids) and set(ids) <= set(t.filter(pl.col("split") == s)["id"])
    assert cap_splits(t, None, None).equals(t)


def test_caps_keep_each_splits_label_distribution():
    labels = ["pos"] * 80 + ["neg"] * 20  # 80/20 in every split
    t = pl.DataFrame({"id": list(range(300)), "split": ["train"] * 100 + ["dev"] * 100 + ["test"] * 100,
                      "text": [f"t{i}" for i in range(300)], "label": labels * 3})
    capped = cap_splits(t, 50, 10)
    for split, n in (("train", 50), ("dev", 10), ("test", 10)):
        counts = dict(capped.filter(pl.col("split") == split).group_by("label").len().iter_rows())
        assert counts == {"pos": n * 4 // 5, "neg": n // 5}


def test_stratified_quota_rounds_by_largest_remainder_and_keeps_every_label():
    from bertvsgpt.tasks.data import stratified_quota

    assert stratified_quota({"p": 800, "n": 204}, 32) == {"n": 7, "p": 25}
    assert stratified_quota({"a": 5, "b": 1, "c": 1}, 3) == {"a": 1, "b": 1, "c": 1}
    assert stratified_quota({"a": 3, "b": 3}, 5) == {"a": 3, "b": 2}
    assert sum(stratified_quota({"x": 7, "y": 11, "z": 13}, 10).values()) == 10


def test_finetune_task_builds_scratch_models_and_applies_the_task_floor(tmp_path, monkeypatch):
    seen = {}

    def fake(kind, run, model_dir, arch, tokenizer, model_config=None, options=None):
        seen.update(kind=kind, model_dir=model_dir, arch=arch, config=model_config, min_steps=run.ft_cfg.min_steps, out_dir=run.out_dir)
        return {}

    import bertvsgpt.tasks.finetune as driver

    monkeypatch.setattr(driver, "finetune", fake)
    monkeypatch.setattr(registry, "load_tokenizer", lambda d: "tok")
    d = tmp_path / "gpt-scratch"
    d.mkdir()
    cfg = {"architecture": "gpt", "scratch": True, "vocab_size": 50, "n_layer": 1, "n_head": 1, "d_model": 8,
           "d_ff": 16, "max_seq_len": 16, "type_vocab_size": 0, "causal": True}
    (d / "config.json").write_text(json.dumps(cfg))
    task = task_config(type="classification", source="x", min_steps=123)
    finetune_task(d, TaskRun(_table(), task, FinetuneConfig(min_steps=7), 0, tmp_path / "out"))
    assert seen["kind"] is kinds()["classification"]
    assert seen["model_dir"] is None and seen["arch"] == "gpt" and seen["config"].d_model == 8
    assert seen["min_steps"] == 123 and seen["out_dir"] == tmp_path / "out"


def test_the_driver_applies_the_smaller_cap_once_before_encoding(tmp_path):
    from bertvsgpt.tasks.finetune import finetune

    seen = {}

    class Stop(Exception):
        pass

    class Recorder:
        primary_metric = "test_accuracy"

        def encode(self, table, ctx):
            seen["n"] = dict(table.group_by("split").len().iter_rows())
            raise Stop

    task = task_config(type="classification", source="x", max_train_examples=30, max_eval_examples=9)
    with pytest.raises(Stop):
        finetune(Recorder(), TaskRun(_table(), task, FinetuneConfig(max_train_examples=40, max_eval_examples=7), 0, tmp_path), None, "gpt", None)
    assert seen["n"] == {"train": 30, "dev": 7, "test": 7}


def test_the_run_fingerprint_follows_the_tokenizer_and_the_library_code(tmp_path, monkeypatch):
    """A scratch twin is its config alone, and a retrained tokenizer of the same size leaves that config byte for byte
    as it was: the tokenizer itself must be in the fingerprint, or the stage DVC re-runs returns the old result. So
    must the code the run executes (a metric or decoding fix)."""
    from bertvsgpt.tasks import registry
    from bertvsgpt.tasks.options import TaskRun

    d = tmp_path / "scratch"
    d.mkdir()
    (d / "config.json").write_text('{"scratch": true}')
    (d / "tokenizer.json").write_text('{"model": "cased"}')
    run = TaskRun(_table(), task_config(type="classification", source="s", max_length=16), FinetuneConfig(), 0, tmp_path / "o")
    fp = registry.run_fingerprint(d, run)
    assert registry.run_fingerprint(d, run) == fp
    (d / "tokenizer.json").write_text('{"model": "uncased"}')
    assert registry.run_fingerprint(d, run) != fp
    fp = registry.run_fingerprint(d, run)
    monkeypatch.setattr(registry, "source_fingerprint", lambda *parts: "edited")
    assert registry.run_fingerprint(d, run) != fp
    assert set(registry.SOURCES) >= {"tasks", "metrics", "models", "tokenization"}
