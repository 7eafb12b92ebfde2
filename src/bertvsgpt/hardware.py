"""Pick the training precision the hardware actually runs fast."""

from __future__ import annotations

import logging

import torch

log = logging.getLogger(__name__)


def fast_bf16_available() -> bool:
    """True on GPUs with bf16 and on CPUs with native bf16 matmuls (AVX512-BF16 or AMX).

    On CPUs without them (e.g. AVX2-only) PyTorch emulates bf16 matmuls and runs them
    more than 10x slower than fp32, so ``auto`` must not pick bf16 there.
    """
    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    cpu = torch.cpu
    return bool(
        getattr(cpu, "_is_avx512_bf16_supported", lambda: False)()
        or getattr(cpu, "_is_amx_tile_supported", lambda: False)()
    )


def resolve_precision(precision: str) -> str:
    if precision != "auto":
        return precision
    chosen = "bf16-mixed" if fast_bf16_available() else "32-true"
    log.info("precision auto -> %s", chosen)
    return chosen


def autocast_dtype(precision: str) -> torch.dtype:
    return {"bf16-mixed": torch.bfloat16, "16-mixed": torch.float16}.get(precision, torch.float32)
