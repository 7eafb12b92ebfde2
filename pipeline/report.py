"""Stage report: reports/report.md, reports/report.html and reports/figures/, from the pipeline's outputs alone.

Published checkpoints in finetune.models are labelled as such and described from the evaluate stage's
data/evaluation/published.json (this stage does not read data/models).

Also writes metrics/report.json (per task: BERT − GPT, p-values, gains over scratch, each published checkpoint
against our pre-trained model of its family, the baselines' scores and each pre-trained model against them;
per group) for ``dvc metrics show`` and ``dvc exp show``, and logs every report file to the stage's MLflow
run. The wall time per stage group comes from the stage runs of the same MLflow experiment.
"""

import logging
from pathlib import Path

from bertvsgpt.cli import StageArgs, run_stage
from bertvsgpt.config import to_flat_dict
from bertvsgpt.evaluation.metrics_file import flatten_metrics
from bertvsgpt.io import write_json
from bertvsgpt.report import ReportOptions, load_inputs, render_report
from bertvsgpt.report.provenance import finetune_run_ids
from bertvsgpt.report.stage_times import mlflow_event_times, mlflow_resume_times, search_stage_runs, stage_times
from bertvsgpt.tracking import git_commit, stage_run, tracking_uri

OUT, METRICS = Path("reports"), Path("metrics/report.json")
log = logging.getLogger("bertvsgpt.report")


def main(args: StageArgs) -> None:
    p = args.params
    with stage_run(p, "report", inputs=[Path("data/evaluation")]) as run:
        import mlflow

        inputs = load_inputs(Path("."), p)
        inputs.params_flat = to_flat_dict(p)
        inputs.provenance = {
            "git commit": git_commit(),
            "MLflow report run": run.info.run_id,
            "MLflow tracking URI": tracking_uri(p),
            "MLflow experiment": p.tracking.experiment,
        }
        try:
            inputs.finetune_runs = finetune_run_ids(
                mlflow.MlflowClient(), p.tracking.experiment, p.finetune.models, p.finetune.tasks, p.finetune.seeds
            )
        except Exception as exc:  # optional: the report does not depend on it
            log.warning("fine-tuning run ids not listed: %s", exc)
        try:
            runs = search_stage_runs(p.tracking.experiment)
            inputs.stage_times = stage_times(runs, events=mlflow_event_times(runs), resumes=mlflow_resume_times())
        except Exception as exc:  # optional too: the section then says the times are not available
            log.warning("stage wall times not listed: %s", exc)
        opts = ReportOptions(
            n_resamples=p.report.bootstrap_resamples, alpha=p.report.alpha, ngram=p.report.ngram,
            errors_per_task=p.report.errors_per_task, seed=p.seed,
        )
        report = render_report(inputs, OUT, opts)
        write_json(METRICS, report.metrics)
        mlflow.log_metrics(flatten_metrics(report.metrics))
        mlflow.log_artifact(str(OUT / "report.md"))
        mlflow.log_artifact(str(OUT / "report.html"))
        mlflow.log_artifacts(str(OUT / "figures"), "figures")
        mlflow.log_artifact(str(METRICS))


if __name__ == "__main__":
    run_stage(main)
