"""Stage evaluate: intrinsic metrics of each pre-trained model (the mean over its pre-training runs, and each
run's) and one table of all fine-tuning results.

The classical baselines' results (data/baselines) are tidied the same way (model ``baseline:<name>``) into
``baselines.parquet``; ``summary.csv`` holds both. The label-efficiency runs (data/label_efficiency, one row
per model, task, label fraction and seed) go to ``label_efficiency.parquet``. The records of the published
checkpoints in finetune.models (data/models/<name>/published.json) go to ``published.json``, for the report
(written only when there is one).
"""

from pathlib import Path

import polars as pl

from bertvsgpt.cli import StageArgs, run_stage
from bertvsgpt.evaluation.aggregate import collect_baselines, collect_finetune, summarise
from bertvsgpt.evaluation.intrinsic import intrinsic_over_runs
from bertvsgpt.evaluation.label_efficiency import collect_label_efficiency
from bertvsgpt.evaluation.samples import qualitative_samples
from bertvsgpt.evaluation.metrics_file import flatten_metrics, metrics_summary
from bertvsgpt.evaluation.published import RECORD, collect_published
from bertvsgpt.io import atomic_path, write_json
from bertvsgpt.tracking import stage_run

OUT = Path("data/evaluation")


def main(args: StageArgs) -> None:
    p = args.params
    with stage_run(p, "evaluate", inputs=[Path("data/finetune"), Path("data/baselines"), Path("data/label_efficiency")]):
        import mlflow

        intrinsic = {m: intrinsic_over_runs(Path("data/models") / m, Path("data/tokenizers") / m, p, seed=p.seed) for m in p.pretrain.models}
        samples = {m: qualitative_samples(Path("data/models") / m, Path("data/tokenizers") / m, p) for m in p.pretrain.models}
        table = collect_finetune(Path("data/finetune"), p.finetune.models, p.finetune.tasks)
        baselines = collect_baselines(Path("data/baselines"), p.finetune.tasks)
        summary = summarise(pl.concat([table, baselines]))
        published = collect_published(Path("data/models"), p.finetune.models, expected=p.published)
        labels = collect_label_efficiency(Path("data/label_efficiency"), p.finetune.models, p.label_efficiency.tasks_of(p.finetune.tasks))
        with atomic_path(OUT) as tmp:
            tmp.mkdir()
            table.write_parquet(tmp / "finetune.parquet")
            baselines.write_parquet(tmp / "baselines.parquet")
            labels.write_parquet(tmp / "label_efficiency.parquet")
            summary.write_csv(tmp / "summary.csv")
            write_json(tmp / "intrinsic.json", intrinsic)
            write_json(tmp / "samples.json", samples)
            if published:
                write_json(tmp / RECORD, published)
        metrics = metrics_summary(intrinsic, summary, labels)
        write_json(Path("metrics/evaluation.json"), metrics)
        mlflow.log_metrics(flatten_metrics(metrics))
        mlflow.log_artifacts(str(OUT), "evaluation")


if __name__ == "__main__":
    run_stage(main)
