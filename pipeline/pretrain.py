"""Stage pretrain (foreach model): BERT (MLM+NSP) or GPT (causal LM) to the same token budget, once per pre-training seed."""

from pathlib import Path

from bertvsgpt.cli import StageArgs, run_stage
from bertvsgpt.io import write_json, write_text
from bertvsgpt.pretraining.run import pretrain
from bertvsgpt.pretraining.runs import run_dir, write_runs_index
from bertvsgpt.tracking import lightning_logger, stage_run


def main(args: StageArgs) -> None:
    arch, seeds = args.item["model"], args.params.pretrain_seeds()
    tok_dir, out = Path("data/tokenizers") / arch, Path("data/models") / arch
    resume = Path("data/resume") / f"pretrain-{arch}"
    # Under DDP the launcher re-runs this script for ranks > 0: they train; rank 0 alone tracks (run is None
    # elsewhere) and writes. The first seed's run is written first: it replaces the whole folder.
    with stage_run(args.params, "pretrain", run_name=f"pretrain-{arch}", inputs=[tok_dir], tags={"model": arch}, resume_dir=resume) as stage:
        summaries = []
        for i, seed in enumerate(seeds):
            seed_resume = resume / f"seed-{seed}"
            tags = {"model": arch, "pretrain_seed": str(seed)}
            with stage_run(args.params, "pretrain", run_name=f"seed-{seed}", tags=tags, nested=True, resume_dir=seed_resume) as run:
                summaries.append(pretrain(arch, args.params, tokenizer_dir=tok_dir, out_dir=run_dir(out, i, seed),
                                          resume_dir=seed_resume, logger=lightning_logger(args.params, run), seed=seed))
        if stage is None:
            return
        import mlflow

        write_runs_index(out, seeds)
        # the first run's summary and curve, as with one run; every run's summary under "runs"
        runs = {f"seed-{seed}": summary for seed, summary in zip(seeds, summaries)}
        write_json(Path("metrics/pretrain") / f"{arch}.json", {**summaries[0], "runs": runs})
        write_text(Path("plots/pretrain") / f"{arch}.csv", (out / "curve.csv").read_text())
        mlflow.log_metrics({f"summary/{k}": v for k, v in summaries[0].items() if isinstance(v, (int, float))})


if __name__ == "__main__":
    run_stage(main, item_keys=("model",))
