"""Score against pre-training budget: BERT and GPT pre-trained to several token budgets, each fine-tuned on every task.

The default run pre-trains to one budget (``pretrain.max_tokens``). This asks the issue-12 question along the budget
axis: from which budget does pre-training pay, and for which objective, with the same recipe and only the tokens changed?
Run from the repository root after ``dvc repro`` has prepared the corpus, tokenizers and task tables (it reads
``data/tokenizers/<arch>`` and ``data/prepared/tasks``, and writes only under ``--out``)::

    python -m benchmarks.budget_curve --budgets 4000000 16000000 64000000 --workers 12 --out /tmp/budget
    python -m benchmarks.budget_curve --plot /tmp/budget/scores.csv   # the figure, from a finished run's CSV
    # the same bodies fine-tuned with another protocol (no pre-training): a fine-tuning lever sweep
    python -m benchmarks.budget_curve --budgets 32000000 --seeds 0 --models-from /tmp/budget --out /tmp/mean finetune.pooling=mean
    # each (model, task, seed) fine-tuned with whichever sweep scored best on its dev split, then tested
    python -m benchmarks.budget_curve --select-on-dev /tmp/budget /tmp/mean --out /tmp/selected
    # pre-training with a warm-up/stable/decay schedule instead of the pipeline's linear decay (benchmarks.lr_schedule)
    python -m benchmarks.budget_curve --budgets 8000000 --archs bert --no-scratch --lr-schedule wsd --decay-fraction 0.2 --out /tmp/wsd

Each pre-training run is the pipeline's own ``pretrain()`` with ``params.yaml``'s recipe and only
``pretrain.max_tokens`` changed; each fine-tuning run is the pipeline's own ``finetune_task()`` with the default
protocol. Scratch twins (budget 0) are fine-tuned once. Jobs run in parallel processes (``--workers``; on one GPU
several small models share the device), seed 0 of every cell before seed 1, and every finished job is appended to
``scores.csv`` at once, so a run stopped by a deadline keeps what it finished. On the 2-core CPU one 64 M-token
pre-training takes 22-28 min in bf16 (AVX-512 BF16) and ~1.5-2 h in fp32 (AVX2).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from multiprocessing import get_context
from pathlib import Path

from benchmarks.lr_schedule import DECAY_SHAPES, SCHEDULES, pretraining_schedule, warmup_stable_decay

TOKENIZERS = Path("data/tokenizers")
TASKS = Path("data/prepared/tasks")
FIELDS = ["model", "arch", "budget_tokens", "task", "seed", "metric", "score", "train_seconds", "steps_run"]


def exit_with_parent(parent_pid: int, poll_seconds: float = 2.0) -> None:
    """Pool initializer: the worker exits when the process that started it dies.

    A killed ``budget_curve`` (Ctrl-C, ``kill``, a deadline) would otherwise leave its spawned workers training on,
    orphaned, holding the CPU; what they finished is checkpointed, so the next run resumes it.
    """
    import threading

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(poll_seconds)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="exit-with-parent").start()


def _threads(n: int) -> None:
    import torch

    torch.set_num_threads(n)


def pretrain_job(arch: str, budget: int, overrides: list[str], out: str, threads: int, schedule: tuple = ("linear", 0.2, "linear")) -> dict:
    """Pre-train ``arch`` to ``budget`` tokens into ``out/models/<arch>-<budget>``; intrinsic metrics beside it.

    ``schedule``: (name, decay fraction, decay shape) of ``benchmarks.lr_schedule``; ``linear`` is the pipeline's.
    """
    _threads(threads)
    from bertvsgpt.config import load_params
    from bertvsgpt.evaluation.intrinsic import intrinsic_metrics
    from bertvsgpt.pretraining.run import pretrain

    params = load_params("params.yaml", [*overrides, f"pretrain.max_tokens={budget}"])
    model_dir = Path(out) / "models" / f"{arch}-{budget}"
    t0 = time.perf_counter()
    with pretraining_schedule(*schedule):
        summary = pretrain(arch, params, TOKENIZERS / arch, model_dir, Path(out) / "resume" / f"{arch}-{budget}", enable_progress_bar=False)
    intrinsic = intrinsic_metrics(model_dir, TOKENIZERS / arch, params, seed=params.seed)
    row = {"arch": arch, "budget_tokens": budget, "seconds": time.perf_counter() - t0, "lr_schedule": _schedule_name(schedule),
           **_scalars(summary), **_scalars(intrinsic)}
    (model_dir / "budget_summary.json").write_text(json.dumps(row, indent=1))
    return row


def scratch_job(arch: str, overrides: list[str], out: str) -> str:
    from bertvsgpt.config import load_params
    from bertvsgpt.pretraining.scratch import write_scratch_model

    params = load_params("params.yaml", overrides)
    model_dir = Path(out) / "models" / f"{arch}-0"
    write_scratch_model(arch, params, TOKENIZERS / arch, model_dir)
    return str(model_dir)


def finetune_job(model: str, arch: str, budget: int, task: str, seed: int, overrides: list[str], out: str, threads: int) -> dict:
    _threads(threads)
    import polars as pl

    from bertvsgpt.config import load_params
    from bertvsgpt.tasks.registry import finetune_task
    from bertvsgpt.tasks.options import RunOptions, TaskRun

    params = load_params("params.yaml", overrides)
    table = pl.read_parquet(TASKS / f"{task}.parquet")
    run_dir = Path(out) / "finetune" / model / task / f"seed_{seed}"
    run = TaskRun(table, params.tasks[task], params.finetune, seed, run_dir)
    m = finetune_task(Path(out) / "models" / model, run, options=RunOptions(precision=params.finetune.precision))
    metric = m["primary_metric"]
    return {"model": model, "arch": arch, "budget_tokens": budget, "task": task, "seed": seed, "metric": metric,
            "score": m[metric], "train_seconds": round(m.get("train_seconds", 0.0), 1), "steps_run": m.get("steps_run")}


def _schedule_name(schedule: tuple) -> str:
    name, fraction, shape = schedule
    return name if name == "linear" else f"{name} (decay: last {fraction:g}, {shape})"


def _scalars(d: dict) -> dict:
    return {k: v for k, v in d.items() if isinstance(v, (int, float, str)) and not isinstance(v, bool)}


def _append(path: Path, row: dict) -> None:
    new = not path.exists()
    with path.open("a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS, extrasaction="ignore", lineterminator="\n")
        if new:
            w.writeheader()
        w.writerow(row)


def run(args: argparse.Namespace) -> None:
    from bertvsgpt.config import load_params

    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    params = load_params("params.yaml", args.overrides)
    tasks = args.tasks or list(params.finetune.tasks)
    threads = max(1, (os.cpu_count() or 2) // args.workers)
    scores = out / "scores.csv"
    done = {(r["model"], r["task"], int(r["seed"])) for r in csv.DictReader(scores.open())} if scores.exists() else set()
    queue: list[tuple] = []  # fine-tuning jobs waiting: (seed, budget order, model, arch, budget, task)

    def enqueue(model: str, arch: str, budget: int) -> None:
        queue.extend((seed, budget, model, arch, budget, task) for seed in args.seeds for task in tasks if (model, task, seed) not in done)
        queue.sort()  # seed 0 of every cell before seed 1: a run stopped early keeps whole seeds

    if args.from_default:
        import_default(args.from_default, params, scores, done)
    if args.models_from:
        link_pretrained(args.models_from, out, args.archs, args.budgets)
    for arch in args.archs if args.scratch else []:
        scratch_job(arch, args.overrides, str(out))
        enqueue(f"{arch}-0", arch, 0)
    todo = []
    for b in sorted(args.budgets, reverse=True):
        for arch in args.archs:
            if pretrained(out, arch, b):  # pre-trained by an earlier run (or linked by --models-from)
                enqueue(f"{arch}-{b}", arch, b)
            else:
                todo.append((arch, b))
    with ProcessPoolExecutor(args.workers, mp_context=get_context("spawn"), initializer=exit_with_parent, initargs=(os.getpid(),)) as pool:
        schedule = (args.lr_schedule, args.decay_fraction, args.decay_shape)
        running = {pool.submit(pretrain_job, arch, b, args.overrides, str(out), threads, schedule): ("pretrain", arch, b) for arch, b in todo}
        while running or queue:
            while queue and len(running) < args.workers:
                _, _, model, arch, budget, task = job = queue.pop(0)
                running[pool.submit(finetune_job, model, arch, budget, task, job[0], args.overrides, str(out), threads)] = ("finetune", model, task, job[0])
            finished, _ = wait(set(running), return_when=FIRST_COMPLETED)
            for fut in finished:
                what = running.pop(fut)
                try:
                    row = fut.result()
                except Exception as e:  # one failed cell must not stop the others; it is reported
                    print(f"FAILED {what}: {type(e).__name__}: {e}", flush=True)
                    continue
                if what[0] == "pretrain":
                    with (out / "pretrain.jsonl").open("a") as f:
                        f.write(json.dumps(row) + "\n")
                    print(f"pretrained {what[1]} {what[2]:,} tokens in {row['seconds']:.0f} s", flush=True)
                    enqueue(f"{what[1]}-{what[2]}", what[1], what[2])
                else:
                    _append(scores, row)
                    print(f"{row['model']:>12} {row['task']:<12} seed {row['seed']} {row['metric']} {row['score']:.4f} ({row['train_seconds']} s)", flush=True)


def pretrained(out: Path, arch: str, budget: int) -> bool:
    """Whether ``out`` holds a finished pre-training run of ``arch`` at ``budget`` (its summary is written last)."""
    return (Path(out) / "models" / f"{arch}-{budget}" / "budget_summary.json").is_file()


def link_pretrained(source: Path, out: Path, archs: list[str], budgets: list[int]) -> None:
    """Reuse another run's pre-trained bodies: ``out/models/<arch>-<budget>`` becomes a link to ``source``'s, so a
    sweep of fine-tuning overrides (``finetune.lr=...``) fine-tunes the very same models without pre-training again.
    Scratch twins are still written under ``out`` (cheap, and they follow the overrides' model settings)."""
    (out / "models").mkdir(parents=True, exist_ok=True)
    for arch in archs:
        for b in budgets:
            if not pretrained(source, arch, b):
                raise SystemExit(f"--models-from {source}: no finished pre-training run {arch}-{b} (models/{arch}-{b}/budget_summary.json)")
            src, link = (Path(source) / "models" / f"{arch}-{b}").resolve(), out / "models" / f"{arch}-{b}"
            if not link.exists() and not link.is_symlink():
                link.symlink_to(src, target_is_directory=True)
            elif link.resolve() != src:
                raise SystemExit(f"--models-from {source}: {link} already holds another pre-training run")


def select_on_dev(sweeps: list[Path], out: Path) -> list[dict]:
    """Each (model, task, seed) fine-tuned with whichever sweep scored best on its own dev split: the protocol of
    the papers' learning-rate grids, so a lever is credited only where a model would have picked it.

    ``sweeps`` are finished ``--out`` folders of one grid (the same bodies, one fine-tuning setting each, as
    ``--models-from`` makes them); ``out/finetune/<model>/<task>/seed_<n>`` becomes a link to the chosen run, so
    ``paired_tests(out, ...)`` tests the selection, and ``out/selection.csv`` says what was chosen. A tie goes to the
    earlier sweep (list the default first); a cell some sweep lacks is left out, so every cell chose among the same
    settings. A sweep without any run of a model (GPT's auxiliary LM loss has no BERT runs) is not a choice for it."""
    cells: dict[tuple[str, str, str], list[tuple[float, int, Path, dict]]] = {}
    sweeps_of: dict[str, set[int]] = {}  # model -> the sweeps that fine-tuned it at all
    for i, sweep in enumerate(sweeps):
        if not (Path(sweep) / "finetune").is_dir():
            raise SystemExit(f"--select-on-dev: {sweep} has no finetune/ folder (not a finished --out)")
        for m in sorted((Path(sweep) / "finetune").glob("*/*/seed_*/metrics.json")):
            r = json.loads(m.read_text())
            if "best_dev_score" not in r:
                raise SystemExit(f"--select-on-dev: {m} has no best_dev_score")
            model = m.parent.parent.parent.name
            cells.setdefault((model, m.parent.parent.name, m.parent.name), []).append((r["best_dev_score"], i, m.parent, r))
            sweeps_of.setdefault(model, set()).add(i)
    rows = []
    for (model, task, seed), runs in sorted(cells.items()):
        if {i for _, i, _, _ in runs} != sweeps_of[model]:
            continue
        dev, i, run_dir, r = max(runs, key=lambda c: (c[0], -c[1]))
        link = out / "finetune" / model / task / seed
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink():
            link.unlink()
        elif link.exists():
            raise SystemExit(f"--select-on-dev: {link} is a run, not a link of an earlier selection; choose another --out")
        link.symlink_to(run_dir.resolve(), target_is_directory=True)
        rows.append({"model": model, "task": task, "seed": int(seed.removeprefix("seed_")), "chosen": Path(sweeps[i]).name,
                     "best_dev_score": round(dev, 4), "metric": r["primary_metric"], "score": round(r[r["primary_metric"]], 4)})
    with (out / "selection.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["model"], lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return rows


def import_default(finetune_dir: Path, params, scores: Path, done: set) -> None:
    """The default run's fine-tuning results (``data/finetune/<model>/<task>/seed_<n>``) as rows of the curve:
    ``bert``/``gpt`` at ``pretrain.max_tokens``, their scratch twins at 0, so only new budgets need computing."""
    for model_dir in sorted(Path(finetune_dir).iterdir()):
        arch, _, scratch = model_dir.name.partition("-")
        if arch not in ("bert", "gpt") or scratch not in ("", "scratch"):
            continue  # published checkpoints are not points of this curve
        budget = 0 if scratch else params.pretrain.max_tokens
        model = f"{arch}-{budget}"
        for m in sorted(model_dir.glob("*/seed_*/metrics.json")):
            task, seed = m.parent.parent.name, int(m.parent.name.removeprefix("seed_"))
            if (model, task, seed) in done:
                continue
            r = json.loads(m.read_text())
            metric = r["primary_metric"]
            _append(scores, {"model": model, "arch": arch, "budget_tokens": budget, "task": task, "seed": seed, "metric": metric,
                             "score": r[metric], "train_seconds": round(r.get("train_seconds", 0.0), 1), "steps_run": r.get("steps_run")})
            done.add((model, task, seed))


def prediction_dirs(out: Path, finetune_dir: Path | None, default_budget: int) -> dict[str, Path]:
    """``<arch>-<budget>`` -> the folder holding its ``<task>/seed_<n>/predictions.parquet``."""
    dirs = {p.name: p for p in sorted((out / "finetune").glob("*-*"))} if (out / "finetune").is_dir() else {}
    if finetune_dir is not None:
        for arch in ("bert", "gpt"):
            dirs.setdefault(f"{arch}-{default_budget}", Path(finetune_dir) / arch)
            dirs.setdefault(f"{arch}-0", Path(finetune_dir) / f"{arch}-scratch")
    return {m: d for m, d in dirs.items() if d.is_dir()}


def paired_tests(out: Path, finetune_dir: Path | None, default_budget: int, resamples: int = 1000, seed: int = 42,
                 runs_resampled: bool = False) -> list[dict]:
    """Each budget against its scratch twin (budget 0) and against the default budget, per task: the report's
    paired bootstrap over the test examples of every seed both have (``report/significance.py``).
    ``runs_resampled``: the report's two-level bootstrap, each resample also redrawing each model's seeds (for
    points whose fine-tuning seeds start from different pre-training runs, as the default run's do)."""
    from benchmarks.paired import compare_frames, primary_metric, seed_frames
    from bertvsgpt.report.comparison import seed_draws

    dirs = prediction_dirs(out, finetune_dir, default_budget)
    rows = []
    for model, folder in sorted(dirs.items()):
        arch, budget = model.rsplit("-", 1)[0], int(model.rsplit("-", 1)[1])
        if budget == 0:
            continue
        for other in (f"{arch}-0", f"{arch}-{default_budget}"):
            if other == model or other not in dirs:
                continue
            for task_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
                task = task_dir.name
                seeds = sorted({p.parent.name for p in task_dir.glob("seed_*/predictions.parquet")}
                               & {p.parent.name for p in (dirs[other] / task).glob("seed_*/predictions.parquet")})
                if not seeds:
                    continue
                metric = primary_metric(task_dir)
                common = {int(s.removeprefix("seed_")) for s in seeds}
                a, b = seed_frames(folder, task, common), seed_frames(dirs[other], task, common)
                rngs = tuple(seed_draws(seed, m) if runs_resampled else None for m in (model, other))
                t, _, _ = compare_frames(a, b, metric, task, resamples, seed, rngs)
                rows.append({"model": model, "against": other, "task": task, "metric": metric, "seeds": len(seeds),
                             "delta": round(t.delta, 4), "ci_low": round(t.ci_low, 4), "ci_high": round(t.ci_high, 4),
                             "p_value": round(t.p_value, 4)})
    return rows


def plot(scores_csv: Path, baselines: Path, figure: Path) -> None:
    """Score against pre-training tokens (log axis), one panel per task, BERT and GPT, scratch at the left edge."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import polars as pl

    df = pl.read_csv(scores_csv).group_by("arch", "budget_tokens", "task", "metric").agg(pl.col("score").mean(), pl.len().alias("n"))
    tasks = sorted(df["task"].unique())
    cols = min(4, len(tasks))
    rows = -(-len(tasks) // cols)
    fig, grid = plt.subplots(rows, cols, figsize=(3.4 * cols, 2.9 * rows), squeeze=False)
    axes = [list(grid.flat)]
    for ax in axes[0][len(tasks):]:
        ax.axis("off")
    budgets = sorted(b for b in df["budget_tokens"].unique() if b > 0)
    x0 = budgets[0] / 4 if budgets else 1.0  # where the scratch twin (0 tokens) is drawn on the log axis
    for ax, task in zip(axes[0], tasks):
        sub = df.filter(pl.col("task") == task)
        for arch, colour in (("bert", "tab:blue"), ("gpt", "tab:orange")):
            s = sub.filter(pl.col("arch") == arch).sort("budget_tokens")
            xs = [x0 if b == 0 else b for b in s["budget_tokens"]]
            ax.plot(xs, s["score"], "o-", color=colour, label=arch.upper())
        metric = sub["metric"][0]
        for base, style in zip(sorted((baselines / task).glob("*/metrics.json")), ("--", ":", "-.")):
            b = json.loads(base.read_text())
            if isinstance(b.get(metric), (int, float)):
                ax.axhline(b[metric], color="grey", ls=style, lw=1, label=base.parent.name)
        ax.set_xscale("log")
        ax.minorticks_off()
        ax.set_xticks([x0, *budgets], ["scratch", *[f"{b / 1e6:g}M" for b in budgets]], fontsize=7)
        ax.set_title(f"{task} ({sub['metric'][0].removeprefix('test_')})", fontsize=9)
        ax.legend(fontsize=6)
    fig.suptitle("Fine-tuned test score vs pre-training tokens (mean over seeds)", fontsize=10)
    fig.tight_layout()
    figure.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(figure, dpi=120)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budgets", type=int, nargs="+", default=[4_000_000, 16_000_000, 64_000_000])
    ap.add_argument("--archs", nargs="+", default=["bert", "gpt"])
    ap.add_argument("--tasks", nargs="*", default=None, help="default: finetune.tasks")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--no-scratch", dest="scratch", action="store_false", help="skip the scratch twins (budget 0)")
    ap.add_argument("--from-default", type=Path, default=None, metavar="DIR",
                    help="take the default run's results (data/finetune) as the pretrain.max_tokens and scratch points")
    ap.add_argument("--out", type=Path, default=Path("budget-curve"))
    ap.add_argument("--lr-schedule", choices=SCHEDULES, default="linear",
                    help="pre-training LR schedule: the pipeline's linear decay, or warm-up/stable/decay (benchmarks.lr_schedule)")
    ap.add_argument("--decay-fraction", type=float, default=0.2, help="with --lr-schedule wsd: the decayed share of the steps")
    ap.add_argument("--decay-shape", choices=DECAY_SHAPES, default="linear", help="with --lr-schedule wsd: linear or 1-sqrt decay")
    ap.add_argument("--models-from", type=Path, default=None, metavar="DIR",
                    help="fine-tune the pre-trained models of an earlier --out DIR instead of pre-training (sweeps of finetune.* overrides)")
    ap.add_argument("--plot", type=Path, default=None, help="only draw the figure from this scores.csv")
    ap.add_argument("--tests", action="store_true", help="only the paired bootstrap tests of a finished --out (CSV to stdout)")
    ap.add_argument("--select-on-dev", type=Path, nargs="+", default=None, metavar="DIR",
                    help="link under --out, per (model, task, seed), the run of these finished --out DIRs with the best dev "
                         "score, write selection.csv, then print the paired tests of the selection")
    ap.add_argument("--runs-resampled", action="store_true",
                    help="with --tests: also resample each model's seeds (the report's two-level bootstrap)")
    ap.add_argument("--baselines", type=Path, default=Path("data/baselines"))
    ap.add_argument("--figure", type=Path, default=Path("docs/figures/budget_curve.png"))
    ap.add_argument("overrides", nargs="*", help="Hydra overrides of params.yaml applied to every run")
    args = ap.parse_args()
    try:
        warmup_stable_decay(0, 100, args.decay_fraction, args.decay_shape)
    except ValueError as e:
        ap.error(str(e))
    if args.plot:
        plot(args.plot, args.baselines, args.figure)
    elif args.tests or args.select_on_dev:
        from bertvsgpt.config import load_params

        if args.select_on_dev:
            chosen = select_on_dev(args.select_on_dev, args.out.resolve())
            counts = Counter((r["model"], r["chosen"]) for r in chosen)
            print(f"selected {len(chosen)} runs on dev: " + ", ".join(f"{m} {c}: {n}" for (m, c), n in sorted(counts.items())),
                  file=sys.stderr)

        rows = paired_tests(args.out, args.from_default, load_params("params.yaml", args.overrides).pretrain.max_tokens,
                            runs_resampled=args.runs_resampled)
        w = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]) if rows else ["model"], lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    else:
        run(args)


if __name__ == "__main__":
    main()
