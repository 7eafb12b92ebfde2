"""Stage finetune_labels (foreach model): label efficiency — fine-tune on fractions of each task's training labels."""

from pathlib import Path

import polars as pl

from bertvsgpt.cli import StageArgs, run_stage
from bertvsgpt.evaluation.label_efficiency import FRACTION_DIR, with_label_fraction
from bertvsgpt.io import write_json
from bertvsgpt.tasks.registry import finetune_task, main_run_training
from bertvsgpt.tasks.options import RunOptions, TaskRun
from bertvsgpt.tracking import stage_run


def main(args: StageArgs) -> None:
    p, model = args.params, args.item["model"]
    model_dir, le = Path("data/models") / model, p.label_efficiency
    out, resume = Path("data/label_efficiency") / model, Path("data/resume") / f"labels-{model}"
    with stage_run(p, "finetune_labels", run_name=f"finetune-labels-{model}", inputs=[model_dir], tags={"model": model}, resume_dir=resume) as run:
        import mlflow

        trained = 0.0  # seconds of training the results cost (reused results keep their original time)
        for task in le.tasks_of(p.finetune.tasks):
            table = pl.read_parquet(Path("data/prepared/tasks") / f"{task}.parquet")
            main = main_run_training(table, p.tasks[task], p.finetune)
            for fraction in le.fractions:
                part = with_label_fraction(main, fraction)
                for seed in le.seeds:
                    where = Path(task) / FRACTION_DIR.format(fraction) / f"seed_{seed}"
                    metrics = finetune_task(
                        model_dir, TaskRun(part, p.tasks[task], le.protocol(p.finetune), seed, out / where), resume_dir=resume / where,
                        options=RunOptions(precision=p.finetune.precision),
                    )
                    write_json(out / where / "metrics.json", {**metrics, "label_fraction": fraction})
                    trained += float(metrics.get("train_seconds") or 0.0)
                    if run is not None:
                        mlflow.log_metric(f"{task}_{metrics['primary_metric']}_frac_{fraction:g}", metrics[metrics["primary_metric"]])
        if run is not None:
            mlflow.log_metric("train_seconds", trained)


if __name__ == "__main__":
    run_stage(main, item_keys=("model",))
