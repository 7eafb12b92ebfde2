"""Lightning module that fine-tunes a :class:`SequenceClassifier`.

Cross-entropy on the labels; AdamW with decoupled weight decay on weight matrices and
embeddings only (not on biases or LayerNorm parameters, as in BERT's optimiser); the learning
rate rises linearly from 0 over the warm-up steps and then decays linearly to 0 at the last
step (BERT and GPT both use a linear warm-up; GPT-1 fine-tunes with a linear decay).
"""

from __future__ import annotations

import math
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics.classification import MulticlassAccuracy, MulticlassF1Score

from ..optim import adamw_with_schedule
from .classifier import SequenceClassifier


class FineTuneModule(L.LightningModule):
    """Trains a classifier; logs ``train_loss``, ``val_loss``, ``val_acc``, ``val_macro_f1``."""

    def __init__(
        self,
        model: SequenceClassifier,
        n_labels: int,
        lr: float = 1e-4,
        weight_decay: float = 0.01,
        warmup_fraction: float = 0.1,
        total_steps: int | None = None,
    ) -> None:
        super().__init__()
        if not 0.0 <= warmup_fraction < 1.0:
            raise ValueError(f"warmup_fraction={warmup_fraction} must be in [0, 1)")
        self.model = model
        self.n_labels = n_labels
        self.lr = lr
        self.weight_decay = weight_decay
        self.warmup_fraction = warmup_fraction
        self.total_steps = total_steps
        self.save_hyperparameters(
            {"n_labels": n_labels, "lr": lr, "weight_decay": weight_decay, "warmup_fraction": warmup_fraction}
        )
        self.val_acc = MulticlassAccuracy(num_classes=n_labels, average="micro")
        self.val_f1 = MulticlassF1Score(num_classes=n_labels, average="macro")

    def forward(self, batch: dict[str, Any]) -> torch.Tensor:
        return self.model(batch["input_ids"], batch["token_type_ids"], batch["attention_mask"])

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        logits = self(batch).float()
        loss = F.cross_entropy(logits, batch["labels"])
        self.log("train_loss", loss, on_step=True, on_epoch=True, prog_bar=True, batch_size=logits.size(0))
        return loss

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        logits = self(batch).float()
        labels = batch["labels"]
        loss = F.cross_entropy(logits, labels)
        preds = logits.argmax(-1)
        self.val_acc.update(preds, labels)
        self.val_f1.update(preds, labels)
        bs = logits.size(0)
        self.log("val_loss", loss, on_step=False, on_epoch=True, batch_size=bs)
        self.log("val_acc", self.val_acc, on_step=False, on_epoch=True, prog_bar=True, batch_size=bs)
        self.log("val_macro_f1", self.val_f1, on_step=False, on_epoch=True, prog_bar=True, batch_size=bs)

    def predict_step(self, batch: dict[str, Any], batch_idx: int, dataloader_idx: int = 0) -> dict[str, Any]:
        """``{"id": [...], "pred": (B,) label ids, "probs": (B, n_labels) softmax}`` (on CPU)."""
        probs = torch.softmax(self(batch).float(), dim=-1)
        return {"id": list(batch["id"]), "pred": probs.argmax(-1).cpu(), "probs": probs.cpu()}

    def configure_optimizers(self):
        total = self.total_steps
        if total is None:
            est = self.trainer.estimated_stepping_batches
            total = int(est) if math.isfinite(est) else 1
        warmup = int(self.warmup_fraction * total)
        return adamw_with_schedule(self.model, self.lr, self.weight_decay, warmup, total)
