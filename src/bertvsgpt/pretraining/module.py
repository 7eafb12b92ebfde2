"""The pre-training LightningModule: one class for both objectives.

BERT (Devlin et al., 2018) minimises masked-LM + next-sentence-prediction loss; GPT (Radford et
al., 2018) minimises the causal language-modelling loss. Both use AdamW with linear warm-up and
linear decay, as both papers do (BERT: warm-up then linear decay; GPT: warm-up then cosine; we
use one schedule for both so the comparison isolates the objective).
"""

from __future__ import annotations

import math
from typing import Any

import lightning as L
import torch

from ..models import BertForPreTraining, GPTForPreTraining, ModelConfig
from ..optim import adamw_with_schedule
from .callbacks import records_step


def build_pretraining_model(arch: str, config: ModelConfig) -> torch.nn.Module:
    if arch == "bert":
        return BertForPreTraining(config)
    if arch == "gpt":
        return GPTForPreTraining(config)
    raise ValueError(f"unknown model '{arch}' (known: bert, gpt)")


class PretrainModule(L.LightningModule):
    def __init__(
        self,
        arch: str,
        model_config: dict[str, Any],
        lr: float,
        weight_decay: float,
        warmup_steps: int,
        total_steps: int,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.arch = arch
        self.config = ModelConfig.from_dict(model_config)
        self.model = build_pretraining_model(arch, self.config)

    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        if self.arch == "bert":
            return self.model(
                input_ids=batch["input_ids"],
                token_type_ids=batch["token_type_ids"],
                attention_mask=batch["attention_mask"],
                masked_positions=batch["masked_positions"],
                masked_labels=batch["masked_labels"],
                nsp_labels=batch.get("nsp_label"),
            )
        return self.model(input_ids=batch["input_ids"], targets=batch["targets"])

    def _step_is_recorded(self) -> bool:
        """Whether this training step's metrics reach the logger and the curve (``callbacks.records_step``).
        Lightning's ``self.log`` costs ~0.6 ms a metric: 4 ms of BERT's 60 ms bf16 step for metrics nothing
        reads on the other steps."""
        trainer = self._trainer
        # this batch's step, once its optimizer step is done; a bare module (no trainer) logs everything
        return trainer is None or records_step(trainer.global_step + 1, trainer)

    def _log_metrics(self, out: dict[str, torch.Tensor], prefix: str, batch_size: int) -> None:
        on_step = prefix == "train"
        log = dict(on_step=on_step, on_epoch=not on_step, batch_size=batch_size, sync_dist=True)
        self.log(f"{prefix}/loss", out["loss"].detach(), prog_bar=True, **log)  # every step: the progress bar
        if on_step and not self._step_is_recorded():
            return
        logs = {}
        if self.arch == "bert":
            mlm_loss = out["mlm_loss"].detach()
            logs[f"{prefix}/mlm_loss"] = mlm_loss
            logs[f"{prefix}/mlm_perplexity"] = torch.exp(mlm_loss.clamp(max=20))
            logs[f"{prefix}/mlm_accuracy"] = out["mlm_correct"].float() / out["mlm_count"].clamp(min=1).float()
            if "nsp_loss" in out:
                logs[f"{prefix}/nsp_loss"] = out["nsp_loss"].detach()
                logs[f"{prefix}/nsp_accuracy"] = out["nsp_correct"].float() / out["nsp_count"].clamp(min=1).float()
        else:
            logs[f"{prefix}/perplexity"] = torch.exp(out["loss"].detach().clamp(max=20))
        self.log_dict(logs, prog_bar=False, **log)

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        out = self(batch)
        self._log_metrics(out, "train", batch["input_ids"].shape[0])
        return out["loss"]

    def configure_optimizers(self):
        hp = self.hparams
        return adamw_with_schedule(self.model, hp.lr, hp.weight_decay, hp.warmup_steps, hp.total_steps)


def steps_for_budget(max_tokens: int, batch_size: int, seq_len: int, world_size: int = 1) -> int:
    """Optimizer steps that process ``max_tokens`` token positions at the global batch size."""
    return max(1, math.ceil(max_tokens / (batch_size * seq_len * world_size)))
