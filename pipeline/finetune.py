"""Stage finetune (matrix model x task): fine-tune one model on one task, once per seed; seed i starts from
pre-training run i (``pretrain.seeds``; a scratch twin or published checkpoint is its own only run)."""

from pathlib import Path

import polars as pl

from bertvsgpt.cli import StageArgs, run_stage
from bertvsgpt.pretraining.runs import record_run, run_for_seed
from bertvsgpt.tasks.registry import finetune_task
from bertvsgpt.tasks.options import RunOptions, TaskRun
from bertvsgpt.tracking import lightning_logger, stage_run


def main(args: StageArgs) -> None:
    p, model, task = args.params, args.item["model"], args.item["task"]
    model_dir, table_path = Path("data/models") / model, Path("data/prepared/tasks") / f"{task}.parquet"
    out = Path("data/finetune") / model / task
    tags = {"model": model, "task": task, "task_type": p.tasks[task].type}
    resume = Path("data/resume") / f"finetune-{model}-{task}"
    # Under DDP the launcher re-runs this script for ranks > 0: they train; rank 0 alone tracks (run is None
    # elsewhere) and writes.
    with stage_run(p, "finetune", run_name=f"finetune-{model}-{task}", inputs=[model_dir, table_path], tags=tags, resume_dir=resume):
        import mlflow

        table = pl.read_parquet(table_path)
        for i, seed in enumerate(p.finetune.seeds):
            start = run_for_seed(model_dir, i)
            seed_tags = {**tags, "seed": str(seed), "pretrain_seed": str(start.seed)}
            with stage_run(p, "finetune", run_name=f"seed-{seed}", tags=seed_tags, nested=True, resume_dir=resume / f"seed_{seed}") as run:
                metrics = finetune_task(
                    start.path, TaskRun(table, p.tasks[task], p.finetune, seed, out / f"seed_{seed}"),
                    resume_dir=resume / f"seed_{seed}",
                    options=RunOptions(precision=p.finetune.precision, logger=lightning_logger(p, run)),
                )
                if run is not None:
                    record_run(out / f"seed_{seed}", start)
                    mlflow.log_metrics({k: v for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)})


if __name__ == "__main__":
    run_stage(main, item_keys=("model", "task"))
