"""The whole chain, ``dvc repro`` in a temporary copy of the repository, on small local data.

Every task kind runs once for a pre-trained BERT and for GPT's scratch twin (so both architectures
and both the pre-trained and the random-init path), with one seed and a tiny model, so that each
stage and each kind's fine-tuning code path is exercised end to end. Each finetune stage is a
process that spends ~10 s importing, so nothing runs twice for no new code path: all four models
would double the time (the registry tests cover the other two), and news and intent are
classification tasks like sentiment (their default sources' readers are tested in tests/data).
"""

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

from tests.e2e_data import write_corpus, write_task_sources

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow

MODELS = ("bert", "gpt-scratch")
# task -> (kind, source written by tests/e2e_data.py, the kind's primary metric)
TASKS = {
    "sentiment": ("classification", "tiny_reviews", "test_accuracy"),
    "ner": ("token_classification", "tiny_ner", "test_entity_f1"),
    "qa": ("extractive_qa", "tiny_qa", "test_f1"),
    "commonsense": ("multiple_choice", "tiny_commonsense", "test_accuracy"),
    "mt": ("translation", "tiny_mt", "test_bleu"),
}
FINETUNE_STAGES = {f"finetune@{m}-{t}" for m in MODELS for t in TASKS}
BASELINE_STAGES = {f"baselines@{t}" for t in TASKS}
LABEL_STAGES = {f"finetune_labels@{m}" for m in MODELS}
UPSTREAM_STAGES = {"fetch", "prepare", "tokenizer@bert", "tokenizer@gpt", "pretrain@bert", "pretrain@gpt",
                   "scratch@bert", "scratch@gpt", "export@bert", "export@gpt"}
# per-task lengths: every one <= model.max_seq_len; translation needs max_length > max_target_length + 2
# (GPT's source gets the rest), QA needs doc_stride < max_length
TASK_SIZES = {
    "sentiment": {"max_length": 24},
    "ner": {"max_length": 32, "entity_view": "all"},
    "qa": {"max_length": 48, "doc_stride": 16},
    "commonsense": {"max_length": 40},
    "mt": {"max_length": 56, "max_target_length": 20, "decoder_layers": 1, "max_dev_generate": 8},
}


def small_params(data_dir: Path, sources: dict[str, dict]) -> dict:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["data"]["corpus"] = ["tiny_corpus"]
    params["data"]["sources"] = {
        "tiny_corpus": {"client": "local", "spec": str(data_dir / "corpus.txt"), "format": "text", "licence": "synthetic"},
        **sources,
    }
    params["data"]["heldout_fraction"] = 0.1
    params["tasks"] = {task: params["tasks"][task] for task in TASKS}
    for task, (kind, source, _) in TASKS.items():
        cfg = params["tasks"][task]
        assert cfg["type"] == kind, f"params.yaml: tasks.{task} is a {cfg['type']} task, the test expects {kind}"
        cfg.update(source=source, dev_fraction=0.15, test_fraction=0.15, **TASK_SIZES[task])
        cfg.pop("min_steps", None)  # no step floors in a tiny run
    params["tokenizer"].update(vocab_size=400, min_frequency=1)
    params["model"].update(n_layer=2, n_head=2, d_model=32, d_ff=64, max_seq_len=64, dropout=0.0)
    params["pretrain"].update(max_tokens=3000, batch_size=8, seq_len=32, precision="32-true", log_every_n_steps=2,
                              seeds=None)  # one pre-training run per objective: one fine-tuning seed (test_pretrain_seeds.py: two)
    params["pretrain"]["bert"]["max_predictions_per_seq"] = 5
    params["finetune"].update(models=list(MODELS), tasks=list(TASKS), seeds=[0], max_epochs=1, min_steps=0,
                              batch_size=16, lr=0.001, precision="32-true")
    params["label_efficiency"].update(fractions=[0.5], tasks=["sentiment"], seeds=[0])
    params["evaluate"].update(max_heldout_tokens=2000, max_new_tokens=5)
    params["published"] = {}  # no published checkpoint to fetch (tests/hf/ covers that stage)
    if "budget" in params:  # score vs pre-training compute: the budget checkpoints fine-tuned on one task
        params["budget"].update(task="sentiment", seeds=[0])
    if "report" in params:
        params["report"].update(bootstrap_resamples=50)
    return params


def run(cmd: list[str], cwd: Path, env: dict, timeout: float = 900) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def stages_run(stdout: str) -> set[str]:
    return {line.split("'")[1] for line in stdout.splitlines() if line.startswith("Running stage")}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    data_dir = tmp / "inputs"
    data_dir.mkdir()
    write_corpus(data_dir / "corpus.txt")
    sources = write_task_sources(data_dir)
    repo = tmp / "repo"
    repo.mkdir()
    for name in ("dvc.yaml", "pipeline", "src"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, repo / name)
    (repo / "params.yaml").write_text(yaml.safe_dump(small_params(data_dir, sources), sort_keys=False))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "PYTHONPATH": str(repo / "src")}
    env.pop("MLFLOW_TRACKING_URI", None)
    run(["dvc", "init", "--no-scm", "-q"], repo, env)
    run(["dvc", "config", "core.analytics", "false"], repo, env)
    t0 = time.perf_counter()
    first = run(["dvc", "repro"], repo, env, timeout=3600)  # ~40 stages, ~30 of them fine-tunings
    print(f"first dvc repro: {time.perf_counter() - t0:.1f} s")
    return repo, env, first


def test_first_repro_runs_every_stage(workspace):
    _, _, first = workspace
    assert UPSTREAM_STAGES | FINETUNE_STAGES | BASELINE_STAGES | LABEL_STAGES | {"evaluate", "report"} <= stages_run(first.stdout)


def test_baselines_and_label_efficiency_reach_the_report(workspace):
    repo, _, _ = workspace
    for task in TASKS:
        assert any((repo / "data" / "baselines" / task).glob("*/metrics.json")), task
    for model in MODELS:
        m = json.loads((repo / "data" / "label_efficiency" / model / "sentiment" / "frac_0.5" / "seed_0" / "metrics.json").read_text())
        assert m["label_fraction"] == 0.5 and m["primary_metric"] == "test_accuracy"
    report = json.loads((repo / "metrics" / "report.json").read_text())
    assert any("baseline" in key for task in report["tasks"].values() for key in task)


def test_every_model_and_task_is_fine_tuned(workspace):
    repo, _, _ = workspace
    for arch in ("bert", "gpt"):
        assert (repo / "data" / "models" / arch / "model.safetensors").is_file()
        scratch = repo / "data" / "models" / f"{arch}-scratch"
        assert (scratch / "config.json").is_file() and (scratch / "tokenizer.json").is_file()
        assert not (scratch / "model.safetensors").exists()  # the twin is initialised at fine-tuning time
    for model in MODELS:
        for task, (_, _, primary) in TASKS.items():
            run_dir = repo / "data" / "finetune" / model / task / "seed_0"
            assert (run_dir / "predictions.parquet").is_file(), run_dir
            metrics = json.loads((run_dir / "metrics.json").read_text())
            assert metrics["primary_metric"] == primary, (model, task, metrics["primary_metric"])
            value = metrics[primary]
            assert isinstance(value, (int, float)) and value >= 0.0, (model, task, value)


def test_evaluation_table_and_report_cover_every_model_and_task(workspace):
    import polars as pl

    repo, _, _ = workspace
    table = pl.read_parquet(repo / "data" / "evaluation" / "finetune.parquet")
    primary = table.filter(pl.col("primary"))
    pairs = set(primary.select("model", "task").iter_rows())
    assert pairs == {(m, t) for m in MODELS for t in TASKS}
    assert primary.height == len(MODELS) * len(TASKS)  # one seed: one primary row per (model, task)
    assert set(primary.get_column("seed")) == {0}
    for row in primary.iter_rows(named=True):
        assert row["metric"] == TASKS[row["task"]][2], row

    metrics = json.loads((repo / "metrics" / "evaluation.json").read_text())
    for task, (_, _, key) in TASKS.items():
        for model in MODELS:
            assert key in metrics["finetune"][task][model], (task, model)
    assert "mlm_accuracy" in metrics["pretrain"]["bert"] and "perplexity" in metrics["pretrain"]["gpt"]

    report = (repo / "reports" / "report.md").read_text()
    for task in TASKS:
        assert task in report, task


def test_dvc_metrics_and_plots_render(workspace, tmp_path):
    repo, env, _ = workspace
    shown = run(["dvc", "metrics", "show", "--json"], repo, env).stdout
    assert "test_accuracy" in shown and "test_bleu" in shown and "tokens_per_second" in shown
    run(["dvc", "plots", "show", "-o", str(tmp_path / "plots")], repo, env)
    html = (tmp_path / "plots" / "index.html").read_text()
    assert "plots/pretrain/bert.csv" in html and "plots/pretrain/gpt.csv" in html


def test_every_stage_is_an_mlflow_run(workspace):
    repo, _, _ = workspace
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{repo / 'mlflow.db'}")
    exp = client.get_experiment_by_name("bert-vs-gpt")
    runs = client.search_runs([exp.experiment_id], max_results=1000)
    stages = {r.data.tags.get("stage") for r in runs}
    assert {"fetch", "prepare", "tokenizer", "pretrain", "scratch", "finetune", "evaluate", "report"} <= stages
    pre = [r for r in runs if r.data.tags.get("stage") == "pretrain"]
    assert all("model.d_model" in r.data.params for r in pre if "mlflow.parentRunId" not in r.data.tags)  # the stage runs
    assert any(k.startswith("train/") for r in pre for k in r.data.metrics)
    finetuned = {(r.data.tags.get("model"), r.data.tags.get("task")) for r in runs if r.data.tags.get("stage") == "finetune"}
    assert finetuned == {(m, t) for m in MODELS for t in TASKS}
    seeds = [r for r in runs if r.data.tags.get("stage") == "finetune" and r.data.tags.get("seed") == "0"]
    assert {(r.data.tags["model"], r.data.tags["task"]) for r in seeds} == finetuned
    for r in seeds:  # each seed's run logged its test metrics
        assert TASKS[r.data.tags["task"]][2] in r.data.metrics, (r.data.tags["model"], r.data.tags["task"])


def test_export_writes_transformers_folders(workspace):
    """export@{bert,gpt} ran in the chain and wrote what transformers' from_pretrained reads
    (tests/hf/test_parity.py loads such folders with transformers and compares outputs)."""
    repo, _, _ = workspace
    for arch, cls in (("bert", "BertForPreTraining"), ("gpt", "GPT2LMHeadModel")):
        folder = repo / "data" / "hf" / arch
        assert {p.name for p in folder.iterdir()} == {"config.json", "model.safetensors", "tokenizer.json",
                                                      "tokenizer_config.json", "special_tokens_map.json"}
        assert json.loads((folder / "config.json").read_text())["architectures"] == [cls]


def test_second_repro_is_a_fast_noop(workspace):
    repo, env, _ = workspace
    t0 = time.perf_counter()
    proc = run(["dvc", "repro"], repo, env)
    elapsed = time.perf_counter() - t0
    assert "Running stage" not in proc.stdout
    print(f"no-op dvc repro: {elapsed:.2f} s")


def test_finetune_param_change_reruns_only_downstream(workspace):
    """A fine-tuning param puts every finetune stage out of date and nothing upstream of them, and
    re-running one of them puts evaluate out of date. Re-running all 28 fine-tunings for real would
    double the test's time, so this checks ``dvc repro --dry`` (what would run) around one real run."""
    repo, env, _ = workspace
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["finetune"]["lr"] = 0.002
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

    stale = stages_run(run(["dvc", "repro", "--dry"], repo, env).stdout)
    assert FINETUNE_STAGES <= stale and not stale & UPSTREAM_STAGES, sorted(stale)

    one = "finetune@gpt-scratch-qa"
    assert stages_run(run(["dvc", "repro", one], repo, env).stdout) == {one}
    stale = stages_run(run(["dvc", "repro", "--dry"], repo, env).stdout)
    # evaluate now reads a changed data/finetune; the other fine-tunings are still out of date
    assert (FINETUNE_STAGES - {one}) | {"evaluate"} <= stale, sorted(stale)
    assert one not in stale and not stale & UPSTREAM_STAGES, sorted(stale)
