"""The fine-tuning driver every task kind shares, and the three things a kind supplies.

A kind (``classification.py``, ``multiple_choice.py``, ``token_classification.py``,
``extractive_qa.py``, ``translation.py``, ``pair_classification.py``) is one object satisfying
:class:`TaskKind`:

- ``encode``: the table's three splits as datasets in BERT's or GPT's input format, and the collator;
- ``build``: the kind's head on the pre-trained (or scratch) body, inside its LightningModule;
- ``score``: the test split's predictions as a per-example table plus the ``test_*`` metrics.

:func:`finetune` does everything else identically for every kind: seeding, the caps on the
splits (applied here, once), loading the body, training with early stopping on the dev metric
(:func:`~bertvsgpt.tasks.trainer.fit_and_predict`), the common ``metrics.json`` record and writing
the outputs. Register a new kind in :func:`bertvsgpt.tasks.registry.kinds` (and its data contract in
:data:`bertvsgpt.kinds.SPECS`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Protocol

import polars as pl
from tokenizers import Tokenizer
from torch import nn
from torch.utils.data import Dataset

from ..config.schema import FinetuneConfig, TaskConfig
from ..models import ModelConfig
from .backbone import load_for_task
from .base import TaskModule
from .data import SPLITS, cap_splits, min_cap
from .options import RunOptions, TaskRun
from .trainer import FitResult, check_order, fit_and_predict, run_record, write_outputs

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TaskContext:
    """What every step of a run may need: the architecture, its tokenizer and the run's settings."""

    arch: str
    tokenizer: Tokenizer
    task_cfg: TaskConfig
    ft_cfg: FinetuneConfig


@dataclass
class TaskInputs:
    """A task's splits, as rows (``frames``) and encoded (``datasets``), and what encoding found.

    ``n_truncated``: examples cut by ``max_length``, per split; ``sizes``: examples per split when a
    dataset item is not an example (QA's passage windows); ``state``: whatever the kind's ``build``
    and ``score`` need from encoding (label lists, tag sets, counts for ``metrics.json``).
    """

    frames: dict[str, pl.DataFrame]
    datasets: dict[str, Dataset]
    collate: Callable
    n_truncated: dict[str, int]
    sizes: Optional[dict[str, int]] = None
    state: dict[str, Any] = field(default_factory=dict)

    def split_sizes(self) -> dict[str, int]:
        return self.sizes if self.sizes is not None else {s: len(self.datasets[s]) for s in SPLITS}  # type: ignore[arg-type]


class TaskKind(Protocol):
    """What one kind of task owns; the driver owns the rest."""

    primary_metric: str  # the ``metrics.json`` key the evaluation and report compare

    def encode(self, table: pl.DataFrame, ctx: TaskContext) -> TaskInputs: ...

    def build(self, pretrained: nn.Module, config: ModelConfig, inputs: TaskInputs, ctx: TaskContext) -> TaskModule: ...

    def score(self, fit: FitResult, inputs: TaskInputs, ctx: TaskContext) -> tuple[pl.DataFrame, dict[str, Any]]: ...


def warn_truncated(n_truncated: dict[str, int], what: str, max_length: int, consequence: str = "") -> None:
    """One warning line when encoding cut examples (``what``: "example(s)", "question(s)", ...)."""
    n = sum(n_truncated.values())
    if n:
        log.warning("%d %s truncated to max_length=%d (by split: %s)%s", n, what, max_length, n_truncated, consequence)


def predicted_ids(fit: FitResult, test: pl.DataFrame) -> list[Any]:
    """The predicted examples' ids, checked against the test split's order (predictions join it by position)."""
    ids = [i for b in fit.batches for i in b["id"]]
    check_order(ids, test)
    return ids


def finetune(
    kind: TaskKind,
    run: TaskRun,
    model_dir: Optional[Path],
    arch: str,
    tokenizer: Tokenizer,
    model_config: Optional[ModelConfig] = None,
    options: RunOptions = RunOptions(),
) -> dict[str, Any]:
    """Fine-tune, pick the best dev epoch, score the test split, write the outputs; returns the metrics.

    Args:
        kind: the task kind (:func:`bertvsgpt.tasks.registry.kinds`).
        run: the table, settings, seed and output folder (:class:`~bertvsgpt.tasks.options.TaskRun`).
            The table's training split is capped at
            ``min(tasks.<task>.max_train_examples, finetune.max_train_examples)`` rows and its dev
            and test splits at the ``max_eval_examples`` pair, each a fixed seeded subset.
        model_dir: a ``save_pretrained`` directory, or ``None`` for the scratch baseline
            (then ``model_config`` gives the architecture's size).
        arch: ``"bert"`` or ``"gpt"``; must match the saved model.
        tokenizer: the model's tokenizer (its special tokens define the input format).
        options: how the run executes (precision, logger, resume; not what it computes).

    Outputs in ``run.out_dir``: ``checkpoints/`` (the best dev epoch's weights), ``predictions.parquet``
    (one row per test example) and ``metrics.json`` (:func:`~bertvsgpt.tasks.trainer.run_record`'s
    keys, then the kind's).
    """
    import lightning as L

    task_cfg, ft_cfg, seed = run.task_cfg, run.ft_cfg, run.seed
    L.seed_everything(seed, workers=True)
    table = cap_splits(
        run.table,
        min_cap(task_cfg.max_train_examples, ft_cfg.max_train_examples),
        min_cap(task_cfg.max_eval_examples, ft_cfg.max_eval_examples),
    )
    ctx = TaskContext(arch, tokenizer, task_cfg, ft_cfg)
    inputs = kind.encode(table, ctx)
    pretrained, config = load_for_task(model_dir, arch, model_config, tokenizer, task_cfg.max_length, ft_cfg.dropout)
    module = kind.build(pretrained, config, inputs, ctx)
    d = inputs.datasets
    fit = fit_and_predict(module, d["train"], d["dev"], d["test"], inputs.collate, ft_cfg, seed, run.out_dir, options)
    predictions, scores = kind.score(fit, inputs, ctx)
    record = run_record(arch, model_dir, seed, kind.primary_metric, fit, inputs.split_sizes(), inputs.n_truncated, task_cfg.max_length)
    metrics = {**record, **scores}
    write_outputs(Path(run.out_dir), predictions, metrics)
    return metrics
