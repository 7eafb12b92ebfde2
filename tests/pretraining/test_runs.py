"""Several pre-training runs in one model folder (``runs.json``) and the run each fine-tuning seed starts from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bertvsgpt.pretraining.runs import PretrainingRun, pretraining_runs, record_run, run_dir, run_for_seed, write_runs_index


def fake_runs(model_dir: Path, seeds: list[int]) -> None:
    for i, seed in enumerate(seeds):
        folder = run_dir(model_dir, i, seed)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.json").write_text(json.dumps({"seed": seed}))
    write_runs_index(model_dir, seeds)


def test_the_first_run_is_the_folder_itself_the_others_below_runs(tmp_path):
    assert run_dir(tmp_path, 0, 42) == tmp_path
    assert run_dir(tmp_path, 1, 7) == tmp_path / "runs" / "seed-7"


def test_runs_index_round_trip(tmp_path):
    fake_runs(tmp_path, [42, 7, 3])
    assert json.loads((tmp_path / "runs.json").read_text())["runs"][1] == {"seed": 7, "path": "runs/seed-7"}
    assert pretraining_runs(tmp_path) == [PretrainingRun(42, tmp_path), PretrainingRun(7, tmp_path / "runs" / "seed-7"),
                                          PretrainingRun(3, tmp_path / "runs" / "seed-3")]


@pytest.mark.parametrize("index, seed", [(0, 42), (1, 7), (2, 42), (3, 7)])
def test_fine_tuning_seed_i_starts_from_run_i(tmp_path, index, seed):
    fake_runs(tmp_path, [42, 7])
    run = run_for_seed(tmp_path, index)
    assert run.seed == seed and json.loads((run.path / "config.json").read_text())["seed"] == seed


def test_a_folder_without_an_index_is_its_only_run(tmp_path):
    # a scratch twin, a published checkpoint, a single run from before pretrain.seeds
    assert [run_for_seed(tmp_path, i) for i in range(3)] == [PretrainingRun(None, tmp_path)] * 3


def test_an_index_naming_a_missing_run_is_refused(tmp_path):
    fake_runs(tmp_path, [42, 7])
    (tmp_path / "runs" / "seed-7" / "config.json").unlink()
    with pytest.raises(FileNotFoundError, match="seed 7 has no config.json"):
        pretraining_runs(tmp_path)


def test_record_run_names_the_seed_and_folder(tmp_path):
    record_run(tmp_path / "out", PretrainingRun(7, Path("data/models/gpt/runs/seed-7")))
    assert json.loads((tmp_path / "out" / "pretraining_run.json").read_text()) == {
        "pretrain_seed": 7, "model_dir": "data/models/gpt/runs/seed-7"}
