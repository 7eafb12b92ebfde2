"""The fine-tuning trainer: epochs raised to the step floor, early stopping after it (its data order:
``tests/test_sampler.py``)."""

from __future__ import annotations

import shutil

import pytest


def scripted_module(dev_score, lr: float, seed=None):
    """A one-layer regression LightningModule whose dev score (``val_score``) at epoch ``e`` is ``dev_score(e)``."""
    import lightning as L
    import torch

    from bertvsgpt.tasks.base import MONITOR

    class Scripted(L.LightningModule):
        def __init__(self):
            super().__init__()
            if seed is not None:
                torch.manual_seed(seed)
            self.layer = torch.nn.Linear(2, 1)

        def training_step(self, batch, _):
            x, y = batch
            return torch.nn.functional.mse_loss(self.layer(x).squeeze(-1), y)

        def validation_step(self, batch, _):
            self.log(MONITOR, dev_score(self.current_epoch))

        def predict_step(self, batch, _):
            return self.layer(batch[0])

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=lr)

    return Scripted()


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
    import torch
    from torch.utils.data import TensorDataset
    from torch.utils.data.dataloader import default_collate

    from bertvsgpt.config.schema import FinetuneConfig
    from bertvsgpt.tasks.options import RunOptions
    from bertvsgpt.tasks.trainer import fit_and_predict

    data = TensorDataset(torch.randn(8, 2), torch.randn(8))
    ft = FinetuneConfig(max_epochs=1, min_steps=12, patience=1, batch_size=4, grad_clip=0.0)
    stuck = scripted_module(lambda epoch: 0.0, lr=0.01)  # the dev score never improves
    result = fit_and_predict(stuck, data, data, data, default_collate, ft, seed=0, out_dir=tmp_path,
                             options=RunOptions(enable_progress_bar=False))
    assert result.steps_per_epoch == 2 and result.max_epochs == 6
    assert result.epochs_run == 6, f"stopped after {result.epochs_run} epochs, before the 12-step floor"


def test_validation_cadence_follows_validate_every_steps():
    from bertvsgpt.config.schema import FinetuneConfig
    from bertvsgpt.tasks.trainer import validation_cadence

    assert validation_cadence(FinetuneConfig(), 1) == 1  # unset: every epoch
    assert validation_cadence(FinetuneConfig(validate_every_steps=25), 1) == 25  # a 1 % split: one step an epoch
    assert validation_cadence(FinetuneConfig(validate_every_steps=25), 6) == 4
    assert validation_cadence(FinetuneConfig(validate_every_steps=25), 251) == 1  # never less than every epoch
    assert validation_cadence(FinetuneConfig(validate_every_steps=5), 2) == 3  # halves round up (round() gives 2 here
    assert validation_cadence(FinetuneConfig(validate_every_steps=15), 2) == 8  # and 8 here)


def test_a_cadence_moves_the_validations_not_the_learning_rate_schedule():
    """Validating every k-th epoch raises the epoch limit and the step floor to the end of a validated epoch;
    the schedule keeps the protocol's length (the added epochs run at its end, at learning rate 0)."""
    from bertvsgpt.config.schema import FinetuneConfig
    from bertvsgpt.tasks.trainer import Schedule, schedule_for

    every_epoch = FinetuneConfig(max_epochs=1, min_steps=16)
    assert schedule_for(every_epoch, 2) == Schedule(every=1, max_epochs=8, min_steps=16, total_steps=16)
    assert schedule_for(FinetuneConfig(max_epochs=1, min_steps=15), 2).min_steps == 16  # the floor ends an epoch
    every_3rd = FinetuneConfig(max_epochs=1, min_steps=16, validate_every_steps=6)
    assert schedule_for(every_3rd, 2) == Schedule(every=3, max_epochs=9, min_steps=18, total_steps=16)
    assert schedule_for(FinetuneConfig(max_epochs=4, min_steps=0, validate_every_steps=6), 2).min_steps is None


def test_validating_every_k_epochs_validates_the_last_epoch_and_stops_by_validations(tmp_path):
    from lightning.pytorch.callbacks import Callback
    from torch.utils.data import TensorDataset, default_collate
    import torch

    from bertvsgpt.config.schema import FinetuneConfig
    from bertvsgpt.tasks.options import RunOptions
    from bertvsgpt.tasks.trainer import fit_and_predict

    data = TensorDataset(torch.randn(8, 2), torch.randn(8))
    validated: list[int] = []
    module = scripted_module(lambda epoch: float(epoch), lr=0.01)  # the dev score improves at every validation

    class Record(Callback):
        def on_validation_epoch_end(self, trainer, pl_module):
            validated.append(trainer.current_epoch)

    module.configure_callbacks = lambda: [Record()]
    # 2 steps an epoch, validate about every 6 steps = every 3rd epoch; the 10-step floor needs 5 epochs, raised to 6
    ft = FinetuneConfig(max_epochs=1, min_steps=10, patience=1, batch_size=4, grad_clip=0.0, validate_every_steps=6)
    result = fit_and_predict(module, data, data, data, default_collate, ft, seed=0, out_dir=tmp_path,
                             options=RunOptions(enable_progress_bar=False))
    assert result.max_epochs == 6 and validated == [2, 5]
    assert result.best_epoch == 5

    validated.clear()
    stuck = scripted_module(lambda epoch: 0.0, lr=0.01)  # never improves: patience 1 counts validations, not epochs
    stuck.configure_callbacks = lambda: [Record()]
    ft = FinetuneConfig(max_epochs=12, min_steps=0, patience=1, batch_size=4, grad_clip=0.0, validate_every_steps=6)
    result = fit_and_predict(stuck, data, data, data, default_collate, ft, seed=0, out_dir=tmp_path / "stuck",
                             options=RunOptions(enable_progress_bar=False))
    assert validated == [2, 5] and result.epochs_run == 6

    validated.clear()  # stopped by the step floor, not the epoch limit: that epoch is validated too
    floored = scripted_module(lambda epoch: 0.0, lr=0.01)
    floored.configure_callbacks = lambda: [Record()]
    floored.total_steps = None  # as a TaskModule has it: the trainer sets the protocol's schedule length
    ft = FinetuneConfig(max_epochs=1, min_steps=16, patience=1, batch_size=4, grad_clip=0.0, validate_every_steps=6)
    result = fit_and_predict(floored, data, data, data, default_collate, ft, seed=0, out_dir=tmp_path / "floored",
                             options=RunOptions(enable_progress_bar=False))
    assert validated == [2, 5, 8] and result.epochs_run == 9  # the 16-step floor, raised to 18, ends a validated epoch
    assert floored.total_steps == 16


def test_a_task_step_floor_replaces_the_global_one():
    from bertvsgpt.config.schema import FinetuneConfig, task_config
    from bertvsgpt.tasks.registry import with_task_floor

    ft = FinetuneConfig(min_steps=250)
    assert with_task_floor(ft, task_config(min_steps=1000)).min_steps == 1000
    assert with_task_floor(ft, task_config(min_steps=0)).min_steps == 0
    assert with_task_floor(ft, task_config()).min_steps == 250


def test_resume_after_the_resume_folder_moved_keeps_the_best_epoch(tmp_path, monkeypatch):
    """A killed run whose resume folder then moved (the workspace moved, or the DVC ``persist`` folder was
    pulled elsewhere) resumes with its best epoch so far. Lightning's checkpoint state holds absolute paths:
    finding another folder it drops the best score, so the first epoch after the resume would become "best"
    (here epoch 3 instead of epoch 1, scored before the kill), with a best-model path into the old folder."""
    import lightning as L
    import torch
    from torch.utils.data import TensorDataset
    from torch.utils.data.dataloader import default_collate

    from bertvsgpt.config.schema import FinetuneConfig
    from bertvsgpt.tasks.options import RunOptions
    from bertvsgpt.tasks.trainer import fit_and_predict

    # dev score by epoch (exact in float32): the best is epoch 1, before the kill at epoch 2
    scores = [0.5, 0.875, 0.625, 0.75]

    class Interrupt(Exception):
        pass

    class KillAtEpoch2(L.Callback):
        def on_train_epoch_start(self, trainer, module):
            if trainer.current_epoch == 2:
                raise Interrupt

    data = TensorDataset(torch.randn(8, 2, generator=torch.Generator().manual_seed(1)), torch.randn(8))
    ft = FinetuneConfig(max_epochs=len(scores), min_steps=0, patience=10, batch_size=4, grad_clip=0.0)

    def fit(name, resume_dir):
        options = RunOptions(enable_progress_bar=False, resume_dir=resume_dir, fingerprint="fp")
        module = scripted_module(scores.__getitem__, lr=0.1, seed=0)
        return fit_and_predict(module, data, data, data, default_collate, ft, seed=0, out_dir=tmp_path / name,
                               options=options)

    straight = fit("straight", tmp_path / "straight-resume")
    assert (straight.best_epoch, straight.best_dev_score) == (1, 0.875)

    trainer_cls = L.Trainer
    with monkeypatch.context() as mp:
        mp.setattr(L, "Trainer", lambda *a, **kw: trainer_cls(*a, **{**kw, "callbacks": [*kw["callbacks"], KillAtEpoch2()]}))
        with pytest.raises(Interrupt):
            fit("killed", tmp_path / "old" / "resume")
    assert (tmp_path / "old" / "resume" / "last.ckpt").is_file()
    shutil.move(tmp_path / "old", tmp_path / "new")

    resumed = fit("killed", tmp_path / "new" / "resume")
    assert resumed.epochs_run == straight.epochs_run == len(scores)
    assert (resumed.best_epoch, resumed.best_dev_score) == (1, 0.875)
    assert [p.name for p in (tmp_path / "killed" / "checkpoints").iterdir()] == ["best-epoch=1.safetensors"]
    assert torch.equal(torch.cat(resumed.batches), torch.cat(straight.batches))  # epoch 1's weights predicted
