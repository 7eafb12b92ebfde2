"""Compute accounting and budget checkpoints for pre-training.

``ComputeAccounting`` logs tokens seen, tokens/s, estimated training FLOPs (``flops_per_token``
times tokens), MFU against a matmul peak measured on this machine, wall time and peak memory.
``BudgetCheckpoints`` exports safetensors weights when the run passes given fractions of its token
budget, for score-vs-compute curves.
"""

from __future__ import annotations

import math
import resource
import sys
import time
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch.utils.data import Dataset

from ..models import save_pretrained
from ..resume import restore_rng_states, rng_states


def peak_memory_bytes() -> int:
    if torch.cuda.is_available():
        return int(torch.cuda.max_memory_allocated())
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(rss if sys.platform == "darwin" else rss * 1024)


def records_step(step: int, trainer: L.Trainer) -> bool:
    """Whether optimizer step ``step`` (1-based) is one the curve records: every ``log_every_n_steps``-th
    and the last. ``PretrainModule`` logs its metrics beside the loss on these steps only."""
    return step % max(1, trainer.log_every_n_steps) == 0 or step >= trainer.max_steps


class ComputeAccounting(L.Callback):
    def __init__(self, tokens_per_step: int, flops_per_token: float, peak_flops: float) -> None:
        self.tokens_per_step = tokens_per_step  # global: batch x seq_len x world size
        self.flops_per_token = flops_per_token
        self.peak_flops = peak_flops
        self.train_seconds = 0.0
        self._t0: float | None = None
        self._window_start: float | None = None
        self._window_steps = 0
        self.curve: list[dict[str, float]] = []  # one row per logging step, for plots and the report

    def state_dict(self) -> dict[str, Any]:
        return {"train_seconds": self.train_seconds, "curve": self.curve}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.train_seconds = float(state_dict.get("train_seconds", 0.0))
        self.curve = list(state_dict.get("curve", []))

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self._t0 = time.perf_counter()
        if self._window_start is None:
            self._window_start = self._t0

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self._t0 is None:
            return
        self.train_seconds += time.perf_counter() - self._t0
        self._window_steps += 1
        step = trainer.global_step
        if records_step(step, trainer) and self._window_start is not None:
            elapsed = time.perf_counter() - self._window_start
            tps = self._window_steps * self.tokens_per_step / max(elapsed, 1e-9)
            row = {
                "compute/tokens_seen": float(step * self.tokens_per_step),
                "compute/tokens_per_second": tps,
                "compute/flops": float(step * self.tokens_per_step * self.flops_per_token),
                "compute/mfu": tps * self.flops_per_token / self.peak_flops / trainer.world_size,
            }
            pl_module.log_dict(row, on_step=True, on_epoch=False)
            train = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("train/")}
            self.curve.append({"step": step, **{k.split("/", 1)[1]: v for k, v in {**row, **train}.items()}})
            self._window_start, self._window_steps = time.perf_counter(), 0

    def summary(self, steps: int, world_size: int) -> dict[str, float]:
        """Totals of the whole run (resumed runs included: the state is checkpointed)."""
        tokens = steps * self.tokens_per_step
        tps = tokens / max(self.train_seconds, 1e-9)
        return {
            "steps": steps,
            "tokens_seen": tokens,
            "train_seconds": round(self.train_seconds, 2),
            "tokens_per_second": round(tps, 1),
            "flops_per_token": self.flops_per_token,
            "train_flops": float(tokens * self.flops_per_token),
            "peak_flops_per_device": self.peak_flops,
            "mfu": round(tps * self.flops_per_token / (self.peak_flops * world_size), 4),
            "peak_memory_mb": round(peak_memory_bytes() / 2**20, 1),
        }


class BudgetCheckpoints(L.Callback):
    """Export weights at the first step at or past each fraction of ``total_steps``."""

    def __init__(self, directory: Path, fractions: list[float], total_steps: int) -> None:
        self.directory = Path(directory)
        at_or_past = {max(1, math.ceil(f * total_steps - 1e-9)) for f in fractions}
        self.steps = sorted(s for s in at_or_past if s < total_steps)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        step = trainer.global_step
        if step in self.steps and trainer.is_global_zero:
            target = self.directory / f"step_{step:07d}"
            if not (target / "model.safetensors").exists():
                save_pretrained(pl_module.model, pl_module.config, target)


class DynamicMasking(L.Callback):
    """Re-draw BERT's masks every epoch (``set_epoch``), reproducibly."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        if hasattr(self.dataset, "set_epoch"):
            self.dataset.set_epoch(trainer.current_epoch)


class ResumeState(L.Callback):
    """Checkpoint the global RNG states and the step, and on resume restore the RNGs and point the
    sampler (and BERT's masking epoch) at the checkpoint's epoch and position, so a resumed run
    replays the uninterrupted one."""

    def __init__(self, dataset, sampler, batch_size: int, batches_per_epoch: int) -> None:
        self.dataset, self.sampler = dataset, sampler
        self.batch_size, self.batches_per_epoch = batch_size, batches_per_epoch
        self.step = 0

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.step = trainer.global_step

    def state_dict(self):
        return {"step": self.step, "rng": rng_states()}

    def load_state_dict(self, state_dict) -> None:
        restore_rng_states(state_dict["rng"])
        epoch, position = divmod(int(state_dict["step"]), self.batches_per_epoch)
        if hasattr(self.dataset, "set_epoch"):  # BERT's masks: the loader prefetches before on_train_epoch_start
            self.dataset.set_epoch(epoch)
        if self.sampler is not None:
            self.sampler.set_epoch(epoch)
            self.sampler.skip = position * self.batch_size
