"""A task's baselines: the fine-tuning's capped splits, the kinds, the outputs and the stage end to end."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import polars as pl
import pytest

from bertvsgpt.baselines.run import KINDS, run_baselines, task_splits, write_baselines
from bertvsgpt.kinds import TASK_TYPES
from bertvsgpt.tasks.data import cap_splits

ROOT = Path(__file__).resolve().parents[2]


def table(n_train: int = 20, n_eval: int = 10) -> pl.DataFrame:
    n = n_train + 2 * n_eval
    return pl.DataFrame({
        "id": list(range(n)),
        "split": ["train"] * n_train + ["dev"] * n_eval + ["test"] * n_eval,
        "text": [f"{'good' if i % 3 else 'bad'} film number {i}" for i in range(n)],
        "label": ["pos" if i % 3 else "neg" for i in range(n)],
    })


def cfg(max_train=None, max_eval=None, kind="classification"):
    return SimpleNamespace(type=kind, max_train_examples=max_train, max_eval_examples=max_eval)


@pytest.mark.parametrize("task_caps, ft_caps, caps", [((8, 4), (None, None), (8, 4)), ((8, 4), (5, 6), (5, 4)),
                                                      ((None, None), (None, None), (None, None))])
def test_splits_are_the_fine_tunings_capped_rows(task_caps, ft_caps, caps):
    t = table()
    frames = task_splits(t, cfg(*task_caps), cfg(*ft_caps))
    expected = cap_splits(t, *caps)  # what the fine-tuning driver keeps: the smaller of the task's and finetune's caps
    for split in ("train", "dev", "test"):
        assert frames[split].get_column("id").to_list() == expected.filter(pl.col("split") == split).get_column("id").to_list()
    if caps[0] is not None:
        assert (frames["train"].height, frames["test"].height) == caps


def test_every_task_kind_has_baselines_with_one_reference():
    assert set(KINDS) == set(TASK_TYPES)
    results = run_baselines(task_splits(table(), cfg(), cfg()), "classification")
    assert [r.metrics["reference"] for r in results] == [True, False]


def test_unknown_kind_and_missing_columns_fail_with_a_message():
    frames = task_splits(table(), cfg(), cfg())
    with pytest.raises(ValueError, match="no baselines for task type 'ranking'"):
        run_baselines(frames, "ranking")
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['tokens', 'tags'\]"):
        run_baselines(frames, "token_classification")


def test_outputs_one_folder_per_baseline_replacing_the_old(tmp_path):
    out = tmp_path / "baselines" / "sentiment"
    (out / "stale").mkdir(parents=True)
    results = run_baselines(task_splits(table(), cfg(), cfg()), "classification")
    write_baselines(results, out)
    assert sorted(p.name for p in out.iterdir()) == ["majority", "tfidf-lr"]
    m = json.loads((out / "majority" / "metrics.json").read_text())
    assert m["baseline"] == "majority" and m["primary_metric"] == "test_accuracy" and m["n_test"] == 10
    assert pl.read_parquet(out / "tfidf-lr" / "predictions.parquet").height == 10


def test_stage_writes_every_baseline_and_logs_an_mlflow_run(tmp_path, monkeypatch):
    import mlflow

    from bertvsgpt.cli import StageArgs
    from bertvsgpt.config import load_params
    from pipeline import baselines as stage

    tasks = tmp_path / "data" / "prepared" / "tasks"
    tasks.mkdir(parents=True)
    table(40, 20).write_parquet(tasks / "sentiment.parquet")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    uri = (tmp_path / "mlruns").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    params = load_params(ROOT / "params.yaml", ["+tasks.sentiment.max_train_examples=30", "+tasks.sentiment.max_eval_examples=12"])
    stage.main(StageArgs(params=params, item={"task": "sentiment"}))

    out = tmp_path / "data" / "baselines" / "sentiment"
    assert sorted(p.name for p in out.iterdir()) == ["majority", "tfidf-lr"]
    m = json.loads((out / "tfidf-lr" / "metrics.json").read_text())
    assert (m["n_train"], m["n_dev"], m["n_test"]) == (30, 12, 12) and m["seed"] == params.seed
    client = mlflow.MlflowClient(tracking_uri=uri)
    runs = client.search_runs([client.get_experiment_by_name(params.tracking.experiment).experiment_id])
    assert len(runs) == 1 and runs[0].data.tags["stage"] == "baselines" and runs[0].data.tags["task"] == "sentiment"
    assert runs[0].data.metrics["tfidf-lr.test_accuracy"] == pytest.approx(m["test_accuracy"])
