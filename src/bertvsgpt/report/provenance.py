"""Where the report's numbers come from: MLflow run ids of the fine-tuning runs."""

from __future__ import annotations

from typing import Any


def finetune_run_ids(client: Any, experiment_name: str) -> dict[tuple[str, str, int], str]:
    """(model, task, seed) -> id of the latest finished per-seed fine-tuning run (tags stage=finetune, seed).

    ``client`` is an ``mlflow.MlflowClient``; an unknown experiment gives ``{}``.
    """
    exp = client.get_experiment_by_name(experiment_name)
    if exp is None:
        return {}
    runs = client.search_runs(
        [exp.experiment_id],
        filter_string="tags.stage = 'finetune' and attributes.status = 'FINISHED'",
        order_by=["attributes.start_time DESC"],
        max_results=5000,
    )
    out: dict[tuple[str, str, int], str] = {}
    for run in runs:  # newest first: keep the first run seen per key
        tags = run.data.tags
        if not {"model", "task", "seed"} <= set(tags):
            continue
        try:
            key = (tags["model"], tags["task"], int(tags["seed"]))
        except ValueError:
            continue
        out.setdefault(key, run.info.run_id)
    return out
