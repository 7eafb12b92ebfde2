"""The fine-tuning trainer: epochs raised to the step floor, early stopping after it (its data order:
``tests/test_sampler.py``)."""

from __future__ import annotations


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
    from bertvsgpt.config.schema import FinetuneConfig, task_config
    from bertvsgpt.tasks.registry import with_task_floor

    ft = FinetuneConfig(min_steps=250)
    assert with_task_floor(ft, task_config(min_steps=1000)).min_steps == 1000
    assert with_task_floor(ft, task_config(min_steps=0)).min_steps == 0
    assert with_task_floor(ft, task_config()).min_steps == 250
