"""The optimiser both pre-training and fine-tuning use: AdamW with linear warm-up, then linear decay.

As in BERT's optimiser, weight decay applies to weight matrices and embeddings only, not to
biases or LayerNorm parameters; tied weights are counted once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn


def adamw_param_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """Two AdamW groups: decayed (matrices, embeddings) and not decayed (biases, LayerNorm, other 1-d)."""
    decay, no_decay, seen = [], [], set()
    for p in model.parameters():
        if not p.requires_grad or id(p) in seen:
            continue
        seen.add(id(p))
        (no_decay if p.ndim < 2 else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def linear_warmup_decay(warmup_steps: int, total_steps: int) -> Callable[[int], float]:
    """LambdaLR factor: rises linearly over ``warmup_steps``, then decays linearly to 0 at ``total_steps``."""
    total_steps = max(1, total_steps)
    warmup_steps = max(0, min(warmup_steps, total_steps))

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / (warmup_steps + 1)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))

    return factor


def adamw_with_schedule(
    model: nn.Module, lr: float, weight_decay: float, warmup_steps: int, total_steps: int, eps: float = 1e-6
) -> dict[str, Any]:
    """What a LightningModule's ``configure_optimizers`` returns: AdamW plus a per-step LR schedule."""
    opt = torch.optim.AdamW(adamw_param_groups(model, weight_decay), lr=lr, betas=(0.9, 0.999), eps=eps)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, linear_warmup_decay(warmup_steps, total_steps))
    return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}
