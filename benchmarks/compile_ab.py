"""``torch.compile`` against eager for one of our models' training step, paired so machine drift cancels.

``make bench`` times each model in its own block of steps; on a noisy machine (a shared CPU moved the
bench's BERT step 101-148 ms between runs) that noise is larger than what compiling buys. Here one
process builds an eager and a compiled copy of the same model (same initial weights, same batches,
the bench's step: forward under autocast, backward, clipping, AdamW) and alternates ``--blocks``
blocks of ``--steps`` steps between them (eager first in even pairs, compiled first in odd ones); the
ratio compiled/eager is taken per pair of adjacent blocks, and its median is the answer.

    python -m benchmarks.compile_ab --model gpt                # params.yaml's shape and dtype
    python -m benchmarks.compile_ab --model bert --dtype fp32
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Any, Optional, Sequence

import torch

from benchmarks.pretrain_throughput import bench_config, build_model, make_batches, make_step, parse_args as bench_args, resolve_dtype
from bertvsgpt.allocator import keep_freed_memory

MODES = ("eager", "compiled")


def paired_timing(arch: str, bench_argv: Sequence[str], steps: int, blocks: int, warmup: int = 3) -> dict[str, Any]:
    """ms per step of each block for both modes, the per-pair ratios, and each mode's warm-up seconds
    (the compiled copy's is its compilation)."""
    args = bench_args(list(bench_argv))
    cfg = bench_config(args)
    _, amp_dtype = resolve_dtype(args.dtype)
    device = torch.device("cpu")
    batches = make_batches(cfg, min(warmup + steps, 16), device)[arch]
    step, warmup_seconds = {}, {}
    for mode in MODES:
        step[mode] = make_step(f"ours_{arch}", build_model(f"ours_{arch}", cfg), cfg, device, amp_dtype, mode == "compiled")
        t0 = time.perf_counter()
        for i in range(warmup):
            step[mode](batches[i % len(batches)])
        warmup_seconds[mode] = time.perf_counter() - t0
    ms: dict[str, list[float]] = {mode: [] for mode in MODES}
    order = []
    for b in range(blocks):
        for mode in MODES if b % 2 == 0 else MODES[::-1]:  # ABBA: neither mode always runs first
            order.append(mode)
            t0 = time.perf_counter()
            for i in range(steps):
                step[mode](batches[(warmup + i) % len(batches)])
            ms[mode].append(1000 * (time.perf_counter() - t0) / steps)
    ratios = [c / e for c, e in zip(ms["compiled"], ms["eager"])]
    return {
        "arch": arch,
        "dtype": str(amp_dtype).removeprefix("torch."),
        "ms_per_step": ms,
        "order": order,
        "ratios": ratios,
        "median_ratio": statistics.median(ratios),
        "warmup_seconds": warmup_seconds,
    }


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", choices=["bert", "gpt"], required=True)
    ap.add_argument("--dtype", default="auto", help="auto (what the stage picks), fp32 or bf16")
    ap.add_argument("--steps", type=int, default=10, help="steps per block")
    ap.add_argument("--blocks", type=int, default=8, help="blocks per mode (pairs)")
    args, shape = ap.parse_known_args(argv)  # anything else (--layers, --d-model, ...) goes to the bench's parser
    if args.steps < 1 or args.blocks < 1:
        ap.error("--steps and --blocks must be >= 1")
    keep_freed_memory()  # as the stages and the bench do
    r = paired_timing(args.model, [*shape, "--dtype", args.dtype], args.steps, args.blocks)
    for mode in MODES:
        runs = r["ms_per_step"][mode]
        print(f"{r['arch']} {r['dtype']} {mode:>8}: median {statistics.median(runs):.1f} ms/step "
              f"(blocks {min(runs):.1f}-{max(runs):.1f}); warm-up {r['warmup_seconds'][mode]:.1f} s")
    print(f"compiled / eager, per pair: median {r['median_ratio']:.3f} "
          f"(pairs {min(r['ratios']):.2f}-{max(r['ratios']):.2f}; {args.blocks} pairs of {args.steps} steps)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
