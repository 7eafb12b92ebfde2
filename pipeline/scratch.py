"""Stage scratch (foreach model): the randomly initialised twin's directory (shape + tokenizer, no weights)."""

from pathlib import Path

from bertvsgpt.cli import StageArgs, run_stage
from bertvsgpt.pretraining.scratch import write_scratch_model
from bertvsgpt.tracking import stage_run


def main(args: StageArgs) -> None:
    arch = args.item["model"]
    tok_dir = Path("data/tokenizers") / arch
    with stage_run(args.params, "scratch", run_name=f"scratch-{arch}", inputs=[tok_dir], tags={"model": f"{arch}-scratch"}):
        write_scratch_model(arch, args.params, tok_dir, Path("data/models") / f"{arch}-scratch")


if __name__ == "__main__":
    run_stage(main, item_keys=("model",))
