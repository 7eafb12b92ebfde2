"""A dispatch mode that records which ATen ops run and the operand dtype of every matrix product."""

from __future__ import annotations

import torch
from torch.utils._python_dispatch import TorchDispatchMode

GEMMS = ("mm", "addmm", "addmm_", "bmm")


class GemmDtypes(TorchDispatchMode):
    """``ops``: the names of the ATen ops run under it; ``dtypes``: each GEMM's second operand's dtype
    (``addmm``'s first argument is the bias or the accumulator)."""

    def __init__(self) -> None:
        super().__init__()
        self.dtypes: list[torch.dtype] = []
        self.ops: set[str] = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func.overloadpacket.__name__
        self.ops.add(name)
        if name in GEMMS:
            self.dtypes.append(args[1].dtype)
        return func(*args, **(kwargs or {}))
