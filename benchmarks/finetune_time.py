"""Where a fine-tuning run's time goes: the ``finetune`` stage's own code, per task, with Lightning's profiler.

Fine-tuning and label efficiency are 44 and 41 min of the default run's 3.18 h on the slow-bf16 EPYC (the
report's stage table), the two parts of ``make run`` after pre-training. This runs
:func:`bertvsgpt.tasks.registry.finetune_task`, the function the ``finetune`` and ``finetune_labels`` stages
call, for one model, seed and label fraction on each task, in a temporary folder, with Lightning's
``SimpleProfiler`` on its Trainer, and splits each run's wall time into:

- ``train``: Lightning's ``run_training_batch`` (forward, backward, clipping, optimiser) over all steps;
  ``ms/step`` is this over the steps run;
- ``validation``: the dev split after every epoch (the validation steps and their epoch-end metric, e.g.
  seqeval or sacreBLEU over decoded translations);
- ``test``: predicting the test split with the best epoch's weights;
- ``other``: the rest of the call (tokenising and encoding the splits, building the model, loading the best
  checkpoint, the training loop's own bookkeeping, writing the outputs).

It reads the workspace (``params.yaml``, ``data/models/<model>``, ``data/prepared/tasks``): run it after
``make run``, or after ``dvc repro scratch@bert`` for a scratch twin (same shape and step cost as the
pre-trained model, no pre-training needed).

    python -m benchmarks.finetune_time --model bert-scratch                  # every task in finetune.tasks
    python -m benchmarks.finetune_time --model gpt --tasks ner mt --label-fraction 0.01
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

import polars as pl

COLUMNS = ("task", "steps", "epochs", "val_every", "n_train", "wall_s", "train_s", "ms_per_step", "validation_s", "test_s", "other_s", "metric", "score")


@contextmanager
def profiled_trainers(report_dir: Optional[Path] = None, **trainer_kwargs: Any) -> Iterator[list[Any]]:
    """Every Lightning Trainer built inside gets a fresh ``SimpleProfiler`` (and ``trainer_kwargs``); yields the
    list they land in. Each profiler's own report goes to a file in ``report_dir`` (default: printed when its
    Trainer ends)."""
    import lightning as L
    from lightning.pytorch.profilers import SimpleProfiler

    profilers: list[Any] = []
    init = L.Trainer.__init__

    def with_profiler(self, *args, **kwargs):
        kwargs["profiler"] = SimpleProfiler(dirpath=report_dir, filename=f"profile-{len(profilers)}" if report_dir else None)
        kwargs.update(trainer_kwargs)
        profilers.append(kwargs["profiler"])
        init(self, *args, **kwargs)

    L.Trainer.__init__ = with_profiler
    try:
        yield profilers
    finally:
        L.Trainer.__init__ = init


def split_profile(durations: dict[str, list[float]]) -> dict[str, float]:
    """Seconds of training steps, validation and test prediction in a ``SimpleProfiler``'s recorded durations
    (action name -> one duration per call). Each part is one non-overlapping set of actions: Lightning's
    ``run_training_batch``; the evaluation loop's batches and steps plus the module's validation-epoch hook
    (where a task computes its dev metric; the callbacks' hooks, e.g. checkpoint saving, are not validation);
    the prediction loop's batches and steps."""

    def total(match) -> float:
        return sum(sum(v) for k, v in durations.items() if match(k))

    def validation(k: str) -> bool:
        return k == "[_EvaluationLoop].val_next" or k.endswith(".validation_step") or (
            k.startswith("[LightningModule]") and k.endswith(".on_validation_epoch_end")
        )

    def test(k: str) -> bool:
        return k == "[_PredictionLoop].predict_next" or k.endswith(".predict_step")

    return {
        "train_s": total(lambda k: k == "run_training_batch"),
        "steps": sum(len(v) for k, v in durations.items() if k == "run_training_batch"),
        "validation_s": total(validation),
        "validation_batches": len(durations.get("[_EvaluationLoop].val_next", [])),
        "test_s": total(test),
    }


def time_task(
    model_dir: Path, table: pl.DataFrame, task: str, params: Any, seed: int, out_dir: Path, ft_cfg: Optional[Any] = None,
) -> dict[str, Any]:
    """Fine-tune ``model_dir`` on ``table`` as the stages do (no resume folder) under ``ft_cfg`` (default
    ``params.finetune``); the row of the timing table. Lightning's full profile is left in ``out_dir/profile``."""
    from bertvsgpt.tasks.options import RunOptions, TaskRun
    from bertvsgpt.tasks.registry import finetune_task

    with profiled_trainers(out_dir / "profile") as profilers:
        t0 = time.perf_counter()
        metrics = finetune_task(
            model_dir, TaskRun(table, params.tasks[task], ft_cfg or params.finetune, seed, out_dir),
            options=RunOptions(precision=params.finetune.precision, enable_progress_bar=False),
        )
        wall = time.perf_counter() - t0
    parts = split_profile(profilers[-1].recorded_durations)
    other = wall - parts["train_s"] - parts["validation_s"] - parts["test_s"]
    return {
        "task": task, "steps": parts["steps"], "epochs": int(metrics["epochs_run"]), "val_every": int(metrics["validate_every_epochs"]),
        "n_train": int(metrics["n_train"]),
        "wall_s": wall, "train_s": parts["train_s"], "ms_per_step": 1000 * parts["train_s"] / max(1, parts["steps"]),
        "validation_s": parts["validation_s"], "validation_batches": parts["validation_batches"], "test_s": parts["test_s"], "other_s": other,
        "score": float(metrics[metrics["primary_metric"]]), "metric": metrics["primary_metric"],
    }


def markdown(rows: list[dict[str, Any]]) -> str:
    """The timing table, a total row last."""
    lines = ["| task | steps | epochs | train examples | wall s | train s (ms/step) | validation s | test s | other s | train share | test score |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows + [total_row(rows)]:
        share = r["train_s"] / r["wall_s"] if r["wall_s"] else 0.0
        lines.append(
            f"| {r['task']} | {r['steps']} | {r['epochs']}{validated(r)} | {r['n_train']} | {r['wall_s']:.1f} | {r['train_s']:.1f} ({r['ms_per_step']:.0f}) "
            f"| {r['validation_s']:.1f} | {r['test_s']:.1f} | {r['other_s']:.1f} | {share:.0%} | {score_cell(r)} |"
        )
    return "\n".join(lines)


def validated(row: dict[str, Any]) -> str:
    """`` (every k)`` after the epochs when only every k-th was validated."""
    return f" (every {row['val_every']})" if row.get("val_every", 1) > 1 else ""


def score_cell(row: dict[str, Any]) -> str:
    return f"{row['metric']} {row['score']:.4f}" if "score" in row else ""


def total_row(rows: list[dict[str, Any]]) -> dict[str, Any]:
    t = {k: sum(r[k] for r in rows) for k in ("steps", "epochs", "n_train", "wall_s", "train_s", "validation_s", "test_s", "other_s")}
    return {"task": "**all**", **t, "ms_per_step": 1000 * t["train_s"] / max(1, t["steps"])}


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="bert", help="a folder under data/models (bert, gpt, bert-scratch, gpt-scratch, a published name)")
    ap.add_argument("--tasks", nargs="+", help="default: params.yaml's finetune.tasks")
    ap.add_argument("--seed", type=int, default=0, help="the fine-tuning seed (default 0)")
    ap.add_argument("--label-fraction", type=float, help="cut the training split as finetune_labels does (e.g. 0.01)")
    ap.add_argument("--validate-every", type=int, metavar="STEPS",
                    help="validate about every STEPS optimizer steps (finetune.validate_every_steps; default: params.yaml's, "
                         "label_efficiency's with --label-fraction; 1 = after every epoch)")
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--csv", type=Path, help="also write the rows here")
    return ap.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    from bertvsgpt.allocator import keep_freed_memory
    from bertvsgpt.config import ConfigError, load_params
    from bertvsgpt.evaluation.label_efficiency import with_label_fraction
    from bertvsgpt.pretraining.runs import run_for_seed
    from bertvsgpt.tasks.registry import main_run_training

    try:
        params = load_params(args.params)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.label_fraction is not None and not 0.0 < args.label_fraction <= 1.0:
        print(f"error: --label-fraction: {args.label_fraction:g} is not in (0, 1]", file=sys.stderr)
        return 2
    if args.validate_every is not None and args.validate_every < 1:
        print(f"error: --validate-every: {args.validate_every} steps; give at least 1", file=sys.stderr)
        return 2
    tasks = args.tasks or list(params.finetune.tasks)
    ft_cfg = params.label_efficiency.protocol(params.finetune) if args.label_fraction is not None else params.finetune
    if args.validate_every is not None:
        ft_cfg = dataclasses.replace(ft_cfg, validate_every_steps=args.validate_every)
    model_dir = Path("data/models") / args.model
    needed = [Path("data/prepared/tasks") / f"{t}.parquet" for t in tasks]
    unknown = [t for t in tasks if t not in params.tasks]
    if unknown:
        print(f"error: --tasks: {unknown[0]!r} is not a task of {args.params} (tasks: {', '.join(params.tasks)})", file=sys.stderr)
        return 2
    missing = [p for p in needed if not p.is_file()]
    if not model_dir.is_dir() or missing:
        print(f"error: {missing[0] if missing else model_dir} is missing (run `make run`, or `dvc repro scratch@bert` for a scratch "
              "twin, first)", file=sys.stderr)
        return 2
    start = run_for_seed(model_dir, 0).path  # the run fine-tuning seed 0 starts from, as the stage picks it
    keep_freed_memory()  # as every stage does
    rows = []
    with tempfile.TemporaryDirectory(prefix="finetune-time-") as tmp:
        for task in tasks:
            table = pl.read_parquet(Path("data/prepared/tasks") / f"{task}.parquet")
            if args.label_fraction is not None:  # as finetune_labels cuts it
                table = with_label_fraction(main_run_training(table, params.tasks[task], params.finetune), args.label_fraction)
            row = time_task(start, table, task, params, args.seed, Path(tmp) / task, ft_cfg)
            print(f"{task}: {row['steps']} steps in {row['wall_s']:.1f} s", file=sys.stderr, flush=True)
            rows.append(row)
    fraction = "" if args.label_fraction is None else f", {args.label_fraction:g} of the training labels"
    cadence = (f", validating about every {ft_cfg.validate_every_steps} steps (epochs: every k-th validated)" if ft_cfg.validate_every_steps
               else ", validating after every epoch")
    print(f"\n{args.model}, seed {args.seed}{fraction}{cadence}, precision {params.finetune.precision}:\n")
    print(markdown(rows))
    if args.csv:
        pl.DataFrame(rows).select(COLUMNS).write_csv(args.csv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
