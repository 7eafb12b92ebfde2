"""Stage prepare: canonical parquet for the pre-training corpus and each task, plus data cards."""

from pathlib import Path

from bertvsgpt.cli import StageArgs, run_stage
from bertvsgpt.data.prepare import prepare
from bertvsgpt.tracking import stage_run

RAW, OUT = Path("data/raw"), Path("data/prepared")


def main(args: StageArgs) -> None:
    with stage_run(args.params, "prepare", inputs=[RAW]):
        import mlflow

        stats = prepare(args.params, RAW, OUT)
        mlflow.log_metrics({f"corpus_{k}": v for k, v in stats["corpus"].items() if isinstance(v, (int, float))})
        mlflow.log_artifacts(str(OUT / "cards"), "cards")


if __name__ == "__main__":
    run_stage(main)
