"""The pipeline's own pre-training stage against the bench's bare training step, at the same shape, now.

``make bench`` times our models' bare training step (forward, backward, clipping, AdamW on ready-made
batches). The ``pretrain`` stage adds everything around it: the token store and the BERT instances or
GPT windows, dynamic masking, the collator, Lightning's loop, logging, the budget and resume
checkpoints. This runs the stage's own code (:func:`bertvsgpt.pretraining.run.pretrain`) for each
model at a small token budget in a temporary folder, from the committed tokenizers
(``data/tokenizers/<arch>``, ``make run`` writes them), and times the bench's step of the same model
at the same shape right before it, alternating ``--repeats`` times; medians go in the table:

- ``bench``: :func:`benchmarks.pretrain_throughput.time_training`, ms per step;
- ``stage step``: the stage's ``train_seconds / steps`` (``metrics/pretrain/<arch>.json``; the time
  from batch start to batch end: forward, backward, optimiser, callbacks, logging; its first step
  included, so a compiled stage's compilation is spread over these few steps);
- ``stage wall``: the stage's logged ``tokens_per_second`` windows after the first (which holds the
  warm-up), as ms per step: everything in the loop, data loading included.

Issue 17's target: the stage within 10 % of the bench (``stage wall / bench <= 1.10``).

Checkpoints are saved as often as in the default run. The stage saves a resume checkpoint every tenth
of its steps (every 781 steps of the default run's 7,812) and exports the budget checkpoints
(``pretrain.checkpoint_fractions``: two in 7,812 steps). A 64-step timing run would otherwise save
ten resume checkpoints and export two models in 64 steps, a hundred times the default run's rate
(~40 ms a save: several ms on every step); ``--own-checkpoints`` keeps the short run's own rate to show it.

    python -m benchmarks.stage_throughput                   # 64 steps per stage run, 3 repeats
    python -m benchmarks.stage_throughput --steps 128 --repeats 5 --models gpt
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from contextlib import contextmanager, nullcontext
from pathlib import Path
from unittest import mock
from typing import Any, Optional, Sequence

import torch

import polars as pl

from benchmarks.pretrain_throughput import bench_config, build_model, make_batches, parse_args as bench_args, time_training
from bertvsgpt.config import load_params
from bertvsgpt.allocator import keep_freed_memory
from bertvsgpt.hardware import autocast_dtype, resolve_precision

TARGET = 1.10  # stage wall time per step / bench time per step


@contextmanager
def resume_checkpoints_every(steps: int):
    """Make the stage's resume checkpoint (Lightning's ``ModelCheckpoint``) save every ``steps`` steps."""
    from lightning.pytorch import callbacks

    init = callbacks.ModelCheckpoint.__init__

    def every(self, *args, **kwargs):
        init(self, *args, **{**kwargs, "every_n_train_steps": steps})

    with mock.patch.object(callbacks.ModelCheckpoint, "__init__", every):
        yield


def default_run_checkpoint_interval(params_path: str = "params.yaml") -> int:
    """Steps between the default run's resume checkpoints: a tenth of its steps (``pretrain.run``)."""
    from bertvsgpt.pretraining.module import steps_for_budget

    p = load_params(params_path).pretrain
    return max(1, steps_for_budget(p.max_tokens, p.batch_size, p.seq_len) // 10)


def stage_run(arch: str, steps: int, tokens_per_step: int, out: Path, own_checkpoints: bool = False) -> dict[str, Any]:
    """One run of the pre-training stage's code for ``steps`` steps; its summary and per-window curve.
    Unless ``own_checkpoints``, it checkpoints at the default run's rate (the module docstring)."""
    from bertvsgpt.pretraining.run import pretrain

    overrides = [f"pretrain.max_tokens={steps * tokens_per_step}", "pretrain.log_every_n_steps=8"]
    if not own_checkpoints:
        overrides.append("pretrain.checkpoint_fractions=[]")
    params = load_params("params.yaml", overrides)
    with nullcontext() if own_checkpoints else resume_checkpoints_every(default_run_checkpoint_interval()):
        summary = pretrain(arch, params, Path("data/tokenizers") / arch, out / "model", out / "resume", enable_progress_bar=False)
    return {"summary": summary, "curve": pl.read_csv(out / "model" / "curve.csv").to_dicts()}


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["bert", "gpt"], choices=["bert", "gpt"])
    ap.add_argument("--steps", type=int, default=64, help="training steps per stage run (and bench run)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument(
        "--own-checkpoints", action="store_true",
        help="keep the short run's own checkpoint rate (a resume checkpoint every tenth of --steps, two budget "
        "exports) instead of the default run's",
    )  # fmt: skip
    args = ap.parse_args(argv)
    for arch in args.models:
        if not (Path("data/tokenizers") / arch / "tokenizer.json").is_file():
            print(f"error: data/tokenizers/{arch}/tokenizer.json is missing (run `make run` first)", file=sys.stderr)
            return 2

    keep_freed_memory()  # as every stage process (bertvsgpt.cli.run_stage) and the bench do
    cfg = bench_config(bench_args([]))  # params.yaml's shape
    stage = load_params("params.yaml").pretrain
    amp_dtype = autocast_dtype(resolve_precision(stage.precision))  # the stage's dtype
    compiled = {arch: getattr(stage.compile, arch) for arch in args.models}  # the bench's step as the stage's
    tokens_per_step = cfg.batch_size * cfg.seq_len
    device = torch.device("cpu")
    batches = make_batches(cfg, 16, device)
    rows = []
    for arch in args.models:
        bench, step, wall = [], [], []
        for _ in range(args.repeats):
            t = time_training(f"ours_{arch}", build_model(f"ours_{arch}", cfg), batches[arch], cfg, args.steps, 3, device, amp_dtype, compiled[arch])
            bench.append(1000 * t["seconds"] / args.steps)
            with tempfile.TemporaryDirectory(prefix="stage-") as tmp:
                r = stage_run(arch, args.steps, tokens_per_step, Path(tmp), args.own_checkpoints)
            s = r["summary"]
            step.append(1000 * s["train_seconds"] / s["steps"])
            windows = [row["tokens_per_second"] for row in r["curve"][1:] if "tokens_per_second" in row]
            wall.append(1000 * tokens_per_step / statistics.median(windows) if windows else float("nan"))
            print(f"{arch}: bench {bench[-1]:.1f} ms, stage step {step[-1]:.1f} ms, stage wall {wall[-1]:.1f} ms", flush=True)
        rows.append((arch, statistics.median(bench), statistics.median(step), statistics.median(wall)))

    print(f"\n{'model':<6} {'bench ms':>9} {'stage step ms':>14} {'stage wall ms':>14} {'wall/bench':>11}")
    failed = False
    for arch, b, s, w in rows:
        ratio = w / b
        failed |= not ratio <= TARGET
        print(f"{arch:<6} {b:>9.1f} {s:>14.1f} {w:>14.1f} {ratio:>10.2f}x  {'PASS' if ratio <= TARGET else 'FAIL'} (<= {TARGET:.2f}x)")
    rate = "the short run's own checkpoints" if args.own_checkpoints else "checkpoints at the default run's rate"
    print(f"(medians of {args.repeats} alternating runs of {args.steps} steps, {rate}; batch {cfg.batch_size} x "
          f"{cfg.seq_len}, {cfg.n_layer}L/d{cfg.d_model}, {torch.get_num_threads()} threads)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
