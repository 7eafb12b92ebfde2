"""Stage finetune (matrix model x task): fine-tune the pre-trained model on a task, once per seed."""

from pathlib import Path

import polars as pl

from bertvsgpt.cli import StageArgs, run_stage
from bertvsgpt.tasks import finetune_classification
from bertvsgpt.tokenization import load_tokenizer
from bertvsgpt.tracking import lightning_logger, stage_run


def main(args: StageArgs) -> None:
    p, arch, task = args.params, args.item["model"], args.item["task"]
    model_dir, table_path = Path("data/models") / arch, Path("data/prepared/tasks") / f"{task}.parquet"
    out = Path("data/finetune") / arch / task
    tags = {"model": arch, "task": task}
    with stage_run(p, "finetune", run_name=f"finetune-{arch}-{task}", inputs=[model_dir, table_path], tags=tags):
        tokenizer = load_tokenizer(Path("data/tokenizers") / arch)
        table = pl.read_parquet(table_path)
        for seed in p.finetune.seeds:
            with stage_run(p, "finetune", run_name=f"seed-{seed}", tags={**tags, "seed": str(seed)}, nested=True) as run:
                import mlflow

                metrics = finetune_classification(
                    model_dir, arch, tokenizer, table, p.tasks[task], p.finetune, seed,
                    out_dir=out / f"seed_{seed}", precision=p.finetune.precision, logger=lightning_logger(p, run),
                )
                mlflow.log_metrics({k: v for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)})


if __name__ == "__main__":
    run_stage(main, item_keys=("model", "task"))
