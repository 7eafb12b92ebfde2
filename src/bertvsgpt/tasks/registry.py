"""One entry point for every task kind: ``finetune_task`` picks the kind's fine-tuning function.

Every kind's ``finetune_<kind>`` has the same signature and writes the same files
(``metrics.json`` with a ``primary_metric``, ``predictions.parquet``, ``checkpoints/``), so the
pipeline, the evaluation and the report treat all tasks alike.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
import logging
import shutil
from pathlib import Path
from typing import Any, Callable

import polars as pl

from ..config.schema import FinetuneConfig, TaskConfig
from ..distributed import is_global_zero
from ..io import atomic_path
from ..models import load_config
from ..resume import clear_resume_dir, fingerprint_of, stamped
from ..tokenization.train import load_tokenizer
from .data import SPLITS, subsample_train

log = logging.getLogger(__name__)

# kind -> (module, function), imported on first use
KINDS: dict[str, tuple[str, str]] = {
    "classification": ("classification", "finetune_classification"),
    "multiple_choice": ("multiple_choice", "finetune_multiple_choice"),
    "token_classification": ("token_classification", "finetune_token_classification"),
    "extractive_qa": ("extractive_qa", "finetune_extractive_qa"),
    "translation": ("translation", "finetune_translation"),
}


def finetune_function(kind: str) -> Callable[..., dict[str, Any]]:
    if kind not in KINDS:
        raise ValueError(f"unknown task type '{kind}' (known: {', '.join(KINDS)})")
    module, name = KINDS[kind]
    return getattr(importlib.import_module(f"{__package__}.{module}"), name)


def _min_cap(*caps: int | None) -> int | None:
    given = [c for c in caps if c is not None]
    return min(given) if given else None


def cap_splits(table: pl.DataFrame, max_train: int | None, max_eval: int | None, seed: int = 0) -> pl.DataFrame:
    """Keep at most ``max_train`` training rows and ``max_eval`` dev and test rows each: a fixed,
    seeded subset, the same for every model and fine-tuning seed, so comparisons stay paired."""
    caps = {"train": max_train, "dev": max_eval, "test": max_eval}
    return pl.concat([subsample_train(table.filter(pl.col("split") == s), caps[s], seed) for s in SPLITS])


def main_run_training(table: pl.DataFrame, task_cfg: TaskConfig, ft_cfg: FinetuneConfig) -> pl.DataFrame:
    """``table`` with its training split cut to the rows the main fine-tuning run trains on (the same
    seeded, stratified cap as :func:`_finetune`); dev and test untouched (fine-tuning caps them itself)."""
    return cap_splits(table, _min_cap(task_cfg.max_train_examples, ft_cfg.max_train_examples), None)


def run_fingerprint(model_dir: Path, table: pl.DataFrame, task_cfg: TaskConfig, ft_cfg: FinetuneConfig, seed: int) -> str:
    """What determines one fine-tuning run's result (not which other models, tasks or seeds run)."""
    protocol = {k: v for k, v in ft_cfg.__dict__.items() if k not in ("models", "tasks", "seeds")}
    weights = Path(model_dir) / "model.safetensors"
    table_hash = hashlib.sha256(table.write_ndjson().encode()).hexdigest()  # ndjson: list columns too
    return fingerprint_of(task_cfg, protocol, seed, Path(model_dir) / "config.json", weights if weights.exists() else None, table_hash)


def finetune_task(
    model_dir: Path,
    table: pl.DataFrame,
    task_cfg: TaskConfig,
    ft_cfg: FinetuneConfig,
    seed: int,
    out_dir: Path,
    resume_dir: Path | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """Fine-tune the model in ``model_dir`` (pre-trained, or a scratch twin's directory) on a task table.

    ``model_dir`` holds ``config.json`` and ``tokenizer.json``, plus ``model.safetensors`` unless
    it is a scratch twin (``"scratch": true`` in its config), which is initialised at random
    with the fine-tuning seed.

    ``resume_dir`` (a DVC ``persist`` folder, one per seed) makes the run resumable: a finished
    run's outputs are kept in ``resume_dir/result`` and reused, an unfinished one continues from
    its last epoch, both only while the run's fingerprint is unchanged. Under DDP every rank
    runs this; only global rank 0 copies and clears.
    """
    model_dir, out_dir = Path(model_dir), Path(out_dir)
    if resume_dir is not None:
        resume_dir = Path(resume_dir)
        fp = run_fingerprint(model_dir, table, task_cfg, ft_cfg, seed)
        done = resume_dir / "result"
        if stamped(resume_dir, fp) and (done / "metrics.json").is_file():
            log.info("%s: finished earlier with the same inputs; reusing %s", out_dir, done)
            if is_global_zero():
                if out_dir.exists():
                    shutil.rmtree(out_dir)
                shutil.copytree(done, out_dir)
            return json.loads((done / "metrics.json").read_text())
        kwargs.update(resume_dir=resume_dir / "training", fingerprint=fp)
        metrics = _finetune(model_dir, table, task_cfg, ft_cfg, seed, out_dir, **kwargs)
        if not is_global_zero():
            return metrics
        clear_resume_dir(resume_dir, fp)  # the training state is no longer needed; keep the result
        with atomic_path(done) as tmp:
            shutil.copytree(out_dir, tmp)
        return metrics
    return _finetune(model_dir, table, task_cfg, ft_cfg, seed, out_dir, **kwargs)


def with_task_floor(ft_cfg: FinetuneConfig, task_cfg: TaskConfig) -> FinetuneConfig:
    """``ft_cfg`` with the task's own step floor (``tasks.<task>.min_steps``) where it sets one."""
    if task_cfg.min_steps is None:
        return ft_cfg
    return dataclasses.replace(ft_cfg, min_steps=task_cfg.min_steps)


def _finetune(
    model_dir: Path, table: pl.DataFrame, task_cfg: TaskConfig, ft_cfg: FinetuneConfig, seed: int, out_dir: Path, **kwargs: Any
) -> dict[str, Any]:
    config, arch = load_config(model_dir)
    scratch = bool(json.loads((model_dir / "config.json").read_text()).get("scratch", False))
    tokenizer = load_tokenizer(model_dir)
    table = cap_splits(
        table,
        _min_cap(task_cfg.max_train_examples, ft_cfg.max_train_examples),
        _min_cap(task_cfg.max_eval_examples, ft_cfg.max_eval_examples),
    )
    ft_cfg = with_task_floor(ft_cfg, task_cfg)
    fn = finetune_function(task_cfg.type)
    return fn(
        None if scratch else model_dir, arch, tokenizer, table, task_cfg, ft_cfg, seed, out_dir,
        model_config=config if scratch else None, **kwargs,
    )
