"""Training parity: our BERT/GPT against the Hugging Face classes they export to, trained side by side.

Run from the repository root (the figures in the README come from the default run)::

    OMP_NUM_THREADS=1 python -m benchmarks.hf_training_parity                # 200 steps, ~10 min of one CPU thread
    OMP_NUM_THREADS=1 python -m benchmarks.hf_training_parity --steps 10     # smoke run

What is compared
----------------
For each of BERT and GPT the script

1. builds our pre-training model at params.yaml's ``model:`` shape exactly as ``pipeline/pretrain.py`` does
   (:func:`bertvsgpt.pretraining.scratch.model_config`: 2 layers, d 128, 2 heads, d_ff 512, dropout 0,
   post-LN BERT, pre-LN GPT), seeded with params.yaml ``seed``;
2. saves it with :func:`bertvsgpt.models.save_pretrained` plus the tokenizer's ``tokenizer.json`` (the
   layout of ``data/models/<arch>``), exports that folder with :func:`bertvsgpt.hf.export_model`, and loads
   both sides back from disk: ours with :func:`bertvsgpt.models.load_pretrained`, transformers'
   ``BertForPreTraining`` / ``GPT2LMHeadModel`` with ``from_pretrained`` -- so both start from identical
   weights (the step-0 losses, before any update, are printed as a check);
3. trains both for ``--steps`` steps, fp32, on the *same* batches in the same order, built from the project's
   pre-training data by the pipeline's own code: the encoded corpus ``data/tokenizers/<arch>/train`` (the
   corpus ``data/prepared/corpus.parquet`` tokenised by ``data/tokenizers/<arch>/tokenizer.json``), turned
   into MLM+NSP instances / packed LM windows by :func:`bertvsgpt.pretraining.datasets.build_dataset` and
   ordered by its :class:`~bertvsgpt.sampler.EpochSampler` (epoch 0, seed ``seed``), at
   ``pretrain.seq_len`` and ``--batch`` sequences per step (default 16, half of ``pretrain.batch_size``, so that
   the default run fits ~10 min of one CPU thread; the pipeline's 32, ``--batch 32``, takes about twice as long);
4. with one optimiser for both, the pipeline's: :func:`bertvsgpt.optim.adamw_with_schedule` (AdamW, lr
   ``pretrain.lr``, weight decay ``pretrain.weight_decay`` on matrices and embeddings only, eps 1e-6,
   ``int(pretrain.warmup_fraction * steps)`` warm-up steps then linear decay to 0 at ``--steps``),
   gradient-norm clipping at ``pretrain.grad_clip`` (Lightning's ``gradient_clip_val``), one scheduler
   step per optimiser step.

Losses are the ones each class computes for training: BERT total = MLM + NSP (ours from the gathered masked
slots, HF's ``BertForPreTraining`` from a ``(B, T)`` label map that is -100 outside the same slots; MLM and
NSP are recorded separately, HF's recomputed from its returned logits outside the timed region); GPT = mean
next-token cross-entropy over all ``seq_len`` targets of each window (HF's ``GPT2LMHeadModel`` gets them as
``shift_labels``, the pre-shifted labels its causal-LM loss accepts, so neither side drops the window's last
target; ``labels=input_ids`` would).

Tokens/s counts ``batch x seq_len`` positions per optimiser step (as ``benchmarks.pretrain_throughput``),
timed from the forward pass to the end of ``zero_grad`` of each step; the first 3 steps are left out.

What "within noise" means here
------------------------------
Ours and HF see identical batches, so their curves can only differ through the implementations (operation
order in floating point, SDPA vs. gather-first MLM head, fused vs. split Q/K/V), amplified by training.
The question is whether that difference is visible against the variation a training curve has anyway. The
noise floor used for the verdict is what two runs that differ only in *which* batches they draw would show:

* For each window of ``--window`` steps and each loss, ``sigma`` = the batch-to-batch standard deviation of
  our per-step loss, estimated from consecutive steps (``std(l[t] - l[t-1]) / sqrt(2)``, which removes the
  downward trend a plain within-window std would count as noise). The window mean of one run then has
  standard error ``sigma / sqrt(n)``, and the difference of two runs' window means drawn on independent
  batches ``SE_diff = sqrt(2) * sigma / sqrt(n)``.
* **Verdict: within noise** iff in every window, for every loss, ``|mean(ours) - mean(HF)| <= 2 * SE_diff``
  (a two-sigma band, i.e. a difference a re-run with other batches would produce by chance ~95 % of the time).
  The summary line gives the largest ``|mean(ours) - mean(HF)| / (2 * SE_diff)`` over windows and losses: how
  much of the noise floor the implementations' difference uses up at worst.
* As an empirical check of that floor (unless ``--no-noise-run``), our model is trained a second time from
  the same weights on a different order of the same data (``EpochSampler`` seed ``seed + 1``): the column
  ``|ours - ours'|`` is the run-to-run difference a re-run with another shuffle actually shows. It contains
  the batch noise ``2 * SE_diff`` models plus the drift of the two trajectories, so it is usually larger:
  ``2 * SE_diff`` is the stricter of the two floors.
* Paired view (the difference itself, step by step): ``std(ours - HF)`` per step is printed next to
  ``sigma``; a ratio far below 1 says the implementations differ by much less than one batch differs from
  the next.

Outputs, in ``--out`` (default ``/tmp/hf_parity``): ``hf_parity_steps.csv`` (one row per model, loss and
step: ours, HF, ours on the other order, step seconds), ``hf_parity_windows.csv`` (the printed table),
``hf_parity.json`` (configuration, timings, verdicts) and ``hf_parity.png`` (loss vs step, ours vs HF with
the other-order run in grey, one panel per model; below, ours - HF per step against the two-sigma band).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from benchmarks.pretrain_throughput import (
    IGNORE_INDEX,
    _device_name,
    _transformers_version,
    attention_implementation,
    count_parameters,
)
from bertvsgpt.config import load_params
from bertvsgpt.hf import export_model
from bertvsgpt.models import load_pretrained, save_pretrained
from bertvsgpt.models.bert import BertForPreTraining
from bertvsgpt.models.gpt import GPTForPreTraining
from bertvsgpt.optim import adamw_with_schedule
from bertvsgpt.pretraining.datasets import build_dataset
from bertvsgpt.sampler import EpochSampler
from bertvsgpt.pretraining.scratch import model_config
from bertvsgpt.tokenization.token_store import TokenStore
from bertvsgpt.tokenization.special import PAD_TOKEN
from bertvsgpt.tokenization.train import load_tokenizer

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PARAMS = REPO_ROOT / "params.yaml"
DEFAULT_DATA = REPO_ROOT / "data" / "tokenizers"
DEFAULT_OUT = Path("/tmp/hf_parity")
ARCHS = ("bert", "gpt")
COMPONENTS = {"bert": ("total", "mlm", "nsp"), "gpt": ("lm",)}
HF_CLASS = {"bert": "BertForPreTraining", "gpt": "GPT2LMHeadModel"}
DEFAULT_BATCH = 16  # the pipeline's 32 takes about twice as long (module docstring)
TIMING_SKIP = 3  # first steps left out of tokens/s (allocator and BLAS warm-up)
RUNS = ("ours", "hf", "ours_alt")


# --------------------------------------------------------------------------------------------
# Data: the pipeline's own datasets and order
# --------------------------------------------------------------------------------------------


def batch_order(dataset: torch.utils.data.Dataset, n_batches: int, batch_size: int, seed: int) -> list[list[int]]:
    """The first ``n_batches`` batches of indices the pipeline's sampler yields (drop_last, epochs chained)."""
    sampler = EpochSampler(len(dataset), seed=seed)
    per_epoch = len(dataset) // batch_size
    if per_epoch == 0:
        raise ValueError(f"batch size {batch_size} is larger than the {len(dataset)} training sequences")
    out: list[list[int]] = []
    epoch = 0
    while len(out) < n_batches:
        sampler.set_epoch(epoch)
        if hasattr(dataset, "set_epoch"):
            dataset.set_epoch(epoch)  # BERT: dynamic masking of this epoch
        indices = list(sampler)
        out += [indices[i * batch_size : (i + 1) * batch_size] for i in range(min(per_epoch, n_batches - len(out)))]
        epoch += 1
    return out


def collate(arch: str, dataset: torch.utils.data.Dataset, indices: list[int]) -> dict[str, torch.Tensor]:
    """One batch in both formats: ours (gathered MLM slots / pre-shifted targets) and HF's label map."""
    batch = torch.utils.data.default_collate([dataset[i] for i in indices])
    if arch == "bert":
        labels = torch.full_like(batch["input_ids"], IGNORE_INDEX)
        valid = batch["masked_labels"] != IGNORE_INDEX
        rows = torch.arange(labels.size(0)).unsqueeze(1).expand_as(valid)
        labels[rows[valid], batch["masked_positions"][valid]] = batch["masked_labels"][valid]
        batch["hf_labels"] = labels
    return batch


def make_batches(arch: str, dataset, n: int, batch_size: int, seed: int) -> list[dict[str, torch.Tensor]]:
    return [collate(arch, dataset, idx) for idx in batch_order(dataset, n, batch_size, seed)]


# --------------------------------------------------------------------------------------------
# Models: ours -> save -> export -> both loaded from disk
# --------------------------------------------------------------------------------------------


def build_pair(arch: str, params, tokenizer, tokenizer_json: Path, workdir: Path) -> tuple[Path, Path, dict[str, Any]]:
    """Initialise our model (seeded), save it in ``data/models/<arch>`` layout and export it. Returns the dirs."""
    pad_id = tokenizer.token_to_id(PAD_TOKEN[arch])
    cfg = model_config(arch, params, tokenizer.get_vocab_size(), pad_id).validate()
    torch.manual_seed(params.seed)
    model = BertForPreTraining(cfg) if arch == "bert" else GPTForPreTraining(cfg)
    ours_dir, hf_dir = workdir / f"{arch}_ours", workdir / f"{arch}_hf"
    save_pretrained(model, cfg, ours_dir)
    shutil.copy2(tokenizer_json, ours_dir / "tokenizer.json")
    info = export_model(ours_dir, hf_dir)
    return ours_dir, hf_dir, info


def load_ours(ours_dir: Path) -> nn.Module:
    model, _ = load_pretrained(ours_dir)
    return model.train()


def load_hf(arch: str, hf_dir: Path) -> nn.Module:
    import transformers

    transformers.utils.logging.disable_progress_bar()
    model = getattr(transformers, HF_CLASS[arch]).from_pretrained(str(hf_dir))
    if arch == "gpt":
        # the loss it falls back to anyway, named to silence the "loss_type=None ... unrecognized" warning
        model.loss_type = "ForCausalLM"
    return model.float().train()


# --------------------------------------------------------------------------------------------
# One training step per side; the losses each class trains on
# --------------------------------------------------------------------------------------------


def ours_forward(arch: str, model: nn.Module, b: dict[str, torch.Tensor]) -> tuple[torch.Tensor, Any]:
    if arch == "bert":
        out = model(
            input_ids=b["input_ids"], token_type_ids=b["token_type_ids"], attention_mask=b["attention_mask"],
            masked_positions=b["masked_positions"], masked_labels=b["masked_labels"], nsp_labels=b["nsp_label"],
        )  # fmt: skip
    else:
        out = model(input_ids=b["input_ids"], targets=b["targets"])
    return out["loss"], out


def hf_forward(arch: str, model: nn.Module, b: dict[str, torch.Tensor]) -> tuple[torch.Tensor, Any]:
    if arch == "bert":
        out = model(
            input_ids=b["input_ids"], token_type_ids=b["token_type_ids"], attention_mask=b["attention_mask"],
            labels=b["hf_labels"], next_sentence_label=b["nsp_label"],
        )  # fmt: skip
    else:
        # all seq_len targets, pre-shifted as ours get them (labels=input_ids would drop each window's last one)
        out = model(input_ids=b["input_ids"], labels=b["input_ids"], shift_labels=b["targets"])
    return out.loss, out


def components(side: str, arch: str, loss: torch.Tensor, out: Any, b: dict[str, torch.Tensor]) -> dict[str, float]:
    """The recorded losses of one step (HF's MLM/NSP split recomputed from its logits, untimed)."""
    if arch == "gpt":
        return {"lm": float(loss)}
    if side == "ours":
        return {"total": float(loss), "mlm": float(out["mlm_loss"].detach()), "nsp": float(out["nsp_loss"].detach())}
    with torch.no_grad():
        labels = b["hf_labels"]
        sel = labels != IGNORE_INDEX
        mlm = F.cross_entropy(out.prediction_logits[sel].float(), labels[sel])
        nsp = F.cross_entropy(out.seq_relationship_logits.float(), b["nsp_label"])
    return {"total": float(loss), "mlm": float(mlm), "nsp": float(nsp)}


def train(
    side: str, arch: str, model: nn.Module, batches: list[dict[str, torch.Tensor]], p, label: str
) -> dict[str, Any]:
    """Train ``model`` on ``batches`` with the pipeline's optimiser; per-step losses and seconds."""
    steps = len(batches)
    opt = adamw_with_schedule(model, p.lr, p.weight_decay, int(p.warmup_fraction * steps), steps)
    optimizer, scheduler = opt["optimizer"], opt["lr_scheduler"]["scheduler"]
    forward = ours_forward if side == "ours" else hf_forward
    losses: dict[str, list[float]] = {c: [] for c in COMPONENTS[arch]}
    seconds: list[float] = []
    lrs: list[float] = []
    t_start = time.perf_counter()
    for i, b in enumerate(batches):
        lrs.append(optimizer.param_groups[0]["lr"])
        t0 = time.perf_counter()
        loss, out = forward(arch, model, b)
        loss.backward()
        if p.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), p.grad_clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        scheduler.step()
        seconds.append(time.perf_counter() - t0)
        for k, v in components(side, arch, loss.detach(), out, b).items():
            losses[k].append(v)
        del out, loss
        if (i + 1) % 50 == 0 or i + 1 == steps:
            first = COMPONENTS[arch][0]
            print(f"  {label:<18} step {i + 1:>4}/{steps}  loss {losses[first][-1]:.4f}  "
                  f"({time.perf_counter() - t_start:.0f} s)", flush=True)  # fmt: skip
    skip = min(TIMING_SKIP, steps - 1)
    tokens = batches[0]["input_ids"].numel()
    return {
        "losses": losses,
        "seconds": seconds,
        "lr": lrs,
        "tokens_per_s": tokens * (steps - skip) / sum(seconds[skip:]),
        "ms_per_step": 1000 * sum(seconds[skip:]) / (steps - skip),
        "wall_s": time.perf_counter() - t_start,
    }


@torch.no_grad()
def initial_losses(arch: str, ours: nn.Module, hf: nn.Module, b: dict[str, torch.Tensor]) -> tuple[float, float]:
    """Loss of both models on the first batch before any update (identical weights -> equal up to float error)."""
    return float(ours_forward(arch, ours, b)[0]), float(hf_forward(arch, hf, b)[0])


def optimiser_groups(model: nn.Module, weight_decay: float) -> tuple[int, int]:
    """(decayed, not decayed) parameter counts the optimiser sees: both sides must match."""
    from bertvsgpt.optim import adamw_param_groups

    g = adamw_param_groups(model, weight_decay)
    return sum(p.numel() for p in g[0]["params"]), sum(p.numel() for p in g[1]["params"])


# --------------------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------------------


def windows(steps: int, size: int) -> list[tuple[int, int]]:
    size = max(1, min(size, steps))
    return [(s, min(s + size, steps)) for s in range(0, steps, size)]


def step_sigma(x: np.ndarray) -> float:
    """Batch-to-batch std of a per-step loss, trend removed by first differences."""
    return float(np.std(np.diff(x), ddof=1) / math.sqrt(2)) if len(x) > 2 else float("nan")


def window_rows(arch: str, runs: dict[str, dict[str, Any]], size: int) -> list[dict[str, Any]]:
    rows = []
    steps = len(runs["ours"]["seconds"])
    for comp in COMPONENTS[arch]:
        ours = np.asarray(runs["ours"]["losses"][comp])
        hf = np.asarray(runs["hf"]["losses"][comp])
        alt = np.asarray(runs["ours_alt"]["losses"][comp]) if "ours_alt" in runs else None
        for a, z in windows(steps, size):
            o, h = ours[a:z], hf[a:z]
            n = z - a
            sigma = step_sigma(o)
            se_diff = math.sqrt(2) * sigma / math.sqrt(n)
            d = o - h
            rows.append({
                "model": arch, "loss": comp, "steps": f"{a + 1}-{z}", "n": n,
                "ours": float(o.mean()), "hf": float(h.mean()), "diff": float(o.mean() - h.mean()),
                "max_step_abs_diff": float(np.abs(d).max()),
                "std_step_diff": float(np.std(d, ddof=1)) if n > 1 else float("nan"),
                "sigma_step": sigma, "two_se_diff": 2 * se_diff,
                "ours_alt": float(alt[a:z].mean()) if alt is not None else float("nan"),
                "alt_abs_diff": float(abs(o.mean() - alt[a:z].mean())) if alt is not None else float("nan"),
                "within": bool(abs(o.mean() - h.mean()) <= 2 * se_diff) if math.isfinite(se_diff) else None,
            })  # fmt: skip
    return rows


def format_table(rows: list[dict[str, Any]]) -> str:
    other = "|ours-ours'|"
    head = (f"{'model':<5} {'loss':<5} {'steps':>8} {'ours':>8} {'HF':>8} {'ours-HF':>10} {'2*SE_diff':>9} "
            f"{other:>12} {'std(d)/step':>11} {'sigma':>7} {'ok':>3}")  # fmt: skip
    lines = [head, "-" * len(head)]
    for r in rows:
        ok = "-" if r["within"] is None else ("yes" if r["within"] else "NO")
        lines.append(
            f"{r['model']:<5} {r['loss']:<5} {r['steps']:>8} {r['ours']:>8.4f} {r['hf']:>8.4f} {r['diff']:>+10.2e} "
            f"{r['two_se_diff']:>9.4f} {r['alt_abs_diff']:>12.4f} {r['std_step_diff']:>11.2e} {r['sigma_step']:>7.4f} {ok:>3}"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Outputs
# --------------------------------------------------------------------------------------------


def write_steps_csv(path: Path, results: dict[str, dict[str, Any]]) -> None:
    with path.open("w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["model", "loss", "step", "lr", "ours", "hf", "ours_minus_hf", "ours_other_order",
                    "ours_step_s", "hf_step_s"])  # fmt: skip
        for arch, res in results.items():
            runs = res["runs"]
            alt = runs.get("ours_alt")
            for comp in COMPONENTS[arch]:
                for i, (o, h) in enumerate(zip(runs["ours"]["losses"][comp], runs["hf"]["losses"][comp])):
                    w.writerow([arch, comp, i + 1, f"{runs['ours']['lr'][i]:.6g}", f"{o:.6f}", f"{h:.6f}", f"{o - h:.3e}",
                                f"{alt['losses'][comp][i]:.6f}" if alt else "",
                                f"{runs['ours']['seconds'][i]:.4f}", f"{runs['hf']['seconds'][i]:.4f}"])  # fmt: skip


def write_windows_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def plot(path: Path, results: dict[str, dict[str, Any]], meta: str) -> None:
    """Top: loss vs step, ours vs HF (and ours on the other batch order), one panel per model. Bottom: the
    differences of the window means against the two-sigma noise band of the verdict."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    archs = list(results)
    fig, axes = plt.subplots(2, len(archs), figsize=(6.2 * len(archs), 7.4), squeeze=False, layout="constrained",
                             gridspec_kw={"height_ratios": [2.2, 1]})  # fmt: skip
    for j, arch in enumerate(archs):
        runs, comp = results[arch]["runs"], COMPONENTS[arch][0]
        ours = np.asarray(runs["ours"]["losses"][comp])
        hf = np.asarray(runs["hf"]["losses"][comp])
        steps = np.arange(1, len(ours) + 1)
        ax = axes[0][j]
        if "ours_alt" in runs:
            ax.plot(steps, runs["ours_alt"]["losses"][comp], color="0.75", lw=1.0, label="ours, other batch order")
        ax.plot(steps, ours, color="C0", lw=1.4, label="ours")
        ax.plot(steps, hf, color="C3", lw=1.0, ls="--", label=f"HF {HF_CLASS[arch]}")
        ax.set_title("BERT (post-LN): MLM + NSP loss" if arch == "bert" else "GPT (pre-LN): LM loss")
        ax.set_xlabel("step")
        ax.set_ylabel("training loss")
        ax.legend(frameon=False)
        ax.grid(alpha=0.3)

        ax = axes[1][j]
        ax.axhline(0, color="0.5", lw=0.8)
        first = True
        for r in results[arch]["windows"]:
            if r["loss"] != comp:
                continue
            a, z = (int(s) for s in r["steps"].split("-"))
            ax.fill_between([a, z], -r["two_se_diff"], r["two_se_diff"], color="C0", alpha=0.15, lw=0,
                            label="noise floor: ±2 SE_diff" if first else None)  # fmt: skip
            if math.isfinite(r["alt_abs_diff"]):
                ax.hlines(r["ours"] - r["ours_alt"], a, z, color="0.55", lw=2,
                          label="ours - ours (other order)" if first else None)  # fmt: skip
            ax.hlines(r["diff"], a, z, color="C3", lw=2, label="ours - HF (same batches)" if first else None)
            first = False
        max_diff = max(abs(r["diff"]) for r in results[arch]["windows"] if r["loss"] == comp)
        ax.text(0.01, 0.04, f"max |ours - HF| of a window mean: {max_diff:.1e}", transform=ax.transAxes, fontsize=8)
        ax.set_xlabel("step (window means)")
        ax.set_ylabel("loss difference")
        ax.legend(fontsize=8, loc="upper right", framealpha=0.85)
        ax.grid(alpha=0.3)
    fig.suptitle(meta, fontsize=9)
    fig.savefig(path, dpi=130)
    plt.close(fig)


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.hf_training_parity",
        description="Train our BERT/GPT and transformers' BertForPreTraining/GPT2LMHeadModel from the same exported "
        "weights on the same batches; compare the loss curves against the run-to-run noise.",
    )
    ap.add_argument("--params", type=Path, default=DEFAULT_PARAMS, help="params.yaml (model shape, optimiser, seed)")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA,
                    help="folder with <arch>/tokenizer.json and <arch>/train (the encoded corpus)")  # fmt: skip
    ap.add_argument("--models", nargs="+", choices=ARCHS, default=list(ARCHS))
    ap.add_argument("--steps", type=int, default=200, help="optimiser steps (also the schedule's length)")
    ap.add_argument("--batch", type=int, default=DEFAULT_BATCH,
                    help=f"sequences per step (default {DEFAULT_BATCH}; params.yaml's pretrain.batch_size is 32)")  # fmt: skip
    ap.add_argument("--window", type=int, default=50, help="steps per window of the table")
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    ap.add_argument("--no-noise-run", action="store_true",
                    help="skip the second run of ours on another batch order (the empirical noise check)")  # fmt: skip
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the CSVs, JSON and PNG")
    args = ap.parse_args(argv)
    if args.steps < 2 or args.window < 2 or args.batch < 1:
        ap.error("--steps and --window must be >= 2, --batch >= 1")
    return args


def main(argv: Optional[Sequence[str]] = None) -> dict[str, Any]:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    params = load_params(args.params)
    p = params.pretrain
    batch_size = args.batch
    t_all = time.perf_counter()
    env = {
        "torch_threads": torch.get_num_threads(),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
        "niceness": os.nice(0),
        "load_average_1min_start": os.getloadavg()[0],
        "cpu": _device_name(torch.device("cpu")),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": _transformers_version(),
    }
    m = params.model
    meta = (f"{m.n_layer} layers, d {m.d_model}, {m.n_head} heads, d_ff {m.d_ff}, dropout {m.dropout}; seq {p.seq_len}, "
            f"batch {batch_size}, {args.steps} steps; AdamW lr {p.lr}, wd {p.weight_decay}, warm-up {p.warmup_fraction:.0%} "
            f"+ linear decay, clip {p.grad_clip}; fp32, CPU, {env['torch_threads']} thread(s)")  # fmt: skip
    print(f"HF training parity: {meta}")
    print(f"  environment: torch {env['torch']}, transformers {env['transformers']}, {env['cpu']}, "
          f"torch threads {env['torch_threads']}, OMP_NUM_THREADS={env['OMP_NUM_THREADS']}, niceness {env['niceness']}, "
          f"load average {env['load_average_1min_start']:.2f} on {os.cpu_count()} CPUs")  # fmt: skip

    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="hf_parity_") as tmp:
        for arch in args.models:
            tok_dir = args.data / arch
            for need in (tok_dir / "tokenizer.json", tok_dir / "train" / "meta.json"):
                if not need.is_file():
                    raise SystemExit(f"{need}: missing (run `dvc repro tokenize` first, or pass --data)")
            t0 = time.perf_counter()
            tokenizer = load_tokenizer(tok_dir)
            dataset = build_dataset(arch, TokenStore(tok_dir / "train"), tokenizer, params, params.seed)
            batches = make_batches(arch, dataset, args.steps, batch_size, params.seed)
            alt_batches = None if args.no_noise_run else make_batches(arch, dataset, args.steps, batch_size, params.seed + 1)
            data_s = time.perf_counter() - t0
            ours_dir, hf_dir, info = build_pair(arch, params, tokenizer, tok_dir / "tokenizer.json", Path(tmp))
            ours, hf = load_ours(ours_dir), load_hf(arch, hf_dir)
            params_ours, params_hf = count_parameters(ours)[0], count_parameters(hf)[0]
            groups_ours, groups_hf = optimiser_groups(ours, p.weight_decay), optimiser_groups(hf, p.weight_decay)
            if params_ours != params_hf or groups_ours != groups_hf:
                raise SystemExit(f"{arch}: parameter counts differ (ours {params_ours} {groups_ours}, HF {params_hf} {groups_hf})")
            init = initial_losses(arch, ours, hf, batches[0])
            print(f"\n{arch}: {len(dataset):,} training sequences, batches built in {data_s:.1f} s; exported as "
                  f"{info['class']} ({params_hf:,} parameters, HF attention: {attention_implementation(hf)}); "
                  f"step-0 loss ours {init[0]:.6f} HF {init[1]:.6f} (diff {init[0] - init[1]:+.1e})")  # fmt: skip
            runs = {"ours": train("ours", arch, ours, batches, p, f"ours {arch}")}
            runs["hf"] = train("hf", arch, hf, batches, p, f"HF {HF_CLASS[arch]}")
            del ours, hf
            if alt_batches is not None:
                runs["ours_alt"] = train("ours", arch, load_ours(ours_dir), alt_batches, p, f"ours {arch}, order 2")
            results[arch] = {
                "hf_class": info["class"],
                "parameters": params_hf,
                "train_sequences": len(dataset),
                "initial_loss": {"ours": init[0], "hf": init[1]},
                "runs": runs,
            }
            results[arch]["windows"] = window_rows(arch, runs, args.window)

    rows = [r for arch in results for r in results[arch]["windows"]]
    print(f"\nMean training loss over windows of {min(args.window, args.steps)} steps (same batches, same initial weights):")
    print(format_table(rows))
    print("  ours-HF: difference of the window means; 2*SE_diff: noise floor (two runs on independent batches, "
          "from our step-to-step sigma);\n  |ours-ours'|: ours against ours on another batch order (empirical "
          "run-to-run difference); std(d)/step: std of the per-step ours-HF difference.")  # fmt: skip
    summary: dict[str, Any] = {}
    for arch, res in results.items():
        wr = res["windows"]
        max_diff = max(abs(r["diff"]) for r in wr)
        worst = max(wr, key=lambda r: abs(r["diff"]) / r["two_se_diff"] if r["two_se_diff"] > 0 else math.inf)
        ratio = abs(worst["diff"]) / worst["two_se_diff"] if worst["two_se_diff"] > 0 else math.inf
        alt = max((r["alt_abs_diff"] for r in wr), default=float("nan"))
        verdict = all(r["within"] for r in wr if r["within"] is not None)
        ro, rh = res["runs"]["ours"], res["runs"]["hf"]
        summary[arch] = {
            "max_abs_window_diff": max_diff,
            "max_abs_window_diff_over_two_se_diff": ratio,
            "worst_window": {k: worst[k] for k in ("loss", "steps", "diff", "two_se_diff")},
            "max_abs_window_diff_other_order": alt,
            "within_noise": verdict,
            "tokens_per_s": {"ours": ro["tokens_per_s"], "hf": rh["tokens_per_s"]},
            "ms_per_step": {"ours": ro["ms_per_step"], "hf": rh["ms_per_step"]},
            "wall_s": {k: v["wall_s"] for k, v in res["runs"].items()},
        }
        print(f"{arch}: max |ours-HF| of the {min(args.window, args.steps)}-step means {max_diff:.2e}; at most "
              f"{100 * ratio:.2g} % of the noise "
              f"floor 2*SE_diff ({worst['loss']} loss, steps {worst['steps']}: {abs(worst['diff']):.2e} vs "
              f"{worst['two_se_diff']:.4f}); ours vs ours on another order differ by up to {alt:.4f} "
              f"-> {'within noise' if verdict else 'NOT within noise'}; "
              f"tokens/s ours {ro['tokens_per_s']:,.0f} ({ro['ms_per_step']:.0f} ms/step), HF {rh['tokens_per_s']:,.0f} "
              f"({rh['ms_per_step']:.0f} ms/step), ours/HF {ro['tokens_per_s'] / rh['tokens_per_s']:.2f}x")  # fmt: skip

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_steps_csv(out / "hf_parity_steps.csv", results)
    write_windows_csv(out / "hf_parity_windows.csv", rows)
    plot(out / "hf_parity.png", results, meta)
    total_s = time.perf_counter() - t_all
    env["load_average_1min_end"] = os.getloadavg()[0]
    report = {
        "config": {"steps": args.steps, "batch_size": batch_size, "seq_len": p.seq_len, "window": args.window,
                   "model": {k: getattr(m, k) for k in ("n_layer", "n_head", "d_model", "d_ff", "max_seq_len", "dropout")},
                   "optimizer": {"lr": p.lr, "weight_decay": p.weight_decay, "warmup_fraction": p.warmup_fraction,
                                 "grad_clip": p.grad_clip, "eps": 1e-6, "schedule": "linear warm-up, linear decay"},
                   "seed": params.seed, "other_order_seed": params.seed + 1, "dtype": "float32"},
        "environment": env,
        "summary": summary,
        "initial_loss": {a: r["initial_loss"] for a, r in results.items()},
        "windows": rows,
        "total_s": total_s,
    }  # fmt: skip
    (out / "hf_parity.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out / 'hf_parity_steps.csv'}, {out / 'hf_parity_windows.csv'}, {out / 'hf_parity.json'}, "
          f"{out / 'hf_parity.png'} ({total_s:.0f} s in all)")  # fmt: skip
    return report


if __name__ == "__main__":
    main()
