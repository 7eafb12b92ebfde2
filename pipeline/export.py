"""Stage export (foreach architecture): our pre-trained model as a Hugging Face transformers folder."""

from pathlib import Path

from bertvsgpt.cli import StageArgs, run_stage
from bertvsgpt.tracking import stage_run


def main(args: StageArgs) -> None:
    from bertvsgpt.hf.export import export_model

    p, model = args.params, args.item["model"]
    with stage_run(p, "export", run_name=f"export-{model}", inputs=[Path("data/models") / model], tags={"model": model}) as run:
        info = export_model(Path("data/models") / model, Path("data/hf") / model)
        if run is not None:
            import mlflow

            mlflow.log_params({"class": info["class"]})
            mlflow.log_metrics({"parameters": info["parameters"]})


if __name__ == "__main__":
    run_stage(main, item_keys=("model",))
