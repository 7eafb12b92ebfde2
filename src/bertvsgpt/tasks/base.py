"""The fine-tuning protocol every task shares, as one LightningModule base class.

AdamW with decoupled weight decay (not on biases/LayerNorm), linear warm-up then linear decay,
optional layer-wise learning-rate decay (Howard & Ruder, 2018; Clark et al., 2020) and optional
freezing of the embeddings and the lowest blocks. Each task subclasses :class:`TaskModule`,
implements ``training_step`` / ``validation_step`` / ``predict_step`` and logs its dev metric
as :data:`MONITOR` (higher is better), which early stopping and checkpointing watch.
"""

from __future__ import annotations

import math
from typing import Optional


import lightning as L
import torch
import torch.nn.functional as F
from torch import nn

from ..models import Transformer
from ..models.config import IGNORE_INDEX
from ..optim import adamw_with_schedule
from ..resume import restore_rng_states, rng_states

MONITOR = "val_score"


def freeze_layers(backbone: Transformer, n: int) -> None:
    """Freeze the embeddings and the lowest ``n`` blocks (``n=0``: nothing frozen)."""
    if not 0 <= n <= len(backbone.h):
        raise ValueError(f"freeze_layers={n} must be in [0, {len(backbone.h)}]")
    if n == 0:
        return
    for p in backbone.embeddings.parameters():
        p.requires_grad_(False)
    for block in backbone.h[:n]:
        for p in block.parameters():
            p.requires_grad_(False)


def layer_depths(model: nn.Module, backbone: Transformer) -> dict[int, int]:
    """``id(param) -> depth``: 0 embeddings, ``i+1`` block ``i``, ``L+1`` anything else (heads)."""
    top = len(backbone.h) + 1
    depth = {id(p): top for p in model.parameters()}
    for p in backbone.embeddings.parameters():
        depth[id(p)] = 0
    for i, block in enumerate(backbone.h):
        for p in block.parameters():
            depth[id(p)] = i + 1
    return depth


class TaskModule(L.LightningModule):
    """Holds ``self.model`` and its backbone; configures the shared optimiser and schedule."""

    def __init__(
        self,
        model: nn.Module,
        backbone: Transformer,
        lr: float = 1e-4,
        weight_decay: float = 0.01,
        warmup_fraction: float = 0.1,
        total_steps: Optional[int] = None,
        layer_lr_decay: float = 1.0,
        n_frozen_layers: int = 0,
        lm_head: Optional[nn.Module] = None,
        aux_lm_weight: float = 0.0,
    ) -> None:
        super().__init__()
        if not 0.0 <= warmup_fraction < 1.0:
            raise ValueError(f"warmup_fraction={warmup_fraction} must be in [0, 1)")
        if not 0.0 < layer_lr_decay <= 1.0:
            raise ValueError(f"layer_lr_decay={layer_lr_decay} must be in (0, 1]")
        self.model = model
        self._backbone = [backbone]  # a list: not registered twice as a submodule
        self.lr = lr
        self.weight_decay = weight_decay
        self.warmup_fraction = warmup_fraction
        self.total_steps = total_steps
        self.layer_lr_decay = layer_lr_decay
        if aux_lm_weight < 0:
            raise ValueError(f"aux_lm_weight={aux_lm_weight} must be >= 0")
        if aux_lm_weight > 0 and lm_head is None:
            raise ValueError("aux_lm_weight > 0 needs the LM head (GPT only)")
        self.aux_lm_weight = aux_lm_weight
        self._lm_head = [lm_head]  # tied to the word embeddings: no parameters of its own
        freeze_layers(backbone, n_frozen_layers)

    def aux_lm_loss(
        self, hidden: torch.Tensor, input_ids: torch.Tensor, attention_mask: Optional[torch.Tensor]
    ) -> torch.Tensor:
        """GPT's auxiliary objective (Radford et al., 2018, eq. 5): next-token loss on the input.

        Returns ``aux_lm_weight * L1`` (0 when the weight is 0); ``hidden`` is the causal
        backbone's output for ``input_ids``. Padding positions are not predicted.
        """
        if self.aux_lm_weight == 0:
            return hidden.new_zeros(())
        logits = self._lm_head[0](hidden[:, :-1]).float()
        targets = input_ids[:, 1:].clone()
        if attention_mask is not None:
            targets[attention_mask[:, 1:] == 0] = IGNORE_INDEX
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=IGNORE_INDEX)
        return self.aux_lm_weight * loss

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        """Keep the RNG states, so a resumed run draws the same dropout masks (bitwise resume)."""
        checkpoint["rng_states"] = rng_states()

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        if "rng_states" in checkpoint:
            restore_rng_states(checkpoint["rng_states"])

    @property
    def backbone(self) -> Transformer:
        return self._backbone[0]

    def configure_optimizers(self):
        total = self.total_steps
        if total is None:
            est = self.trainer.estimated_stepping_batches
            total = int(est) if math.isfinite(est) else 1
        warmup = int(self.warmup_fraction * total)
        scale = None
        if self.layer_lr_decay < 1.0:
            depths = layer_depths(self.model, self.backbone)
            top = len(self.backbone.h) + 1
            scale = {pid: self.layer_lr_decay ** (top - d) for pid, d in depths.items()}
        return adamw_with_schedule(self.model, self.lr, self.weight_decay, warmup, total, lr_scale=scale)


def protocol_kwargs(ft_cfg, pretrained: nn.Module) -> dict:
    """The :class:`TaskModule` arguments the fine-tuning protocol fixes for every task.

    ``pretrained`` is the pre-training model the task model was built from; its backbone is
    what layer-wise decay and freezing act on, and (GPT) its tied LM head serves the auxiliary
    LM loss.
    """
    from .backbone import backbone_of

    pretrained = getattr(pretrained, "_orig_mod", pretrained)
    lm_head = getattr(pretrained, "lm_head", None)
    return dict(
        backbone=backbone_of(pretrained),
        lr=ft_cfg.lr,
        weight_decay=ft_cfg.weight_decay,
        warmup_fraction=ft_cfg.warmup_fraction,
        layer_lr_decay=ft_cfg.layer_lr_decay,
        n_frozen_layers=ft_cfg.freeze_layers,
        lm_head=lm_head if ft_cfg.aux_lm_weight > 0 else None,
        aux_lm_weight=ft_cfg.aux_lm_weight if lm_head is not None else 0.0,
    )
