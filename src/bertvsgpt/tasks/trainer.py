"""Train a :class:`~bertvsgpt.tasks.base.TaskModule`, keep the best dev epoch, predict the test split.

Identical for every task and model: seeded shuffling, early stopping and checkpointing on the
dev metric (``val_score``, higher is better), the best-dev weights reloaded (``weights_only``)
before the test split is predicted. Task code turns the prediction batches into metrics and a
per-example predictions table and hands both to :func:`write_outputs`.

Resume: with a ``resume_dir`` (a DVC ``persist`` folder) the full training state is saved at the end
of every validated epoch (``last.ckpt``: weights, optimiser, schedule, early-stopping and
checkpoint state, RNG states); a killed run continues from it when the fingerprint matches, also
after the folder moved (:class:`RelocatableCheckpoint`). The
shuffle order of epoch ``e`` depends only on ``(seed, e)`` (:class:`~bertvsgpt.sampler.EpochSampler`,
the sampler pre-training uses), so a resumed run sees the same batches as an uninterrupted one and ends
with the same numbers on CPU.

Scale-out: ``finetune.accelerator/devices/strategy/num_nodes`` go to Lightning's Trainer
(``finetune.batch_size`` is per process). Under DDP each process takes every ``world``-th index of
the epoch's permutation, so the global batches are those of one process at ``batch_size x world``
(the last, partial one padded from the epoch's start, as DistributedSampler does). Every process
validates and predicts the whole dev and test splits (the dev metric needs all of them, and
early stopping must decide alike everywhere); only global rank 0 writes files.
"""

from __future__ import annotations

import math
import shutil
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import lightning as L
import polars as pl
import torch
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
from torch.utils.data import DataLoader, Dataset

from ..config.schema import FinetuneConfig
from ..distributed import is_global_zero
from ..hardware import resolve_precision
from ..io import atomic_path, write_json
from ..resume import prepare_resume_dir
from ..sampler import EpochSampler
from .base import MONITOR
from .options import RunOptions

SEED_STRIDE = 100_003  # the sampler's seed is seed x this, so seed s + 1 never replays seed s's epoch 1


class RelocatableCheckpoint(ModelCheckpoint):
    """``ModelCheckpoint`` whose saved state survives its folder moving (the workspace moved, or the DVC
    ``persist`` folder pulled onto another machine). Lightning saves absolute paths and, restoring into
    another ``dirpath``, drops the best score, so the first epoch after the resume would become the
    "best", and keeps a best-model path into the old folder. Here paths inside the saved folder are
    re-rooted in the current one and the whole state is restored.

    It saves at the end of every validated training epoch, whatever the validation cadence and whether or
    not the dev score improved. Lightning's own default saves after validation when validation runs every
    k-th epoch (k > 1), i.e. before the epoch has ended: a run resumed from such a checkpoint finishes that
    epoch again and draws the training loader's seed from the restored random state once more than the
    uninterrupted run, so its dropout masks, and its scores, differ (``tests/tasks/test_classification.py``).
    And Lightning 2.6 writes ``last.ckpt`` only with a new best, so a run whose dev score had stopped
    improving resumed from its best epoch and trained the epochs after it again. Epochs that were not
    validated are not saved: the next validated one comes within k epochs."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, save_on_train_epoch_end=True, **kwargs)

    def on_train_epoch_end(self, trainer: "L.Trainer", pl_module: L.LightningModule) -> None:
        every = trainer.check_val_every_n_epoch or 1
        if (trainer.current_epoch + 1) % every:
            return
        super().on_train_epoch_end(trainer, pl_module)
        if self.save_last and self._last_global_step_saved != trainer.global_step and not self._should_skip_saving_checkpoint(trainer):
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))  # no new best: the resume point still moves

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        old = state_dict.get("dirpath")
        if old and self.dirpath and old != self.dirpath:

            def moved(path: Any) -> Any:
                if not path or not Path(path).is_relative_to(old):
                    return path
                return str(Path(self.dirpath) / Path(path).relative_to(old))

            state_dict = {
                **state_dict,
                "dirpath": self.dirpath,
                **{k: moved(state_dict.get(k)) for k in ("best_model_path", "kth_best_model_path", "last_model_path")},
                "best_k_models": {moved(k): v for k, v in (state_dict.get("best_k_models") or {}).items()},
            }
        super().load_state_dict(state_dict)


@dataclass
class FitResult:
    """What training left behind: the test-split prediction batches and the run's facts."""

    batches: list[Any]
    best_dev_score: float
    best_epoch: int  # 0-based
    epochs_run: int
    train_seconds: float
    steps_per_epoch: int
    precision: str
    max_epochs: int = 0  # the run's epoch limit: finetune.max_epochs, raised to reach min_steps, then to a validated epoch
    validate_every: int = 1  # validated every k-th epoch (finetune.validate_every_steps)

    def summary(self) -> dict[str, Any]:
        return {
            "best_dev_score": self.best_dev_score,
            "best_epoch": self.best_epoch,
            "epochs_run": self.epochs_run,
            "max_epochs": self.max_epochs,
            "validate_every_epochs": self.validate_every,
            "steps_per_epoch": self.steps_per_epoch,
            "steps_run": self.steps_per_epoch * self.epochs_run,
            "train_seconds": self.train_seconds,
            "precision": self.precision,
        }


def epochs_for(ft_cfg: FinetuneConfig, steps_per_epoch: int) -> int:
    """``finetune.max_epochs``, raised so that a small training split still gets ``finetune.min_steps``
    optimizer steps (a few dozen steps fit a small classifier head, not a Transformer)."""
    return max(ft_cfg.max_epochs, math.ceil(ft_cfg.min_steps / max(1, steps_per_epoch)))


def validation_cadence(ft_cfg: FinetuneConfig, steps_per_epoch: int) -> int:
    """Validate every k-th epoch so that validation runs about every ``finetune.validate_every_steps`` optimizer
    steps (at least every epoch; every epoch when it is unset). On a 1 % label split an epoch is one step, and
    validating after each of 1,000 epochs was two thirds of the run (README, *Where fine-tuning's time goes*)."""
    if not ft_cfg.validate_every_steps:
        return 1
    return max(1, math.floor(ft_cfg.validate_every_steps / max(1, steps_per_epoch) + 0.5))  # halves round up


def steps_per_epoch(n_train: int, batch_size: int, world_size: int = 1) -> int:
    """Optimizer steps in an epoch on each process: :class:`EpochSampler` gives each ``ceil(n / world)``
    examples, in batches of ``batch_size`` (the last one partial)."""
    return math.ceil(math.ceil(n_train / world_size) / batch_size)


@dataclass(frozen=True)
class Schedule:
    """A run's limits in Lightning's terms. ``every``: validate every k-th epoch. ``max_epochs`` and
    ``min_steps`` (the floor early stopping cannot cut) are raised to the end of a validated epoch, so the
    run's last epoch is always scored, whether it ends at the epoch limit or at the floor. ``total_steps``,
    the learning-rate schedule's length, is the protocol's (``epochs_for`` x steps per epoch), whatever the
    cadence: the epochs added to reach a validation train at the schedule's end, at learning rate 0, so
    a cadence changes when the model is scored, not how it is trained."""

    every: int
    max_epochs: int
    min_steps: Optional[int]
    total_steps: int


def schedule_for(ft_cfg: FinetuneConfig, steps_per_epoch: int) -> Schedule:
    spe = max(1, steps_per_epoch)
    every = validation_cadence(ft_cfg, spe)
    epochs = epochs_for(ft_cfg, spe)
    validated = every * spe  # steps from one validation to the next
    floor = math.ceil(ft_cfg.min_steps / validated) * validated if ft_cfg.min_steps else None
    return Schedule(every=every, max_epochs=math.ceil(epochs / every) * every, min_steps=floor, total_steps=epochs * spe)


def fit_and_predict(
    module: L.LightningModule,
    train: Dataset,
    dev: Dataset,
    test: Dataset,
    collate: Callable,
    ft_cfg: FinetuneConfig,
    seed: int,
    out_dir: Path,
    options: RunOptions = RunOptions(),
) -> FitResult:
    """Fit with early stopping on ``val_score``; reload the best epoch; predict ``test``.

    ``out_dir/checkpoints`` receives the best checkpoint (any stale one is removed first).
    """
    out_dir = Path(out_dir)
    precision, logger, num_workers = options.precision, options.logger, options.num_workers
    resume_dir, eval_batch_size = options.resume_dir, options.eval_batch_size
    zero = is_global_zero()
    best_dir = out_dir / "checkpoints"
    if zero:
        out_dir.mkdir(parents=True, exist_ok=True)
        if best_dir.exists():  # a stale "best" from an earlier run must never be picked up
            shutil.rmtree(best_dir)
    resume_from = None
    if resume_dir is not None:
        ckpt_dir = Path(resume_dir)
        resume_from = prepare_resume_dir(ckpt_dir, options.fingerprint)
    else:
        ckpt_dir = out_dir / ".training"
        if zero:
            shutil.rmtree(ckpt_dir, ignore_errors=True)
    train_loader = DataLoader(
        train, batch_size=ft_cfg.batch_size, sampler=EpochSampler(len(train), seed * SEED_STRIDE), collate_fn=collate,  # type: ignore[arg-type]
        num_workers=num_workers,
    )
    eval_kw: dict[str, Any] = dict(
        batch_size=eval_batch_size or ft_cfg.batch_size, shuffle=False, collate_fn=collate, num_workers=num_workers
    )
    checkpoint = RelocatableCheckpoint(
        dirpath=ckpt_dir, filename="best-{epoch}", monitor=MONITOR, mode="max", save_top_k=1,
        save_weights_only=resume_dir is None, save_last=resume_dir is not None, auto_insert_metric_name=False,
        enable_version_counter=False,
    )
    early_stop = EarlyStopping(monitor=MONITOR, mode="max", patience=ft_cfg.patience)
    resolved = resolve_precision(precision)
    trainer = L.Trainer(
        accelerator=ft_cfg.accelerator,
        devices=ft_cfg.devices,
        strategy=ft_cfg.strategy,
        num_nodes=ft_cfg.num_nodes,
        use_distributed_sampler=False,  # EpochSampler shards the training order; dev and test stay whole
        precision=resolved,
        max_epochs=1,  # the run's limits are set below, once the world size is known
        gradient_clip_val=ft_cfg.grad_clip or None,
        callbacks=[checkpoint, early_stop],
        logger=logger if logger is not None else False,
        deterministic=True,
        enable_progress_bar=options.enable_progress_bar,
        enable_model_summary=False,
        log_every_n_steps=max(1, min(50, math.ceil(len(train) / ft_cfg.batch_size))),
        default_root_dir=out_dir,
        num_sanity_val_steps=0,
    )
    # Steps per epoch on each process: the process group does not exist yet (Lightning starts it in fit), so the
    # loader's length is still the one-process one; the Trainer knows the world it will start.
    spe = steps_per_epoch(len(train), ft_cfg.batch_size, trainer.world_size)
    plan = schedule_for(ft_cfg, spe)
    trainer.fit_loop.max_epochs = plan.max_epochs
    trainer.fit_loop.epoch_loop.min_steps = plan.min_steps  # a floor: early stopping cannot end a run before it
    trainer.check_val_every_n_epoch = plan.every
    if getattr(module, "total_steps", None) is None:
        module.total_steps = plan.total_steps  # the protocol's schedule, not stretched to the validated epoch limit
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        t0 = time.perf_counter()
        trainer.fit(
            module, train_dataloaders=train_loader, val_dataloaders=DataLoader(dev, **eval_kw), ckpt_path=resume_from, weights_only=True
        )
        train_seconds = time.perf_counter() - t0
        best_path = checkpoint.best_model_path
        if not best_path:
            raise RuntimeError("no checkpoint was saved (did validation run?)")
        best = torch.load(best_path, map_location="cpu", weights_only=True)
        trainer.strategy.barrier("best checkpoint loaded")  # every rank has read it before rank 0 cleans up
        if trainer.is_global_zero:
            export_weights(best["state_dict"], best_dir / f"best-epoch={int(best['epoch'])}.safetensors")
            if resume_dir is None:
                shutil.rmtree(ckpt_dir, ignore_errors=True)
        module.load_state_dict(best["state_dict"])
        batches = trainer.predict(module, dataloaders=DataLoader(test, **eval_kw))
    return FitResult(
        batches=list(batches or []),
        best_dev_score=float(checkpoint.best_model_score),
        best_epoch=int(best["epoch"]),
        epochs_run=trainer.current_epoch,
        train_seconds=train_seconds,
        steps_per_epoch=spe,
        precision=resolved,
        max_epochs=plan.max_epochs,
        validate_every=plan.every,
    )


def export_weights(state_dict: dict[str, torch.Tensor], path: Path) -> None:
    """The best fine-tuned weights as safetensors (tied tensors are written once per name)."""
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().contiguous().clone() for k, v in state_dict.items()}, str(path))


def check_order(ids: list[Any], test: pl.DataFrame) -> None:
    """Predictions must come back in the test split's order (they are joined to it by position)."""
    if ids != test.get_column("id").to_list():
        raise RuntimeError("prediction order does not match the test split")


def run_record(
    arch: str,
    model_dir: Optional[Path],
    seed: int,
    primary_metric: str,
    fit: FitResult,
    sizes: dict[str, int],
    n_truncated_by_split: dict[str, int],
    max_length: int,
) -> dict[str, Any]:
    """The ``metrics.json`` keys every task kind writes: what ran, how training went, the data's size."""
    return {
        "arch": arch,
        "pretrained": model_dir is not None,
        "seed": seed,
        "primary_metric": primary_metric,
        **fit.summary(),
        "n_train": sizes["train"],
        "n_dev": sizes["dev"],
        "n_test": sizes["test"],
        "n_truncated": sum(n_truncated_by_split.values()),
        "n_truncated_by_split": n_truncated_by_split,
        "max_length": max_length,
    }


def write_outputs(out_dir: Path, predictions: pl.DataFrame, metrics: dict[str, Any]) -> None:
    """``predictions.parquet`` (one row per test example) and ``metrics.json``, each atomically
    (by global rank 0 only: under DDP every rank holds the same predictions)."""
    if not is_global_zero():
        return
    out_dir = Path(out_dir)
    with atomic_path(out_dir / "predictions.parquet") as tmp:
        predictions.write_parquet(tmp)
    write_json(out_dir / "metrics.json", metrics)
