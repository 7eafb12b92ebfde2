"""Fine-tune one pre-trained (or scratch) model on one classification task with one seed.

The best dev checkpoint (by macro-F1) is reloaded and scored on the test split. Outputs in
``out_dir``: ``checkpoints/`` (the best checkpoint), ``predictions.parquet`` (one row per test
example) and ``metrics.json``; both files are written atomically.
"""

from __future__ import annotations

import logging
import math
import shutil
import time
import warnings
from pathlib import Path
from typing import Any, Optional

import lightning as L
import polars as pl
import torch
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
from tokenizers import Tokenizer
from torch.utils.data import DataLoader

from ..config.schema import FinetuneConfig, TaskConfig
from ..io import atomic_path, write_json
from ..metrics.classification import classification_metrics
from ..hardware import resolve_precision
from ..models import ModelConfig, load_config, load_pretrained
from .classifier import SequenceClassifier
from .data import build_task_data
from .module import FineTuneModule

log = logging.getLogger(__name__)

MONITOR = "val_macro_f1"


def _build_classifier(
    model_dir: Optional[Path], arch: str, n_labels: int, model_config: Optional[ModelConfig], dropout: Optional[float]
) -> tuple[SequenceClassifier, ModelConfig]:
    if model_dir is None:
        if model_config is None:
            raise ValueError("model_dir=None (scratch baseline) needs model_config")
        config = model_config
        p = config.dropout if dropout is None else dropout
        return SequenceClassifier.from_config(config, arch, n_labels, p), config
    saved_config, saved_arch = load_config(model_dir)
    if saved_arch != arch:
        raise ValueError(f"{model_dir} holds a '{saved_arch}' model, not '{arch}'")
    pretrained, config = load_pretrained(model_dir)
    pretrained.train()
    p = config.dropout if dropout is None else dropout
    return SequenceClassifier.from_pretrained(pretrained, arch, n_labels, p), config


def finetune_classification(
    model_dir: Optional[Path],
    arch: str,
    tokenizer: Tokenizer,
    table: pl.DataFrame,
    task_cfg: TaskConfig,
    ft_cfg: FinetuneConfig,
    seed: int,
    out_dir: Path,
    precision: str = "32-true",
    logger: Any = None,
    enable_progress_bar: bool = True,
    model_config: Optional[ModelConfig] = None,
    classifier_dropout: Optional[float] = None,
    num_workers: int = 0,
) -> dict[str, Any]:
    """Fine-tune, pick the best dev epoch, score the test split; returns the metrics dict.

    Args:
        model_dir: a ``save_pretrained`` directory, or ``None`` for the scratch baseline
            (then ``model_config`` gives the architecture's size).
        arch: ``"bert"`` or ``"gpt"``; must match the saved model.
        tokenizer: the model's tokenizer (its special tokens define the input format).
        table: columns ``id``, ``split`` (train/dev/test), ``text``, ``label``.
        precision: a Lightning precision string, or ``"auto"``.
        logger: a Lightning logger (``None``: no logger).
        classifier_dropout: dropout before the head; ``None`` = the model's dropout.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ckpt_dir = out_dir / "checkpoints"
    if ckpt_dir.exists():  # a stale "best" from an earlier run must never be picked up
        shutil.rmtree(ckpt_dir)

    L.seed_everything(seed, workers=True)
    data = build_task_data(table, tokenizer, arch, task_cfg.max_length, task_cfg.max_train_examples)
    n_truncated = sum(data.n_truncated.values())
    if n_truncated:
        log.warning(
            "%d example(s) truncated to max_length=%d (by split: %s)",
            n_truncated,
            task_cfg.max_length,
            data.n_truncated,
        )

    model, config = _build_classifier(model_dir, arch, data.n_labels, model_config, classifier_dropout)
    if tokenizer.get_vocab_size() > config.vocab_size:
        raise ValueError(
            f"tokenizer has {tokenizer.get_vocab_size()} tokens but the model only {config.vocab_size}"
        )
    if task_cfg.max_length > config.max_seq_len:
        raise ValueError(f"task max_length={task_cfg.max_length} exceeds the model's max_seq_len={config.max_seq_len}")

    collate = data.collator()
    generator = torch.Generator().manual_seed(seed)
    train_loader = DataLoader(
        data.train,
        batch_size=ft_cfg.batch_size,
        shuffle=True,
        collate_fn=collate,
        generator=generator,
        num_workers=num_workers,
    )
    eval_kw: dict[str, Any] = dict(batch_size=ft_cfg.batch_size, shuffle=False, collate_fn=collate, num_workers=num_workers)
    dev_loader = DataLoader(data.dev, **eval_kw)
    test_loader = DataLoader(data.test, **eval_kw)

    steps_per_epoch = math.ceil(len(data.train) / ft_cfg.batch_size)
    module = FineTuneModule(
        model,
        data.n_labels,
        lr=ft_cfg.lr,
        weight_decay=ft_cfg.weight_decay,
        warmup_fraction=ft_cfg.warmup_fraction,
        total_steps=steps_per_epoch * ft_cfg.max_epochs,
    )
    checkpoint = ModelCheckpoint(
        dirpath=ckpt_dir,
        filename="best-{epoch}",
        monitor=MONITOR,
        mode="max",
        save_top_k=1,
        save_weights_only=True,
        auto_insert_metric_name=False,
    )
    early_stop = EarlyStopping(monitor=MONITOR, mode="max", patience=ft_cfg.patience)
    trainer = L.Trainer(
        accelerator="auto",
        devices=1,
        precision=resolve_precision(precision),
        max_epochs=ft_cfg.max_epochs,
        gradient_clip_val=ft_cfg.grad_clip or None,
        callbacks=[checkpoint, early_stop],
        logger=logger if logger is not None else False,
        deterministic=True,
        enable_progress_bar=enable_progress_bar,
        enable_model_summary=False,
        log_every_n_steps=max(1, min(50, steps_per_epoch)),
        default_root_dir=out_dir,
        num_sanity_val_steps=0,
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        t0 = time.perf_counter()
        trainer.fit(module, train_dataloaders=train_loader, val_dataloaders=dev_loader)
        train_seconds = time.perf_counter() - t0
        epochs_run = trainer.current_epoch

        best_path = checkpoint.best_model_path
        if not best_path:
            raise RuntimeError("no checkpoint was saved (did validation run?)")
        best = torch.load(best_path, map_location="cpu", weights_only=True)
        module.load_state_dict(best["state_dict"])
        batches = trainer.predict(module, dataloaders=test_loader)

    ids = [i for b in batches for i in b["id"]]
    pred = torch.cat([b["pred"] for b in batches])
    probs = torch.cat([b["probs"] for b in batches])
    gold = torch.tensor(data.test.labels, dtype=torch.long)
    scores = classification_metrics(pred, gold, data.n_labels)

    test_frame = data.frames["test"]
    if ids != test_frame.get_column("id").to_list():
        raise RuntimeError("prediction order does not match the test split")
    pred_labels = [data.labels[i] for i in pred.tolist()]
    label_dtype = test_frame.schema["label"]
    predictions = pl.DataFrame(
        {
            "id": test_frame.get_column("id"),
            "text": test_frame.get_column("text"),
            "label": test_frame.get_column("label"),
            "pred": pl.Series("pred", pred_labels, dtype=label_dtype),
            "prob": probs.gather(1, pred[:, None]).squeeze(1).numpy(),
            "correct": (pred == gold).numpy(),
        }
    )
    with atomic_path(out_dir / "predictions.parquet") as tmp:
        predictions.write_parquet(tmp)

    metrics: dict[str, Any] = {
        "arch": arch,
        "pretrained": model_dir is not None,
        "seed": seed,
        "test_accuracy": scores["accuracy"],
        "test_macro_f1": scores["macro_f1"],
        "best_dev_macro_f1": float(checkpoint.best_model_score),
        "best_epoch": int(best["epoch"]),  # 0-based
        "n_train": len(data.train),
        "n_dev": len(data.dev),
        "n_test": len(data.test),
        "n_labels": data.n_labels,
        "labels": data.labels,
        "n_truncated": n_truncated,
        "n_truncated_by_split": data.n_truncated,
        "max_length": task_cfg.max_length,
        "epochs_run": epochs_run,
        "train_seconds": train_seconds,
        "precision": resolve_precision(precision),
    }
    write_json(out_dir / "metrics.json", metrics)
    return metrics
