"""The optimiser both pre-training and fine-tuning use: AdamW with linear warm-up, then linear decay.

As in BERT's optimiser, weight decay applies to weight matrices and embeddings only, not to
biases or LayerNorm parameters; tied weights are counted once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn


def adamw_param_groups(
    model: nn.Module, weight_decay: float, lr: float | None = None, lr_scale: dict[int, float] | None = None
) -> list[dict[str, Any]]:
    """AdamW groups: decayed (matrices, embeddings) and not decayed (biases, LayerNorm, other 1-d).

    With ``lr_scale`` (``id(param) -> factor``, e.g. layer-wise decay) each group is further split
    by factor and gets its own ``lr = lr * factor``. Frozen parameters are left out.
    """
    groups: dict[tuple[bool, float], list] = {}
    seen: set[int] = set()
    for p in model.parameters():
        if not p.requires_grad or id(p) in seen:
            continue
        seen.add(id(p))
        factor = 1.0 if lr_scale is None else lr_scale.get(id(p), 1.0)
        groups.setdefault((p.ndim >= 2, factor), []).append(p)
    if lr_scale is None:
        return [
            {"params": groups.get((True, 1.0), []), "weight_decay": weight_decay},
            {"params": groups.get((False, 1.0), []), "weight_decay": 0.0},
        ]
    if lr is None:
        raise ValueError("lr_scale needs the base lr")
    return [
        {"params": ps, "weight_decay": weight_decay if decayed else 0.0, "lr": lr * factor}
        for (decayed, factor), ps in sorted(groups.items(), key=lambda kv: (-kv[0][1], not kv[0][0]))
    ]


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
    model: nn.Module,
    lr: float,
    weight_decay: float,
    warmup_steps: int,
    total_steps: int,
    eps: float = 1e-6,
    lr_scale: dict[int, float] | None = None,
) -> dict[str, Any]:
    """What a LightningModule's ``configure_optimizers`` returns: AdamW plus a per-step LR schedule."""
    groups = adamw_param_groups(model, weight_decay, lr, lr_scale)
    opt = torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.999), eps=eps)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, linear_warmup_decay(warmup_steps, total_steps))
    return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}
