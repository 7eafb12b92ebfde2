"""The report stage end to end on the fixed run: files, metrics/report.json and the MLflow run's artifacts."""

from __future__ import annotations

import json
from pathlib import Path

from bertvsgpt.cli import StageArgs
from bertvsgpt.config import load_params
from bertvsgpt.report.provenance import finetune_run_ids
from tests.report.fixtures import TASKS

ROOT = Path(__file__).resolve().parents[2]


def test_report_stage_writes_and_logs_everything(run_dir, tmp_path, monkeypatch):
    import shutil

    import mlflow

    from pipeline import report as stage

    work = tmp_path / "work"
    shutil.copytree(run_dir, work, ignore=shutil.ignore_patterns("reports"))
    monkeypatch.chdir(work)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # the file store starts in a fraction of sqlite's time
    uri = (tmp_path / "mlruns").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    params = load_params(ROOT / "params.yaml", [f"finetune.tasks=[{','.join(TASKS)}]", "report.bootstrap_resamples=50",
                                               "report.errors_per_task=1", "budget.task=sentiment"])
    stage.main(StageArgs(params=params))

    assert (work / "reports" / "report.md").is_file() and (work / "reports" / "report.html").is_file()
    metrics = json.loads((work / "metrics" / "report.json").read_text())
    assert metrics["tasks"]["sentiment"]["bert_minus_gpt"] == 100.0
    md = (work / "reports" / "report.md").read_text()
    run_id = next(line for line in md.splitlines() if line.startswith("- MLflow report run:")).split("`")[1]
    assert "`finetune.lr`" in md and "- git commit: `" in md  # exact params and commit in the provenance

    client = mlflow.MlflowClient(tracking_uri=uri)
    run = client.get_run(run_id)
    assert run.data.tags["stage"] == "report"
    assert run.data.metrics["tasks.sentiment.bert_minus_gpt"] == 100.0
    top = {a.path for a in client.list_artifacts(run_id)}
    assert {"report.md", "report.html", "report.json", "figures"} <= top
    figures = {a.path for a in client.list_artifacts(run_id, "figures")}
    assert figures == {f"figures/{n}" for n in ("group_scores.png", "pretrain_intrinsic.png", "pretrain_loss.png", "task_scores.png")}


class _Run:
    def __init__(self, run_id: str, start_time: int, tags: dict[str, str]):
        self.info = type("info", (), {"run_id": run_id, "start_time": start_time})()
        self.data = type("data", (), {"tags": tags})()


class _Client:
    """Holds its runs in no particular order and sorts them as MLflow's ``search_runs`` would."""

    def __init__(self, runs):
        self.runs = runs
        self.calls = []

    def get_experiment_by_name(self, name):
        return type("exp", (), {"experiment_id": "1"})() if name == "exp" else None

    def search_runs(self, ids, filter_string, order_by=None, max_results=1000):
        self.calls.append((ids, filter_string, order_by))
        key, descending = "start_time", True  # MLflow's default: newest first
        for clause in order_by or []:
            field, _, direction = clause.partition(" ")
            assert field in ("attributes.start_time", "start_time"), f"the fake cannot sort by {clause!r}"
            descending = direction.strip().upper() != "ASC"
        return sorted(self.runs, key=lambda r: getattr(r.info, key), reverse=descending)


def test_finetune_run_ids_keep_the_newest_run_per_seed():
    runs = [  # stored oldest first: only the order the query asks for puts "new" ahead of "old"
        _Run("old", 100, {"stage": "finetune", "model": "bert", "task": "sentiment", "seed": "0"}),
        _Run("s1", 150, {"stage": "finetune", "model": "gpt", "task": "ner", "seed": "1"}),
        _Run("parent", 190, {"stage": "finetune", "model": "bert", "task": "sentiment"}),  # the per-stage parent: no seed
        _Run("new", 300, {"stage": "finetune", "model": "bert", "task": "sentiment", "seed": "0"}),
        _Run("middle", 200, {"stage": "finetune", "model": "bert", "task": "sentiment", "seed": "0"}),
    ]
    client = _Client(runs)
    assert finetune_run_ids(client, "exp") == {("bert", "sentiment", 0): "new", ("gpt", "ner", 1): "s1"}
    assert "tags.stage = 'finetune'" in client.calls[0][1]
    # whatever order the store holds them in
    assert finetune_run_ids(_Client(runs[::-1]), "exp") == {("bert", "sentiment", 0): "new", ("gpt", "ner", 1): "s1"}
    assert finetune_run_ids(client, "missing") == {}


def test_report_stage_lists_the_wall_time_of_the_stage_runs_in_mlflow(run_dir, tmp_path, monkeypatch):
    import shutil

    import mlflow

    from pipeline import report as stage

    work = tmp_path / "work"
    shutil.copytree(run_dir, work, ignore=shutil.ignore_patterns("reports"))
    monkeypatch.chdir(work)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    uri = (tmp_path / "mlruns").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    params = load_params(ROOT / "params.yaml", [f"finetune.tasks=[{','.join(TASKS)}]", "report.bootstrap_resamples=20",
                                               "report.errors_per_task=0", "budget.task=sentiment"])
    client = mlflow.MlflowClient(tracking_uri=uri)
    exp = client.create_experiment(params.tracking.experiment)
    t0 = 1_700_000_000_000
    for name, tag, start, end, parent in (("prepare", "prepare", 0, 60, None), ("pretrain-bert", "pretrain", 60, 660, None),
                                          ("pretrain-gpt", "pretrain", 660, 1260, None),
                                          ("finetune-bert-sentiment", "finetune", 1260, 1380, None),
                                          ("seed-0", "finetune", 1270, 1370, "finetune-bert-sentiment")):
        tags = {"stage": tag} | ({"mlflow.parentRunId": "p"} if parent else {})
        r = client.create_run(exp, start_time=t0 + 1000 * start, tags=tags, run_name=name)
        client.set_terminated(r.info.run_id, "FINISHED", end_time=t0 + 1000 * end)
    stage.main(StageArgs(params=params))

    md = (work / "reports" / "report.md").read_text()
    section = md.split("### Wall time per stage")[1].split("\n### ")[0]
    assert "| fetch + prepare | prepare | 1 | 1.0 min | 4 % |" in section
    assert "| pre-training | pretrain | 2 | 20.0 min | 87 % |" in section
    assert "| fine-tuning | finetune | 1 | 2.0 min | 9 % |" in section  # the nested seed run is inside its stage's run
    assert "| **total** |  | 4 | **23.0 min** | 100 % |" in section
    # the recipe from the real params, the floors in metrics/report.json
    assert md.split("\n\n")[1].startswith("**The recipe.**")
    metrics = json.loads((work / "metrics" / "report.json").read_text())
    assert metrics["intrinsic"]["bert"]["mlm_accuracy_unigram_floor"] == 0.05


def test_finetune_run_ids_list_only_the_models_tasks_and_seeds_of_this_run():
    """An earlier experiment in the same store (a third seed, another task) is not listed beside this run's."""
    client = _Client([
        _Run("s2", 400, {"stage": "finetune", "model": "bert", "task": "sentiment", "seed": "2"}),
        _Run("s0", 390, {"stage": "finetune", "model": "bert", "task": "sentiment", "seed": "0"}),
        _Run("old-task", 380, {"stage": "finetune", "model": "bert", "task": "squad", "seed": "0"}),
        _Run("old-model", 370, {"stage": "finetune", "model": "gpt2", "task": "sentiment", "seed": "0"}),
    ])
    assert finetune_run_ids(client, "exp", models=["bert"], tasks=["sentiment"], seeds=[0, 1]) == {
        ("bert", "sentiment", 0): "s0"}
