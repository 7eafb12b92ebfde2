"""Two pre-training runs per objective (``pretrain.seeds``) through the chain: ``dvc repro report`` in a temporary copy.

GPT is pre-trained with seeds 42 and 7 and fine-tuned on one cheap task with fine-tuning seeds 0 and 1: seed 0
must start from the run of seed 42 (``data/models/gpt``), seed 1 from the run of seed 7
(``data/models/gpt/runs/seed-7``); the evaluation averages the intrinsic metrics over both runs and keeps each,
and the report's intrinsic table lists each run. The workspace is
:func:`tests.reliability.workspace.make_repo`'s (synthetic data, a one-layer model, a 2,048-token budget).
"""

from __future__ import annotations

import json

import pytest
from safetensors.torch import load_file

from tests.reliability.workspace import make_repo, run, stage_env

pytestmark = pytest.mark.slow

TASK = "sentiment"
SEEDS = [42, 7]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pretrain-seeds")
    repo = make_repo(tmp, archs=("gpt",), tasks=(TASK,), params_overrides={
        "pretrain.seeds": SEEDS,
        "finetune.seeds": [0, 1],
        "finetune.models": ["gpt"],
        "pretrain.checkpoint_fractions": [],  # no score-vs-compute fine-tuning: not what this test is about
        "label_efficiency.fractions": [0.5],
        "label_efficiency.tasks": [TASK],
        "report.bootstrap_resamples": 50,
        "report.errors_per_task": 1,
    })
    env = stage_env(repo, MLFLOW_TRACKING_URI=(tmp / "mlruns").as_uri(), MLFLOW_ALLOW_FILE_STORE="true")
    run(["dvc", "init", "--no-scm", "-q"], repo, env)
    run(["dvc", "config", "core.analytics", "false"], repo, env)
    run(["dvc", "repro", "report"], repo, env, timeout=1800)
    return repo


def test_pretrain_writes_one_run_per_seed(workspace):
    models = workspace / "data" / "models" / "gpt"
    index = json.loads((models / "runs.json").read_text())
    assert index == {"runs": [{"seed": 42, "path": "."}, {"seed": 7, "path": "runs/seed-7"}]}
    first, second = load_file(models / "model.safetensors"), load_file(models / "runs" / "seed-7" / "model.safetensors")
    assert first.keys() == second.keys()
    assert any(not first[k].equal(second[k]) for k in first)  # another seed, other weights
    assert json.loads((models / "summary.json").read_text())["seed"] == 42
    assert json.loads((models / "runs" / "seed-7" / "summary.json").read_text())["seed"] == 7
    metrics = json.loads((workspace / "metrics" / "pretrain" / "gpt.json").read_text())
    assert metrics["seed"] == 42 and {k: v["seed"] for k, v in metrics["runs"].items()} == {"seed-42": 42, "seed-7": 7}


def test_fine_tuning_seed_i_starts_from_pretraining_run_i(workspace):
    out = workspace / "data" / "finetune" / "gpt" / TASK
    started = {s: json.loads((out / f"seed_{s}" / "pretraining_run.json").read_text()) for s in (0, 1)}
    assert started[0] == {"pretrain_seed": 42, "model_dir": "data/models/gpt"}
    assert started[1] == {"pretrain_seed": 7, "model_dir": "data/models/gpt/runs/seed-7"}


def test_evaluation_averages_the_intrinsic_metrics_over_the_runs(workspace):
    intrinsic = json.loads((workspace / "data" / "evaluation" / "intrinsic.json").read_text())["gpt"]
    runs = intrinsic["runs"]
    assert [r["pretrain_seed"] for r in runs] == SEEDS
    assert runs[0]["cross_entropy"] != runs[1]["cross_entropy"]
    assert intrinsic["cross_entropy"] == pytest.approx((runs[0]["cross_entropy"] + runs[1]["cross_entropy"]) / 2)
    assert runs[0]["unigram_entropy"] == runs[1]["unigram_entropy"]  # the same held-out positions


def test_report_lists_each_pretraining_run(workspace):
    md = (workspace / "reports" / "report.md").read_text()
    assert "each pre-training run" in md
    assert "Pre-training runs per objective: 2 (seeds 42, 7)" in md
