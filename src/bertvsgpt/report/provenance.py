"""Where the report's numbers come from: MLflow run ids of the fine-tuning runs."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Optional


def finetune_run_ids(
    client: Any,
    experiment_name: str,
    models: Optional[Collection[str]] = None,
    tasks: Optional[Collection[str]] = None,
    seeds: Optional[Collection[int]] = None,
) -> dict[tuple[str, str, int], str]:
    """(model, task, seed) -> id of the latest finished per-seed fine-tuning run (tags stage=finetune, seed).

    ``client`` is an ``mlflow.MlflowClient``; an unknown experiment gives ``{}``. ``models``, ``tasks`` and
    ``seeds`` (the run's ``finetune.*``) keep only the runs the report covers: a store that also holds an
    earlier experiment with a third seed or another task must not list those beside this run's.
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
        if (models is not None and key[0] not in models) or (tasks is not None and key[1] not in tasks) \
                or (seeds is not None and key[2] not in seeds):
            continue
        out.setdefault(key, run.info.run_id)
    return out
