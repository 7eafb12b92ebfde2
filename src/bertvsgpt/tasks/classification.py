"""Sequence classification (sentiment, news topic, intent): the module and the task kind.

Cross-entropy on the label; the dev metric is macro-F1, the test metrics accuracy and macro-F1.
GPT may add its auxiliary LM loss on the input (``finetune.aux_lm_weight``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl
import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics.classification import MulticlassAccuracy, MulticlassF1Score

from ..models import ModelConfig
from .base import MONITOR, TaskModule, protocol_kwargs
from .heads import SequenceClassifier
from .scoring import scored_classifications
from .data import build_task_data
from .finetune import TaskContext, TaskInputs, predicted_ids, warn_truncated
from .trainer import FitResult


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


class Classification:
    """Sequence classification as a :class:`~bertvsgpt.tasks.finetune.TaskKind`: one label per text."""

    primary_metric = "test_accuracy"

    def encode(self, table: pl.DataFrame, ctx: TaskContext) -> TaskInputs:
        data = build_task_data(table, ctx.tokenizer, ctx.arch, ctx.task_cfg.max_length)
        warn_truncated(data.n_truncated, "example(s)", ctx.task_cfg.max_length)
        datasets = {"train": data.train, "dev": data.dev, "test": data.test}
        return TaskInputs(data.frames, datasets, data.collator(), data.n_truncated, state={"labels": data.labels})

    def build(self, pretrained: nn.Module, config: ModelConfig, inputs: TaskInputs, ctx: TaskContext) -> TaskModule:
        n_labels = len(inputs.state["labels"])
        model = SequenceClassifier.from_pretrained(pretrained, ctx.arch, n_labels, config.dropout, ctx.ft_cfg.pooling)
        return ClassificationModule(model, n_labels, **protocol_kwargs(ctx.ft_cfg, pretrained))

    def score(self, fit: FitResult, inputs: TaskInputs, ctx: TaskContext) -> tuple[pl.DataFrame, dict[str, Any]]:
        predicted_ids(fit, inputs.frames["test"])
        pred = torch.cat([b["pred"] for b in fit.batches])
        probs = torch.cat([b["probs"] for b in fit.batches])
        labels = inputs.state["labels"]
        predictions, test_metrics = scored_classifications(
            inputs.frames["test"], labels, pred.tolist(), probs.gather(1, pred[:, None]).squeeze(1).tolist()
        )
        return predictions, {**test_metrics, "best_dev_macro_f1": fit.best_dev_score, "n_labels": len(labels), "labels": labels}


CLASSIFICATION = Classification()
