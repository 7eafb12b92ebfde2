"""The one epoch order of pre-training and fine-tuning: seeded, resumable, sharded under DDP."""

from __future__ import annotations

import pytest
import torch

import bertvsgpt.sampler as sampler_module
from bertvsgpt.sampler import EpochSampler


def batches(order: list[int], size: int) -> list[list[int]]:
    return [order[i : i + size] for i in range(0, len(order), size)]


@pytest.mark.parametrize("n", [96, 90, 7])
def test_ddp_ranks_share_the_global_batches_of_one_process(monkeypatch, n):
    """Rank r's k-th batch of B, together with the other ranks' k-th batches, is one process's k-th
    batch of B x world (the last one padded from the epoch's start, as DistributedSampler does)."""
    world, local_batch, epoch = 2, 4, 1
    one = EpochSampler(n, seed=3)
    one.set_epoch(epoch)
    single = list(one)
    assert sorted(single) == list(range(n)) and len(one) == n

    shares = []
    for rank in range(world):
        monkeypatch.setattr(sampler_module, "world", lambda rank=rank: (world, rank))
        sampler = EpochSampler(n, seed=3)
        sampler.set_epoch(epoch)
        share = list(sampler)
        assert len(share) == len(sampler) == -(-n // world)
        shares.append(batches(share, local_batch))
    assert len(shares[0]) == len(shares[1])  # every rank takes the same number of steps
    padded = single + single[: -(-n // world) * world - n]
    for k, global_batch in enumerate(batches(padded, local_batch * world)):
        assert sorted(shares[0][k] + shares[1][k]) == sorted(global_batch), k
    assert set(i for share in shares for b in share for i in b) == set(range(n))


@pytest.mark.parametrize("world,n", [(1, 20), (2, 20), (3, 20), (4, 7)])
def test_the_order_is_torchs_distributed_sampler(monkeypatch, world, n):
    """Each rank's order equals DistributedSampler(shuffle=True, seed) at the same epoch: the order
    pre-training used before the samplers were merged, and Lightning's under DDP."""
    for rank in range(world):
        monkeypatch.setattr(sampler_module, "world", lambda rank=rank: (world, rank))
        ours, theirs = EpochSampler(n, seed=7), torch.utils.data.DistributedSampler(
            range(n), num_replicas=world, rank=rank, shuffle=True, seed=7
        )
        ours.set_epoch(3), theirs.set_epoch(3)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)


def test_the_order_depends_only_on_seed_and_epoch():
    a, b = EpochSampler(50, 3), EpochSampler(50, 3)
    a.set_epoch(2)
    b.set_epoch(0)
    list(b)
    b.set_epoch(2)
    assert list(a) == list(b) and sorted(a) == list(range(50))
    b.set_epoch(3)
    assert list(b) != list(a)
    assert list(EpochSampler(50, 4)) != list(EpochSampler(50, 3))


def test_skip_drops_the_start_of_the_next_epoch_only():
    """A mid-epoch resume: the rest of the epoch, then whole epochs again."""
    sampler = EpochSampler(30, seed=1)
    sampler.set_epoch(4)
    whole = list(sampler)
    sampler.skip = 12
    assert list(sampler) == whole[12:]
    assert list(sampler) == whole


def test_fine_tuning_orders_are_unchanged_by_the_merge():
    """Fine-tuning seeds its sampler with seed x SEED_STRIDE: the plain seeded permutation its runs
    always used (so committed results hold), and seed s + 1 never replays seed s's next epoch."""
    from bertvsgpt.tasks.trainer import SEED_STRIDE

    sampler = EpochSampler(20, seed=5 * SEED_STRIDE)
    sampler.set_epoch(2)
    g = torch.Generator().manual_seed(5 * 100_003 + 2)
    assert list(sampler) == torch.randperm(20, generator=g).tolist()
    s0, s1 = EpochSampler(20, 0 * SEED_STRIDE), EpochSampler(20, 1 * SEED_STRIDE)
    s0.set_epoch(1)
    assert list(s0) != list(s1)
