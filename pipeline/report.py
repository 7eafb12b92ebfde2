"""Stage report: reports/report.md, the BERT-vs-GPT comparison, from the evaluation outputs alone."""

import json
from pathlib import Path

import polars as pl

from bertvsgpt.cli import StageArgs, run_stage
from bertvsgpt.io import write_text
from bertvsgpt.report import build_report
from bertvsgpt.tracking import git_commit, stage_run

EVAL, OUT = Path("data/evaluation"), Path("reports/report.md")


def main(args: StageArgs) -> None:
    p = args.params
    with stage_run(p, "report", inputs=[EVAL]) as run:
        import mlflow

        cards = [f.read_text() for f in sorted(Path("data/prepared/cards").glob("*.md"))]
        pretrain = {m: json.loads((Path("metrics/pretrain") / f"{m}.json").read_text()) for m in p.pretrain.models}
        text = build_report(
            summary=pl.read_csv(EVAL / "summary.csv"),
            intrinsic=json.loads((EVAL / "intrinsic.json").read_text()),
            pretrain=pretrain,
            cards_markdown=cards,
            models=p.finetune.models,
            samples=json.loads((EVAL / "samples.json").read_text()),
            provenance={"git commit": git_commit(), "MLflow run": run.info.run_id, "seed": str(p.seed)},
        )
        write_text(OUT, text)
        mlflow.log_artifact(str(OUT))


if __name__ == "__main__":
    run_stage(main)
