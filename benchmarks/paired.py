"""Paired bootstrap between fine-tuned models from different runs, e.g. a published checkpoint against our models.

The report tests the models of one run against each other. This tests any finished fine-tuning folders against each
other on the test rows they share (the task tables are the same when ``prepare`` and the caps are), with the report's
bootstrap (``report/significance.py``: resampled test examples, every seed of a model averaged; with
``--resample-seeds`` each model's seeds are resampled too, the report's two-level test, drawn as the report draws
them for a model of the same name, so ``--against bert=...`` reproduces the report's p-values for ``bert``)::

    python -m pipeline.finetune model=minilm task=sentiment      # or any finished data/finetune/<model>
    python -m benchmarks.paired data/finetune/minilm --against bert=data/finetune/bert \\
        bert-scratch=data/finetune/bert-scratch --baselines data/baselines --out /tmp/minilm_tests.csv

A model folder holds ``<task>/seed_<n>/{metrics.json,predictions.parquet}`` (``data/finetune/<model>``, or a
``budget_curve`` sweep's ``finetune/<arch>-<budget>``); ``--baselines`` is the baselines stage's folder
(``<task>/<baseline>/predictions.parquet``), and the model is tested against every baseline of each task. The primary
metric is the model's (``metrics.json``); a task either side lacks is skipped. Prints one CSV row per (task, against).

Several pre-training runs of one recipe pool into one model by joining their folders with commas, for the model and
for any opponent: each folder's seeds count as that model's runs (the bootstrap averages over all of them)::

    python -m benchmarks.paired /tmp/l4/finetune/gpt-8000000,/tmp/l4s1/finetune/gpt-8000000 \
        --against L4-bert=/tmp/l4/finetune/bert-8000000,/tmp/l4b8s1/finetune/bert-8000000
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

FIELDS = ["task", "metric", "model", "against", "seeds", "seeds_against", "score", "score_against",
          "delta", "ci_low", "ci_high", "p_value", "n_examples"]


def seed_frames(folder: Path, task: str, seeds: set[int] | None = None) -> list:
    """A model folder's prediction tables on one task, one per seed (sorted by seed): the report's reader."""
    from bertvsgpt.report.inputs import read_predictions

    runs = read_predictions(folder.parent, [folder.name], [task]).get((folder.name, task), {})
    return [frame for s, frame in runs.items() if seeds is None or s in seeds]


def pooled_frames(folders: list[Path], task: str) -> list:
    """The prediction tables of every seed of every folder on one task; none if any folder lacks the task."""
    frames = [seed_frames(folder, task) for folder in folders]
    return [f for runs in frames for f in runs] if all(frames) else []


def pooled_name(folders: list[Path]) -> str:
    """``bert-8000000`` for one folder, ``a+b`` for differently named ones, ``bert-8000000 (2 folders)`` for namesakes."""
    names = list(dict.fromkeys(f.name for f in folders))
    return "+".join(names) + (f" ({len(folders)} folders)" if len(names) < len(folders) else "")


def parse_folders(spec: str) -> list[Path]:
    """``DIR[,DIR...]`` -> existing folders; ValueError naming the first missing one."""
    folders = [Path(p) for p in spec.split(",")]
    missing = [str(f) for f in folders if not f.is_dir()]
    if not spec or missing:
        raise ValueError(f"{missing[0] if missing else spec!r}: no such folder")
    return folders


def compare_frames(a: list, b: list, metric: str, task: str, resamples: int = 1000, seed: int = 42, seed_rngs=(None, None)):
    """``a − b`` on one task, the report's paired bootstrap over the test examples of both sets of prediction
    tables (one per seed; ``seed_rngs``: also resample each side's seeds): the test, a's score, b's score."""
    from bertvsgpt.report.comparison import task_seed
    from bertvsgpt.report.significance import check_same_rows, compare, model_replicates, resample_counts

    n = check_same_rows({f"a{i}": f for i, f in enumerate(a)} | {f"b{i}": f for i, f in enumerate(b)})
    counts = resample_counts(n, resamples, task_seed(seed, task))
    ra, rb = model_replicates(a, metric, counts, seed_rngs[0]), model_replicates(b, metric, counts, seed_rngs[1])
    return compare(ra, rb, n), ra.observed, rb.observed


def primary_metric(task_dir: Path) -> str:
    first = next(iter(sorted(task_dir.glob("seed_*/metrics.json"))), None)
    if first is None:
        raise FileNotFoundError(f"{task_dir}: no seed_<n>/metrics.json")
    return json.loads(first.read_text())["primary_metric"]


def paired_rows(model: Path | list[Path], against: dict[str, Path | list[Path]], baselines: Path | None = None,
                tasks: list[str] | None = None, resamples: int = 1000, seed: int = 42,
                resample_seeds: bool = False) -> list[dict]:
    """One row per (task, opponent): the model's score, the opponent's, and the paired test of the difference.

    ``model`` and each opponent: one fine-tuning folder, or a list of them pooled as one model (``pooled_frames``).
    ``resample_seeds``: also resample each side's seeds (the report's two-level bootstrap), with the generator the
    report uses for a model of that name (``comparison.seed_draws``: the model's folder name, the opponent's NAME).
    """
    from bertvsgpt.report.comparison import seed_draws
    from bertvsgpt.report.inputs import read_baselines
    from bertvsgpt.report.significance import supports

    models = model if isinstance(model, list) else [model]
    against = {name: f if isinstance(f, list) else [f] for name, f in against.items()}
    if resample_seeds and pooled_name(models) in against:
        raise ValueError(f"--against {pooled_name(models)}=...: the opponent has the model's name, so both would draw "
                         "the same seeds; give it another NAME")
    rows = []
    task_dirs = sorted(p for p in models[0].iterdir() if p.is_dir() and any(p.glob("seed_*/predictions.parquet")))
    for task_dir in task_dirs:
        task = task_dir.name
        if tasks is not None and task not in tasks:
            continue
        a = pooled_frames(models, task)
        if not a:
            continue
        metric = primary_metric(task_dir)
        opponents = {name: pooled_frames(folders, task) for name, folders in against.items()}
        if baselines is not None:
            found = sorted(read_baselines(baselines, [task]).get(task, []), key=lambda b: b.name)
            opponents |= {f"baseline:{b.name}": [b.predictions] for b in found if b.predictions is not None}
        for name, b in opponents.items():
            if not b or not supports(metric, b[0]):
                continue
            rngs = (seed_draws(seed, pooled_name(models)), seed_draws(seed, name)) if resample_seeds else (None, None)
            t, score, score_b = compare_frames(a, b, metric, task, resamples, seed, rngs)
            rows.append({"task": task, "metric": metric, "model": pooled_name(models), "against": name, "seeds": len(a),
                         "seeds_against": len(b), "score": round(score, 4), "score_against": round(score_b, 4),
                         "delta": round(t.delta, 4), "ci_low": round(t.ci_low, 4), "ci_high": round(t.ci_high, 4),
                         "p_value": round(t.p_value, 4), "n_examples": t.n_examples})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", help="a fine-tuned model's folder (<task>/seed_<n>/predictions.parquet), or DIR,DIR,... pooled")
    ap.add_argument("--against", nargs="*", default=[], metavar="NAME=DIR[,DIR...]", help="opponents, folders like the model's")
    ap.add_argument("--baselines", type=Path, default=None, help="the baselines stage's folder (data/baselines)")
    ap.add_argument("--tasks", nargs="*", default=None, help="default: every task the model's folder has")
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--resample-seeds", action="store_true",
                    help="also resample each model's seeds (the report's two-level test; names as the report's models)")
    ap.add_argument("--out", type=Path, default=None, help="also write the CSV here")
    args = ap.parse_args()
    against = {}
    for item in args.against:
        name, sep, folders = item.partition("=")
        try:
            if not sep or not name:
                raise ValueError("expected NAME=DIR[,DIR...]")
            against[name] = parse_folders(folders)
        except ValueError as e:
            sys.exit(f"error: --against {item!r}: {e}")
    try:
        model = parse_folders(args.model)
    except ValueError as e:
        sys.exit(f"error: {e}")
    try:
        rows = paired_rows(model, against, args.baselines, args.tasks, args.resamples, args.seed, args.resample_seeds)
    except ValueError as e:
        sys.exit(f"error: {e}")
    if not rows:
        sys.exit(f"error: {args.model}: no task with predictions shared with any opponent")
    write_csv(sys.stdout, rows)
    if args.out:
        with args.out.open("w", newline="") as f:
            write_csv(f, rows)


def write_csv(f, rows: list[dict]) -> None:
    w = csv.DictWriter(f, fieldnames=FIELDS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)


if __name__ == "__main__":
    main()
