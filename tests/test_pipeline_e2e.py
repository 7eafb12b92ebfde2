"""The whole chain, ``dvc repro`` in a temporary copy of the repository, on small local data."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.e2e_data import write_corpus, write_sentiment

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def small_params(data_dir: Path) -> dict:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["data"]["corpus"] = ["tiny_corpus"]
    params["data"]["sources"] = {
        "tiny_corpus": {"client": "local", "spec": str(data_dir / "corpus.txt"), "format": "text", "licence": "synthetic"},
        "tiny_reviews": {
            "client": "local",
            "spec": str(data_dir / "reviews.csv"),
            "format": "csv",
            "text_column": "sentence",
            "label_column": "polarity",
            "licence": "synthetic",
        },
    }
    params["data"]["heldout_fraction"] = 0.1
    params["tasks"]["sentiment"]["source"] = "tiny_reviews"
    params["tasks"]["sentiment"]["max_length"] = 24
    params["tokenizer"].update(vocab_size=400, min_frequency=1)
    params["model"].update(n_layer=1, n_head=2, d_model=32, d_ff=64, max_seq_len=32, dropout=0.0)
    params["pretrain"].update(max_tokens=3000, batch_size=8, seq_len=32, precision="32-true", log_every_n_steps=2)
    params["pretrain"]["bert"]["max_predictions_per_seq"] = 5
    params["finetune"].update(max_epochs=2, batch_size=16, lr=0.001, precision="32-true")
    params["evaluate"].update(max_heldout_tokens=2000)
    return params


def run(cmd: list[str], cwd: Path, env: dict) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    data_dir = tmp / "inputs"
    data_dir.mkdir()
    write_corpus(data_dir / "corpus.txt")
    write_sentiment(data_dir / "reviews.csv")
    repo = tmp / "repo"
    repo.mkdir()
    for name in ("dvc.yaml", "pipeline", "src"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, repo / name)
    (repo / "params.yaml").write_text(yaml.safe_dump(small_params(data_dir), sort_keys=False))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "PYTHONPATH": str(repo / "src")}
    env.pop("MLFLOW_TRACKING_URI", None)
    run(["dvc", "init", "--no-scm", "-q"], repo, env)
    run(["dvc", "config", "core.analytics", "false"], repo, env)
    first = run(["dvc", "repro"], repo, env)
    return repo, env, first


def test_repro_builds_the_report_with_both_models(workspace):
    repo, _, _ = workspace
    report = (repo / "reports" / "report.md").read_text()
    assert "| sentiment | accuracy |" in report
    metrics = json.loads((repo / "metrics" / "evaluation.json").read_text())
    for model in ("bert", "gpt"):
        acc = metrics["finetune"]["sentiment"][model]["test_accuracy"]
        assert 0.0 <= acc <= 1.0
        assert (repo / "data" / "models" / model / "model.safetensors").is_file()
    assert "mlm_accuracy" in metrics["pretrain"]["bert"] and "perplexity" in metrics["pretrain"]["gpt"]


def test_dvc_metrics_and_plots_render(workspace, tmp_path):
    repo, env, _ = workspace
    shown = run(["dvc", "metrics", "show", "--json"], repo, env).stdout
    assert "test_accuracy" in shown and "tokens_per_second" in shown
    run(["dvc", "plots", "show", "-o", str(tmp_path / "plots")], repo, env)
    html = (tmp_path / "plots" / "index.html").read_text()
    assert "plots/pretrain/bert.csv" in html and "plots/pretrain/gpt.csv" in html


def test_every_stage_is_an_mlflow_run(workspace):
    repo, _, _ = workspace
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{repo / 'mlflow.db'}")
    exp = client.get_experiment_by_name("bert-vs-gpt")
    runs = client.search_runs([exp.experiment_id], max_results=100)
    stages = {r.data.tags.get("stage") for r in runs}
    assert {"fetch", "prepare", "tokenizer", "pretrain", "finetune", "evaluate", "report"} <= stages
    pre = [r for r in runs if r.data.tags.get("stage") == "pretrain"]
    assert all("model.d_model" in r.data.params for r in pre)
    assert any(k.startswith("train/") for r in pre for k in r.data.metrics)


def test_second_repro_is_a_fast_noop(workspace):
    repo, env, _ = workspace
    t0 = time.perf_counter()
    proc = run(["dvc", "repro"], repo, env)
    elapsed = time.perf_counter() - t0
    assert "Running stage" not in proc.stdout
    print(f"no-op dvc repro: {elapsed:.2f} s")


def test_finetune_param_change_reruns_only_downstream(workspace):
    repo, env, _ = workspace
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["finetune"]["lr"] = 0.002
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    proc = run(["dvc", "repro"], repo, env)
    ran = {line.split("'")[1] for line in proc.stdout.splitlines() if line.startswith("Running stage")}
    # evaluate always re-runs; report re-runs only if the evaluation outputs changed
    assert {"finetune@bert-sentiment", "finetune@gpt-sentiment", "evaluate"} <= ran
    assert ran <= {"finetune@bert-sentiment", "finetune@gpt-sentiment", "evaluate", "report"}
