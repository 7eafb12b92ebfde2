"""Which process this is under DDP, for the code that must run once (tracking, writing outputs).

Lightning's launcher re-runs the stage script for every rank > 0 with ``LOCAL_RANK``/``RANK`` set
(torchrun and SLURM set theirs), so the rank is known from the environment before any process
group exists; once one does, :func:`world` reads it from ``torch.distributed``.
"""

from __future__ import annotations

import torch.distributed as dist


def global_rank() -> int:
    """This process's global rank (0 outside distributed runs)."""
    from lightning.fabric.utilities.rank_zero import _get_rank

    return int(_get_rank() or 0)


def is_global_zero() -> bool:
    return global_rank() == 0


def world() -> tuple[int, int]:
    """``(world_size, rank)`` of the running process group, ``(1, 0)`` when there is none."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size(), dist.get_rank()
    return 1, 0
