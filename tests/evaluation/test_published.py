"""The evaluate stage's collection of the published checkpoints' records (data/evaluation/published.json)."""

from __future__ import annotations

import json

import pytest

from bertvsgpt.evaluation.published import RECORD, collect_published

MINILM = {"name": "minilm", "family": "bert", "model_type": "bert", "parameters": 22_893_116, "non_embedding_parameters": 10_975_292,
          "initialised": ["masked LM head"], "added_tokens": [], "description": "a sentence encoder",
          "source": {"client": "pip", "spec": "pkg==1", "sha256": "ab" * 32, "licence": "Apache-2.0"}}
PUBGPT = {"name": "pubgpt", "family": "gpt", "model_type": "gpt2", "parameters": 1000, "non_embedding_parameters": 10,
          "initialised": [], "added_tokens": ["<|start|>"], "description": "", "hub": "gpt2"}


@pytest.fixture
def models_dir(tmp_path):
    root = tmp_path / "models"
    for name, record in (("minilm", {**MINILM, "checkpoint": "data/.minilm.x/minilm/model.zip"}), ("pubgpt", PUBGPT)):
        (root / name).mkdir(parents=True)
        (root / name / RECORD).write_text(json.dumps(record))
    for ours in ("bert", "gpt"):  # our own models: no record
        (root / ours).mkdir()
        (root / ours / "config.json").write_text("{}")
    return root


def test_records_of_the_fine_tuned_published_checkpoints_in_model_order(models_dir):
    got = collect_published(models_dir, ["bert", "pubgpt", "gpt", "minilm"], expected=("minilm", "pubgpt"))
    assert list(got) == ["pubgpt", "minilm"]
    assert got["pubgpt"] == PUBGPT
    assert got["minilm"] == MINILM  # the conversion's scratch path dropped, the rest as recorded


def test_only_the_models_of_the_run(models_dir):
    assert collect_published(models_dir, ["bert", "gpt", "bert-scratch", "gpt-scratch"], expected=("minilm", "pubgpt")) == {}
    assert list(collect_published(models_dir, ["bert", "minilm"])) == ["minilm"]


def test_a_configured_checkpoint_without_its_record_was_not_converted(models_dir):
    with pytest.raises(FileNotFoundError, match=r"models/tiny/published.json .*dvc repro published@tiny"):
        collect_published(models_dir, ["bert", "tiny"], expected=("tiny",))
    assert collect_published(models_dir, ["bert", "tiny"]) == {}  # not configured as published: one of ours


def test_a_record_that_is_not_an_object_is_refused(models_dir):
    (models_dir / "minilm" / RECORD).write_text("[1, 2]")
    with pytest.raises(ValueError, match="expected a JSON object"):
        collect_published(models_dir, ["minilm"])
