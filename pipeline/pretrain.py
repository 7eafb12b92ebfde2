"""Stage pretrain (foreach model): BERT (MLM+NSP) or GPT (causal LM) to the same token budget."""

from pathlib import Path

from bertvsgpt.cli import StageArgs, run_stage
from bertvsgpt.io import write_json, write_text
from bertvsgpt.pretraining.run import pretrain
from bertvsgpt.tracking import lightning_logger, stage_run


def main(args: StageArgs) -> None:
    arch = args.item["model"]
    tok_dir = Path("data/tokenizers") / arch
    resume = Path("data/resume") / f"pretrain-{arch}"
    # Under DDP the launcher re-runs this script for ranks > 0: they train; rank 0 alone tracks (run is None
    # elsewhere) and writes.
    with stage_run(args.params, "pretrain", run_name=f"pretrain-{arch}", inputs=[tok_dir], tags={"model": arch}, resume_dir=resume) as run:
        summary = pretrain(
            arch,
            args.params,
            tokenizer_dir=tok_dir,
            out_dir=Path("data/models") / arch,
            resume_dir=resume,
            logger=lightning_logger(args.params, run),
        )
        if run is None:
            return
        import mlflow

        write_json(Path("metrics/pretrain") / f"{arch}.json", summary)
        write_text(Path("plots/pretrain") / f"{arch}.csv", (Path("data/models") / arch / "curve.csv").read_text())
        mlflow.log_metrics({f"summary/{k}": v for k, v in summary.items() if isinstance(v, (int, float))})


if __name__ == "__main__":
    run_stage(main, item_keys=("model",))
