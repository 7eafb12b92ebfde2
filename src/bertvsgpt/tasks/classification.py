"""Sequence classification (sentiment, news topic, intent): module and fine-tuning run.

Cross-entropy on the label; the dev metric is macro-F1. GPT may add its auxiliary LM loss on
the input (``finetune.aux_lm_weight``). Outputs in ``out_dir``: ``checkpoints/`` (the best dev
epoch), ``predictions.parquet`` (one row per test example) and ``metrics.json``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional

import polars as pl
import torch
import torch.nn.functional as F
from tokenizers import Tokenizer
from torchmetrics.classification import MulticlassAccuracy, MulticlassF1Score

from ..config.schema import FinetuneConfig, TaskConfig
from ..metrics.classification import classification_metrics
from ..models import ModelConfig
from .backbone import load_for_task
from .base import MONITOR, TaskModule, protocol_kwargs
from .classifier import SequenceClassifier
from .data import build_task_data
from .trainer import check_order, fit_and_predict, run_record, write_outputs

log = logging.getLogger(__name__)


class ClassificationModule(TaskModule):
    """Trains a :class:`SequenceClassifier`; logs ``train_loss``, ``val_loss``, ``val_acc``, ``val_score`` (macro-F1)."""

    def __init__(self, model: SequenceClassifier, n_labels: int, **protocol: Any) -> None:
        super().__init__(model, **protocol)
        self.n_labels = n_labels
        self.val_acc = MulticlassAccuracy(num_classes=n_labels, average="micro")
        self.val_f1 = MulticlassF1Score(num_classes=n_labels, average="macro")

    def forward(self, batch: dict[str, Any]) -> torch.Tensor:
        return self.model(batch["input_ids"], batch["token_type_ids"], batch["attention_mask"])

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        hidden = self.model.hidden(batch["input_ids"], batch["token_type_ids"], batch["attention_mask"])
        logits = self.model.classify(hidden, batch["attention_mask"]).float()
        loss = F.cross_entropy(logits, batch["labels"])
        loss = loss + self.aux_lm_loss(hidden, batch["input_ids"], batch["attention_mask"])
        self.log("train_loss", loss, on_step=True, on_epoch=True, prog_bar=True, sync_dist=True, batch_size=logits.size(0))
        return loss

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        logits = self(batch).float()
        labels = batch["labels"]
        preds = logits.argmax(-1)
        self.val_acc.update(preds, labels)
        self.val_f1.update(preds, labels)
        bs = logits.size(0)
        self.log("val_loss", F.cross_entropy(logits, labels), on_step=False, on_epoch=True, batch_size=bs)
        self.log("val_acc", self.val_acc, on_step=False, on_epoch=True, prog_bar=True, batch_size=bs)
        self.log(MONITOR, self.val_f1, on_step=False, on_epoch=True, prog_bar=True, batch_size=bs)

    def predict_step(self, batch: dict[str, Any], batch_idx: int, dataloader_idx: int = 0) -> dict[str, Any]:
        """``{"id": [...], "pred": (B,) label ids, "probs": (B, n_labels) softmax}`` (on CPU)."""
        probs = torch.softmax(self(batch).float(), dim=-1)
        return {"id": list(batch["id"]), "pred": probs.argmax(-1).cpu(), "probs": probs.cpu()}


def scored_predictions(
    test: pl.DataFrame, labels: Sequence[Any], pred_ids: Sequence[int], probs: Sequence[float]
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """The test split's per-example predictions table (label, prediction, its probability, correct) and
    its ``test_*`` metrics, from predicted label ids (indices into ``labels``); what a fine-tuned
    classifier and a baseline both write."""
    ids = {lab: i for i, lab in enumerate(labels)}
    gold = [ids[g] for g in test.get_column("label").to_list()]
    scores = classification_metrics(list(pred_ids), gold, len(labels))
    predictions = pl.DataFrame(
        {
            "id": test.get_column("id"),
            "text": test.get_column("text"),
            "label": test.get_column("label"),
            "pred": pl.Series("pred", [labels[i] for i in pred_ids], dtype=test.schema["label"]),
            "prob": pl.Series("prob", [float(p) for p in probs], dtype=pl.Float32),
            "correct": [p == g for p, g in zip(pred_ids, gold)],
        }
    )
    return predictions, {"test_accuracy": scores["accuracy"], "test_macro_f1": scores["macro_f1"]}


def finetune_classification(
    model_dir: Optional[Path],
    arch: str,
    tokenizer: Tokenizer,
    table: pl.DataFrame,
    task_cfg: TaskConfig,
    ft_cfg: FinetuneConfig,
    seed: int,
    out_dir: Path,
    model_config: Optional[ModelConfig] = None,
    **run: Any,
) -> dict[str, Any]:
    """Fine-tune, pick the best dev epoch, score the test split; returns the metrics dict.

    Args:
        model_dir: a ``save_pretrained`` directory, or ``None`` for the scratch baseline
            (then ``model_config`` gives the architecture's size).
        arch: ``"bert"`` or ``"gpt"``; must match the saved model.
        tokenizer: the model's tokenizer (its special tokens define the input format).
        table: columns ``id``, ``split`` (train/dev/test), ``text``, ``label``.
        run: :func:`~bertvsgpt.tasks.trainer.fit_and_predict`'s options (``precision``, ``logger``,
            ``enable_progress_bar``, ``num_workers``, ``resume_dir``, ``fingerprint``).
    """
    import lightning as L

    L.seed_everything(seed, workers=True)
    data = build_task_data(table, tokenizer, arch, task_cfg.max_length, task_cfg.max_train_examples)
    n_truncated = sum(data.n_truncated.values())
    if n_truncated:
        log.warning("%d example(s) truncated to max_length=%d (by split: %s)", n_truncated, task_cfg.max_length, data.n_truncated)

    pretrained, config = load_for_task(model_dir, arch, model_config, tokenizer, task_cfg.max_length, ft_cfg.dropout)
    model = SequenceClassifier.from_pretrained(pretrained, arch, data.n_labels, config.dropout, ft_cfg.pooling)
    module = ClassificationModule(model, data.n_labels, **protocol_kwargs(ft_cfg, pretrained))
    fit = fit_and_predict(
        module, data.train, data.dev, data.test, data.collator(), ft_cfg, seed, out_dir, **run,
    )

    ids = [i for b in fit.batches for i in b["id"]]
    pred = torch.cat([b["pred"] for b in fit.batches])
    probs = torch.cat([b["probs"] for b in fit.batches])
    test_frame = data.frames["test"]
    check_order(ids, test_frame)
    predictions, test_metrics = scored_predictions(test_frame, data.labels, pred.tolist(), probs.gather(1, pred[:, None]).squeeze(1).tolist())
    sizes = {"train": len(data.train), "dev": len(data.dev), "test": len(data.test)}
    metrics: dict[str, Any] = {
        **run_record(arch, model_dir, seed, "test_accuracy", fit, sizes, data.n_truncated, task_cfg.max_length),
        **test_metrics,
        "best_dev_macro_f1": fit.best_dev_score,
        "n_labels": data.n_labels,
        "labels": data.labels,
    }
    write_outputs(Path(out_dir), predictions, metrics)
    return metrics


def check_fits(tokenizer: Tokenizer, config: ModelConfig, max_length: int) -> None:
    """The tokenizer's ids and the task's sequence length must fit the model."""
    if tokenizer.get_vocab_size() > config.vocab_size:
        raise ValueError(f"tokenizer has {tokenizer.get_vocab_size()} tokens but the model only {config.vocab_size}")
    if max_length > config.max_seq_len:
        raise ValueError(f"task max_length={max_length} exceeds the model's max_seq_len={config.max_seq_len}")
