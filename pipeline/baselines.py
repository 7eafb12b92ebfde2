"""Stage baselines (foreach task): classical baselines on the same capped splits as fine-tuning.

Writes ``data/baselines/<task>/<baseline>/{metrics.json,predictions.parquet}``; the evaluation and
the report put them beside the fine-tuned models (src/bertvsgpt/baselines).
"""

from pathlib import Path

import polars as pl

from bertvsgpt.cli import StageArgs, run_stage
from bertvsgpt.tracking import stage_run


def main(args: StageArgs) -> None:
    p, task = args.params, args.item["task"]
    task_cfg = p.tasks[task]
    table_path = Path("data/prepared/tasks") / f"{task}.parquet"
    tags = {"task": task, "task_type": task_cfg.type}
    with stage_run(p, "baselines", run_name=f"baselines-{task}", inputs=[table_path], tags=tags):
        import mlflow

        # The baselines score through the task kinds' own functions, which live beside their Lightning modules.
        from bertvsgpt.baselines.run import run_baselines, task_splits, write_baselines

        frames = task_splits(pl.read_parquet(table_path), task_cfg, p.finetune)
        results = run_baselines(frames, task_cfg.type, seed=p.seed)
        write_baselines(results, Path("data/baselines") / task)
        for r in results:
            mlflow.log_metrics({f"{r.name}.{k}": v for k, v in r.metrics.items()
                                if k.startswith("test_") and isinstance(v, (int, float)) and not isinstance(v, bool)})


if __name__ == "__main__":
    run_stage(main, item_keys=("task",))
