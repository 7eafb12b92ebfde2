"""benchmarks/finetune_time.py: a fine-tuning run's wall time split into training steps, validation, test
prediction and the rest, from Lightning's profiler on the stage's own code."""

from __future__ import annotations

import dataclasses
import math
from types import SimpleNamespace

import pytest

from benchmarks import finetune_time
from bertvsgpt.config.schema import FinetuneConfig, task_config
from bertvsgpt.models import BertForPreTraining, save_pretrained
from bertvsgpt.tokenization.train import train_wordpiece
from tests.tasks.test_classification import make_table, tiny_config


def test_split_profile_sums_each_part_of_the_recorded_actions():
    durations = {
        "run_training_batch": [0.5, 0.25, 0.25],
        "[Strategy]SingleDeviceStrategy.training_step": [0.2, 0.1, 0.1],  # inside run_training_batch: not counted twice
        "[_EvaluationLoop].val_next": [0.01, 0.01],
        "[Strategy]SingleDeviceStrategy.validation_step": [0.1, 0.1],
        "[LightningModule]TranslationModule.on_validation_epoch_end": [2.0],  # e.g. decoding + sacreBLEU
        "[Callback]RelocatableCheckpoint.on_validation_epoch_end": [0.3],  # a checkpoint save, not validation
        "[_PredictionLoop].predict_next": [0.05],
        "[Strategy]SingleDeviceStrategy.predict_step": [0.4],
    }
    parts = finetune_time.split_profile(durations)
    assert parts["steps"] == 3
    assert parts["train_s"] == pytest.approx(1.0)
    assert parts["validation_s"] == pytest.approx(2.22) and parts["validation_batches"] == 2
    assert parts["test_s"] == pytest.approx(0.45)


@pytest.fixture(scope="module")
def table():
    return make_table()


@pytest.fixture(scope="module")
def model_dir(table, tmp_path_factory):
    """A tiny random BERT with its WordPiece tokenizer, in the layout data/models/<model> has."""
    tok = train_wordpiece(table.get_column("text").to_list(), vocab_size=120, min_frequency=1)
    cfg = tiny_config("bert", tok.get_vocab_size())
    folder = save_pretrained(BertForPreTraining(cfg), cfg, tmp_path_factory.mktemp("model"))
    tok.save(str(folder / "tokenizer.json"))
    return folder


def test_a_real_run_is_split_into_its_steps_and_parts(tmp_path, table, model_dir):
    ft = FinetuneConfig(max_epochs=2, min_steps=0, batch_size=16, lr=3e-3, patience=3)
    params = SimpleNamespace(tasks={"toy": task_config(type="classification", source="synthetic", max_length=16)}, finetune=ft)
    row = finetune_time.time_task(model_dir, table, "toy", params, 0, tmp_path / "out")
    assert row["n_train"] == 160 and row["epochs"] == 2
    assert row["steps"] == 2 * math.ceil(160 / 16)
    assert row["train_s"] > 0 and row["validation_s"] > 0 and row["test_s"] > 0 and row["other_s"] > 0
    assert row["train_s"] + row["validation_s"] + row["test_s"] + row["other_s"] == pytest.approx(row["wall_s"])
    assert row["ms_per_step"] == pytest.approx(1000 * row["train_s"] / row["steps"])
    assert list((tmp_path / "out" / "profile").glob("*profile-0*"))  # Lightning's own report, out of the way
    assert row["metric"] == "test_accuracy" and 0.0 <= row["score"] <= 1.0
    table_md = finetune_time.markdown([row])
    assert table_md.splitlines()[-1].startswith(f"| **all** | {row['steps']} | 2 | 160 |")


def test_validating_on_a_step_cadence_skips_epochs(tmp_path, table, model_dir):
    """finetune.validate_every_steps as the stages run it: an epoch of 10 steps validated about every 30 steps is
    validated every 3rd epoch; a run of 6 epochs then validates twice (its profile holds 2 x the dev split's
    batches) instead of 6 times, and the row says so."""
    ft = FinetuneConfig(max_epochs=6, min_steps=0, batch_size=16, lr=3e-3, patience=10)
    task = task_config(type="classification", source="synthetic", max_length=16)
    params = SimpleNamespace(tasks={"toy": task}, finetune=ft)
    rows = {every: finetune_time.time_task(model_dir, table, "toy", params, 0, tmp_path / f"out{every}",
                                           dataclasses.replace(ft, validate_every_steps=every))
            for every in (None, 30)}
    dev_batches = math.ceil(40 / 16)
    assert {k: r["validation_batches"] for k, r in rows.items()} == {None: 6 * dev_batches, 30: 2 * dev_batches}
    assert {k: r["val_every"] for k, r in rows.items()} == {None: 1, 30: 3}
    assert "| toy | 60 | 6 (every 3) |" in finetune_time.markdown([rows[30]])


def test_a_missing_model_or_task_table_is_one_error_line_and_exit_2(tmp_path, monkeypatch, capsys):
    import shutil
    from pathlib import Path

    shutil.copy(Path(__file__).resolve().parents[2] / "params.yaml", tmp_path / "params.yaml")
    monkeypatch.chdir(tmp_path)
    assert finetune_time.main(["--model", "bert-scratch", "--tasks", "sentiment"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "error: data/prepared/tasks/sentiment.parquet is missing (run `make run`, or `dvc repro scratch@bert` for a scratch twin, first)"
    ]
    assert finetune_time.main(["--tasks", "nosuch"]) == 2
    assert capsys.readouterr().err.strip().startswith("error: --tasks: 'nosuch' is not a task of params.yaml")
    assert finetune_time.main(["--label-fraction", "1.5"]) == 2
    assert capsys.readouterr().err.strip() == "error: --label-fraction: 1.5 is not in (0, 1]"
    assert finetune_time.main(["--validate-every", "0"]) == 2
    assert capsys.readouterr().err.strip() == "error: --validate-every: 0 steps; give at least 1"
