"""One epoch order for every training loop: pre-training and fine-tuning shuffle alike.

Epoch ``e`` visits ``randperm(n)`` drawn from a generator seeded ``seed + e``, the order torch's
``DistributedSampler(shuffle=True, seed=seed)`` gives, so it depends only on ``(seed, e)`` and a
resumed run replays the order an uninterrupted one would have used (Lightning calls
:meth:`EpochSampler.set_epoch` before every epoch). Under DDP each process takes its share as
``DistributedSampler`` does: the permutation padded from its start to a multiple of the world
size, then every ``world``-th index from the process's rank on, so rank ``r``'s ``k``-th batch of
``B`` holds positions ``[k·B·world, (k+1)·B·world)`` together with the other ranks' ``k``-th
batches. The world is read when iterating, not when the loader is built, because Lightning starts
the process group only inside ``fit``.
"""

from __future__ import annotations

import math

import torch
from torch.utils.data import Sampler

from .distributed import world


class EpochSampler(Sampler[int]):
    """The seeded order of each epoch; ``skip`` drops the first indices of the next epoch only
    (a mid-epoch resume)."""

    def __init__(self, n: int, seed: int) -> None:
        self.n, self.seed, self.epoch, self.skip = n, seed, 0, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return math.ceil(self.n / world()[0])

    def __iter__(self):
        g = torch.Generator().manual_seed(self.seed + self.epoch)
        order = torch.randperm(self.n, generator=g).tolist()
        size, rank = world()
        if size > 1:
            order = (order + order[: math.ceil(self.n / size) * size - self.n])[rank::size]
        skip, self.skip = self.skip, 0
        return iter(order[skip:])
