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


def test_early_stopping_cannot_end_a_run_before_the_step_floor(tmp_path):
    """A dev score stuck at its first value (a task still predicting all-``O``) must not stop the run before
    ``min_steps``: the floor is a floor, not only a raised epoch limit. Without it this run stops after
    epoch 2 (patience 1)."""
    import lightning as L
    import torch
    from torch.utils.data import TensorDataset
    from torch.utils.data.dataloader import default_collate

    from bertvsgpt.config.schema import FinetuneConfig
    from bertvsgpt.tasks.base import MONITOR
    from bertvsgpt.tasks.options import RunOptions
    from bertvsgpt.tasks.trainer import fit_and_predict

    class Stuck(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.layer = torch.nn.Linear(2, 1)

        def training_step(self, batch, _):
            x, y = batch
            return torch.nn.functional.mse_loss(self.layer(x).squeeze(-1), y)

        def validation_step(self, batch, _):
            self.log(MONITOR, 0.0)  # never improves

        def predict_step(self, batch, _):
            return self.layer(batch[0])

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.01)

    data = TensorDataset(torch.randn(8, 2), torch.randn(8))
    ft = FinetuneConfig(max_epochs=1, min_steps=12, patience=1, batch_size=4, grad_clip=0.0)
    result = fit_and_predict(Stuck(), data, data, data, default_collate, ft, seed=0, out_dir=tmp_path,
                             options=RunOptions(enable_progress_bar=False))
    assert result.steps_per_epoch == 2 and result.max_epochs == 6
    assert result.epochs_run == 6, f"stopped after {result.epochs_run} epochs, before the 12-step floor"


def test_a_task_step_floor_replaces_the_global_one():
    from bertvsgpt.config.schema import FinetuneConfig, TaskConfig
    from bertvsgpt.tasks.registry import with_task_floor

    ft = FinetuneConfig(min_steps=250)
    assert with_task_floor(ft, TaskConfig(min_steps=1000)).min_steps == 1000
    assert with_task_floor(ft, TaskConfig(min_steps=0)).min_steps == 0
    assert with_task_floor(ft, TaskConfig()).min_steps == 250
