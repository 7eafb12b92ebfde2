"""Stage published (foreach checkpoint): convert a published checkpoint into data/models/<name>."""

import tempfile
from pathlib import Path

from bertvsgpt.cli import StageArgs, run_stage
from bertvsgpt.tracking import stage_run


def main(args: StageArgs) -> None:
    from bertvsgpt.hf.imports import import_checkpoint
    from bertvsgpt.hf.published import display_name, resolve_checkpoint

    p, name = args.params, args.item["model"]
    cfg = p.published[name]
    with stage_run(p, "published", run_name=f"published-{name}", tags={"model": name}) as run:
        with tempfile.TemporaryDirectory(prefix=f"bertvsgpt-{name}-") as scratch:  # the fetched checkpoint, dropped after
            path, provenance = resolve_checkpoint(name, cfg, Path(scratch))
            record = import_checkpoint(path, Path("data/models") / name, seed=p.seed,
                                       record={"name": name, "description": cfg.description, "path": cfg.path, **provenance},
                                       display=display_name(cfg))
        if run is not None:
            import mlflow

            mlflow.log_params({"family": record["family"], "model_type": record["model_type"]})
            mlflow.log_metrics({"parameters": record["parameters"], "non_embedding_parameters": record["non_embedding_parameters"]})
            mlflow.log_dict(record, "published.json")


if __name__ == "__main__":
    run_stage(main, item_keys=("model",))
