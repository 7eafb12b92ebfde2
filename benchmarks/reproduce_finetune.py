"""Re-run committed fine-tuning runs with the current code and compare their predictions byte for byte.

A refactor of ``src/bertvsgpt/tasks`` must not change what fine-tuning computes. This re-runs one
fine-tuning run per task kind (by default: the cheapest pre-trained run of each kind's task in the
committed default run, seed 0) from the committed models and prepared tables, without the resume
cache, and compares its ``predictions.parquet`` with the committed one: the file's bytes, else the
table's rows, and the scores in ``metrics.json``. Prints one line per run; exits 1 on any difference.

    python -m benchmarks.reproduce_finetune                 # the default five runs
    python -m benchmarks.reproduce_finetune --runs gpt/intent bert/mt
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

# one run per task kind: classification, multiple choice, token classification, extractive QA, translation
DEFAULT_RUNS = ("gpt/intent", "bert/commonsense", "gpt/ner", "gpt/qa", "bert/mt")
# what differs between two runs of the same computation
VOLATILE = ("train_seconds",)


def compare(old_dir: Path, new_dir: Path) -> list[str]:
    """Differences between two runs' outputs (empty when the predictions are byte-identical and the metrics equal)."""
    import polars as pl

    problems = []
    old_p, new_p = (old_dir / "predictions.parquet").read_bytes(), (new_dir / "predictions.parquet").read_bytes()
    if old_p != new_p:
        old_t, new_t = pl.read_parquet(old_dir / "predictions.parquet"), pl.read_parquet(new_dir / "predictions.parquet")
        problems.append("predictions.parquet bytes differ" + ("" if not old_t.equals(new_t) else " (same rows)"))
    old_m, new_m = (json.loads((d / "metrics.json").read_text()) for d in (old_dir, new_dir))
    for key in sorted(set(old_m) | set(new_m)):
        if key not in VOLATILE and old_m.get(key) != new_m.get(key):
            problems.append(f"metrics.json {key}: {old_m.get(key)!r} -> {new_m.get(key)!r}")
    return problems


def start_of(committed: Path, model: str) -> Path:
    """The model folder the committed run fine-tuned: the pre-training run its ``pretraining_run.json`` records (seed
    i of the ``finetune`` stage starts from pre-training run i), else ``data/models/<model>`` (a run that records none)."""
    record = committed / "pretraining_run.json"
    return Path(json.loads(record.read_text())["model_dir"]) if record.is_file() else Path("data/models") / model


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", nargs="+", default=list(DEFAULT_RUNS), help="model/task pairs of the committed run")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None, help="where the new runs go (default: a temporary folder)")
    args = ap.parse_args()

    import polars as pl

    from bertvsgpt.config import load_params
    from bertvsgpt.tasks.registry import finetune_task
    from bertvsgpt.tasks.options import RunOptions, TaskRun

    params = load_params("params.yaml")
    out = args.out or Path(tempfile.mkdtemp(prefix="reproduce-"))
    failed = 0
    for run in args.runs:
        model, task = run.split("/")
        committed = Path("data/finetune") / model / task / f"seed_{args.seed}"
        if not (committed / "predictions.parquet").is_file():
            print(f"{run}: no committed run at {committed} (run `make run` first)", file=sys.stderr)
            return 2
        table = pl.read_parquet(Path("data/prepared/tasks") / f"{task}.parquet")
        t0 = time.perf_counter()
        finetune_task(
            start_of(committed, model), TaskRun(table, params.tasks[task], params.finetune, args.seed, out / model / task),
            options=RunOptions(precision=params.finetune.precision, enable_progress_bar=False),
        )
        problems = compare(committed, out / model / task)
        failed += bool(problems)
        verdict = "identical predictions.parquet and metrics" if not problems else "; ".join(problems)
        print(f"{params.tasks[task].type:22s} {run:18s} {time.perf_counter() - t0:6.0f} s  {verdict}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
