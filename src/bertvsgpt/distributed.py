"""Which process this is under DDP, for the code that must run once (tracking, writing outputs).

Lightning's launcher re-runs the stage script for every rank > 0 with ``LOCAL_RANK``/``RANK`` set
(torchrun and SLURM set theirs), so the rank is known from the environment before any process
group exists; once one does, :func:`world` reads it from ``torch.distributed``. Nothing heavy is
imported here: every stage writes through :mod:`bertvsgpt.io`, which asks :func:`is_global_zero`.
"""

from __future__ import annotations

import os
import sys

# the variables Lightning's rank_zero_only reads, in its order (torchrun/Lightning, SLURM, LSF)
RANK_VARIABLES = ("RANK", "LOCAL_RANK", "SLURM_PROCID", "JSM_NAMESPACE_RANK")


def global_rank() -> int:
    """This process's global rank (0 outside distributed runs)."""
    for name in RANK_VARIABLES:
        value = os.environ.get(name)
        if value is not None:
            return int(value)
    return 0


def is_global_zero() -> bool:
    return global_rank() == 0


def world() -> tuple[int, int]:
    """``(world_size, rank)`` of the running process group, ``(1, 0)`` when there is none."""
    if "torch" not in sys.modules:  # no torch imported: certainly no process group
        return 1, 0
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size(), dist.get_rank()
    return 1, 0
