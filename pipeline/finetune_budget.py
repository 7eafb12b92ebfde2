"""Stage finetune_budget (foreach model): fine-tune each intermediate pre-training checkpoint on `budget.task`."""

import shutil
import tempfile
from pathlib import Path

import polars as pl

from bertvsgpt.cli import StageArgs, run_stage
from bertvsgpt.evaluation.budget import budget_checkpoints, compute_position, read_summary
from bertvsgpt.io import atomic_path, write_json
from bertvsgpt.tasks.registry import finetune_task
from bertvsgpt.tasks.options import RunOptions, TaskRun
from bertvsgpt.tracking import stage_run


def main(args: StageArgs) -> None:
    p, arch = args.params, args.item["model"]
    task, model_dir = p.budget.task, Path("data/models") / arch
    table = pl.read_parquet(Path("data/prepared/tasks") / f"{task}.parquet")
    summary = read_summary(model_dir)
    # under DDP only rank 0 tracks (run is None elsewhere) and atomic_path lands only its files
    with stage_run(p, "finetune_budget", run_name=f"finetune-budget-{arch}-{task}", inputs=[model_dir], tags={"model": arch, "task": task}) as run:
        import mlflow

        with atomic_path(Path("data/finetune_budget") / arch) as out, tempfile.TemporaryDirectory() as tmp:
            out.mkdir(parents=True)
            for step, ckpt in budget_checkpoints(model_dir):
                model = Path(tmp) / ckpt.name  # the checkpoint plus the model's tokenizer
                shutil.copytree(ckpt, model)
                shutil.copy2(model_dir / "tokenizer.json", model / "tokenizer.json")
                where = compute_position(step, summary)
                for seed in p.budget.seeds:
                    run_dir = out / ckpt.name / f"seed_{seed}"
                    run_spec = TaskRun(table, p.tasks[task], p.finetune, seed, run_dir)
                    metrics = finetune_task(model, run_spec, options=RunOptions(precision=p.finetune.precision))
                    write_json(run_dir / "metrics.json", {**metrics, **where})
                    if run is not None:
                        mlflow.log_metric(f"{metrics['primary_metric']}_step_{step}", metrics[metrics["primary_metric"]])


if __name__ == "__main__":
    run_stage(main, item_keys=("model",))
