"""The fine-tuning trainer's data order: one process, and each DDP rank's share of it."""

from __future__ import annotations

import pytest

import bertvsgpt.tasks.trainer as trainer_module
from bertvsgpt.tasks.trainer import EpochShuffle


def batches(order: list[int], size: int) -> list[list[int]]:
    return [order[i : i + size] for i in range(0, len(order), size)]


@pytest.mark.parametrize("n", [96, 90, 7])
def test_ddp_ranks_share_the_global_batches_of_one_process(monkeypatch, n):
    """Rank r's k-th batch of B, together with the other ranks' k-th batches, is one process's k-th
    batch of B x world (the last one padded from the epoch's start, as DistributedSampler does)."""
    world, local_batch, epoch = 2, 4, 1
    one = EpochShuffle(n, seed=3)
    one.set_epoch(epoch)
    single = list(one)
    assert sorted(single) == list(range(n)) and len(one) == n

    shares = []
    for rank in range(world):
        monkeypatch.setattr(trainer_module, "world", lambda rank=rank: (world, rank))
        sampler = EpochShuffle(n, seed=3)
        sampler.set_epoch(epoch)
        share = list(sampler)
        assert len(share) == len(sampler) == -(-n // world)
        shares.append(batches(share, local_batch))
    assert len(shares[0]) == len(shares[1])  # every rank takes the same number of steps
    padded = single + single[: -(-n // world) * world - n]
    for k, global_batch in enumerate(batches(padded, local_batch * world)):
        assert sorted(shares[0][k] + shares[1][k]) == sorted(global_batch), k
    assert set(i for share in shares for b in share for i in b) == set(range(n))


def test_one_process_order_is_unchanged_by_the_ddp_layout():
    """Without a process group the sampler is the plain seeded permutation (results of earlier runs hold)."""
    import torch

    sampler = EpochShuffle(20, seed=5)
    sampler.set_epoch(2)
    g = torch.Generator().manual_seed(5 * 100_003 + 2)
    assert list(sampler) == torch.randperm(20, generator=g).tolist()


def test_small_splits_get_more_epochs_up_to_min_steps():
    from bertvsgpt.config.schema import FinetuneConfig
    from bertvsgpt.tasks.trainer import epochs_for

    cfg = FinetuneConfig(max_epochs=3, min_steps=300)
    assert epochs_for(cfg, 16) == 19  # 485 intent examples at batch 32: 19 epochs reach 304 steps
    assert epochs_for(cfg, 251) == 3  # a large split keeps max_epochs
    assert epochs_for(FinetuneConfig(max_epochs=2, min_steps=0), 5) == 2
