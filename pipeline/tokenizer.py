"""Stage tokenizer (foreach model): WordPiece for BERT, byte-level BPE for GPT, and the encoded corpus."""

from pathlib import Path

from bertvsgpt.cli import StageArgs, run_stage
from bertvsgpt.tokenization.build import build_tokenizer
from bertvsgpt.tracking import stage_run

CORPUS = Path("data/prepared/corpus.parquet")


def main(args: StageArgs) -> None:
    arch = args.item["model"]
    out = Path("data/tokenizers") / arch
    with stage_run(args.params, "tokenizer", run_name=f"tokenizer-{arch}", inputs=[CORPUS], tags={"model": arch}):
        import mlflow

        stats = build_tokenizer(arch, args.params, CORPUS, out)
        mlflow.log_metrics({"vocab_size": stats["vocab_size"], **{f"{s}_tokens": stats[s]["n_tokens"] for s in ("train", "heldout")}})
        mlflow.log_artifact(str(out / "tokenizer.json"))


if __name__ == "__main__":
    run_stage(main, item_keys=("model",))
