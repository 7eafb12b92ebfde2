"""One entry point for every task kind: ``finetune_task`` runs the kind's fine-tuning with resume.

Every kind (:func:`kinds`) goes through the same driver (:func:`~bertvsgpt.tasks.finetune.finetune`)
and writes the same files (``metrics.json`` with a ``primary_metric``, ``predictions.parquet``,
``checkpoints/``), so the pipeline, the evaluation and the report treat all tasks alike.

The kinds bring Lightning and torchmetrics with them, so they are imported when a run asks for one
(plain imports inside :func:`kinds`): importing a stage stays cheap (``tests/test_startup.py``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import shutil
from pathlib import Path
from functools import cache
from typing import TYPE_CHECKING, Any, Optional

import polars as pl

from ..config.schema import FinetuneConfig, TaskConfig
from ..distributed import is_global_zero
from ..io import atomic_path
from ..kinds import SPECS
from ..models import load_config
from ..resume import clear_resume_dir, fingerprint_of, source_fingerprint, stamped
from ..tokenization.train import load_tokenizer
from .data import cap_splits, min_cap
from .options import RunOptions, TaskRun

if TYPE_CHECKING:
    from .finetune import TaskKind

log = logging.getLogger(__name__)


@cache
def kinds() -> dict[str, TaskKind]:
    """``tasks.<name>.type`` -> the kind's fine-tuning (its data contract: :data:`bertvsgpt.kinds.SPECS`)."""
    from .classification import CLASSIFICATION
    from .extractive_qa import EXTRACTIVE_QA
    from .multiple_choice import MULTIPLE_CHOICE
    from .pair_classification import PAIR_CLASSIFICATION
    from .token_classification import TOKEN_CLASSIFICATION
    from .translation import TRANSLATION

    registered = {
        "classification": CLASSIFICATION,
        "multiple_choice": MULTIPLE_CHOICE,
        "token_classification": TOKEN_CLASSIFICATION,
        "extractive_qa": EXTRACTIVE_QA,
        "translation": TRANSLATION,
        "pair_classification": PAIR_CLASSIFICATION,
    }
    assert set(registered) == set(SPECS), "every kind in bertvsgpt.kinds.SPECS needs its fine-tuning here"
    return registered


def kind_of(name: str) -> TaskKind:
    if name not in SPECS:
        raise ValueError(f"unknown task type '{name}' (known: {', '.join(SPECS)})")
    return kinds()[name]


def main_run_training(table: pl.DataFrame, task_cfg: TaskConfig, ft_cfg: FinetuneConfig) -> pl.DataFrame:
    """``table`` with its training split cut to the rows the main fine-tuning run trains on (the same
    seeded, stratified cap as :func:`~bertvsgpt.tasks.finetune.finetune`); dev and test untouched
    (fine-tuning caps them itself)."""
    return cap_splits(table, min_cap(task_cfg.max_train_examples, ft_cfg.max_train_examples), None)


# The library code a fine-tuning run executes (the fine-tuning stages' code deps in dvc.yaml, less I/O plumbing).
SOURCES = ("kinds.py", "tasks", "cjk.py", "metrics", "models", "tokenization", "hardware.py", "optim.py", "sampler.py")


def run_fingerprint(model_dir: Path, run: TaskRun) -> str:
    """What determines one fine-tuning run's result (not which other models, tasks or seeds run, nor ``out_dir``):
    the task, the protocol, the seed, the model's config, weights and tokenizer (a scratch twin has no weights, and
    a retrained tokenizer of the same size leaves its config as it was), the table and the library code it runs (so
    a stage DVC re-runs after a code change recomputes instead of returning the old result)."""
    model_dir = Path(model_dir)
    protocol = {k: v for k, v in run.ft_cfg.__dict__.items() if k not in ("models", "tasks", "seeds")}
    weights = model_dir / "model.safetensors"
    table_hash = hashlib.sha256(run.table.write_ndjson().encode()).hexdigest()  # ndjson: list columns too
    return fingerprint_of(
        run.task_cfg, protocol, run.seed, model_dir / "config.json", weights if weights.exists() else None, table_hash,
        model_dir / "tokenizer.json", source_fingerprint(*SOURCES),
    )


def finetune_task(model_dir: Path, run: TaskRun, resume_dir: Optional[Path] = None, options: RunOptions = RunOptions()) -> dict[str, Any]:
    """Fine-tune the model in ``model_dir`` (pre-trained, or a scratch twin's directory) on ``run``'s task table.

    ``model_dir`` holds ``config.json`` and ``tokenizer.json``, plus ``model.safetensors`` unless
    it is a scratch twin (``"scratch": true`` in its config), which is initialised at random
    with the fine-tuning seed. The task's own step floor (``tasks.<task>.min_steps``) replaces
    ``finetune.min_steps`` where it sets one.

    ``resume_dir`` (a DVC ``persist`` folder, one per seed) makes the run resumable: a finished
    run's outputs are kept in ``resume_dir/result`` and reused, an unfinished one continues from
    its last epoch, both only while the run's fingerprint is unchanged. Under DDP every rank
    runs this; only global rank 0 copies and clears.
    """
    model_dir, out_dir = Path(model_dir), Path(run.out_dir)
    if resume_dir is None:
        return _finetune(model_dir, run, options)
    resume_dir = Path(resume_dir)
    fp = run_fingerprint(model_dir, run)
    done = resume_dir / "result"
    if stamped(resume_dir, fp) and (done / "metrics.json").is_file():
        log.info("%s: finished earlier with the same inputs; reusing %s", out_dir, done)
        if is_global_zero():
            if out_dir.exists():
                shutil.rmtree(out_dir)
            shutil.copytree(done, out_dir)
        return json.loads((done / "metrics.json").read_text())
    options = dataclasses.replace(options, resume_dir=resume_dir / "training", fingerprint=fp)
    metrics = _finetune(model_dir, run, options)
    if not is_global_zero():
        return metrics
    clear_resume_dir(resume_dir, fp)  # the training state is no longer needed; keep the result
    with atomic_path(done) as tmp:
        shutil.copytree(out_dir, tmp)
    return metrics


def with_task_floor(ft_cfg: FinetuneConfig, task_cfg: TaskConfig) -> FinetuneConfig:
    """``ft_cfg`` with the task's own step floor (``tasks.<task>.min_steps``) where it sets one."""
    if task_cfg.min_steps is None:
        return ft_cfg
    return dataclasses.replace(ft_cfg, min_steps=task_cfg.min_steps)


def _finetune(model_dir: Path, run: TaskRun, options: RunOptions) -> dict[str, Any]:
    config, arch = load_config(model_dir)
    scratch = bool(json.loads((model_dir / "config.json").read_text()).get("scratch", False))
    tokenizer = load_tokenizer(model_dir)
    from .finetune import finetune

    run = dataclasses.replace(run, ft_cfg=with_task_floor(run.ft_cfg, run.task_cfg))
    return finetune(
        kind_of(run.task_cfg.type), run, None if scratch else model_dir, arch, tokenizer,
        model_config=config if scratch else None, options=options,
    )
