"""benchmarks/lr_schedule.py: the warm-up/stable/decay factor, and swapping it into the pipeline's optimiser for one block."""

from __future__ import annotations

import sys

import pytest
from torch import nn

import bertvsgpt.optim as optim
from benchmarks.lr_schedule import pretraining_schedule, warmup_stable_decay


def _lrs(config: dict, steps: int) -> list[float]:
    """The learning rate each of ``steps`` optimizer steps runs at, under ``configure_optimizers``'s return."""
    opt, sched = config["optimizer"], config["lr_scheduler"]["scheduler"]
    lrs = []
    for _ in range(steps):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return lrs


def test_wsd_warms_up_holds_the_peak_then_decays_over_the_last_fraction_to_zero():
    f = warmup_stable_decay(warmup_steps=10, total_steps=100, decay_fraction=0.2)
    assert [f(i) for i in range(10)] == pytest.approx([(i + 1) / 11 for i in range(10)])
    assert all(f(i) == 1.0 for i in range(10, 81))  # stable up to the decay's first step (80, factor 1 - 0/20)
    assert [f(i) for i in (85, 90, 99, 100)] == pytest.approx([0.75, 0.5, 0.05, 0.0])
    sqrt = warmup_stable_decay(10, 100, 0.2, shape="sqrt")
    assert sqrt(85) == pytest.approx(0.5) and sqrt(90) == pytest.approx(1 - 0.5 ** 0.5)
    assert sqrt(85) < f(85)  # 1-sqrt leaves the peak faster than linear


def test_wsd_decay_never_eats_into_the_warm_up():
    f = warmup_stable_decay(warmup_steps=50, total_steps=60, decay_fraction=0.5)
    assert f(49) == pytest.approx(50 / 51) and f(50) == 1.0 and f(55) == pytest.approx(0.5)


@pytest.mark.parametrize("fraction, shape, message", [(0.0, "linear", "decay_fraction"), (1.5, "linear", "decay_fraction"),
                                                      (0.2, "cosine", "decay shape")])
def test_wsd_refuses_bad_arguments(fraction, shape, message):
    with pytest.raises(ValueError, match=message):
        warmup_stable_decay(5, 100, fraction, shape)


def test_the_schedule_is_swapped_for_the_block_only_and_restored_after_an_error():
    model = nn.Linear(4, 4)
    inside_lrs = None
    with pytest.raises(RuntimeError):
        with pretraining_schedule("wsd", decay_fraction=0.2):
            inside_lrs = _lrs(optim.adamw_with_schedule(model, 1.0, 0.0, warmup_steps=10, total_steps=100), 100)
            raise RuntimeError("the run died")
    after_lrs = _lrs(optim.adamw_with_schedule(model, 1.0, 0.0, warmup_steps=10, total_steps=100), 100)
    assert inside_lrs[50] == 1.0 and inside_lrs[79] == 1.0 and inside_lrs[90] == pytest.approx(0.5)
    assert after_lrs[50] == pytest.approx(50 / 90) and after_lrs[90] == pytest.approx(10 / 90)  # the pipeline's linear decay
    with pretraining_schedule("linear"):
        assert _lrs(optim.adamw_with_schedule(model, 1.0, 0.0, 10, 100), 100) == pytest.approx(after_lrs)


def test_unknown_schedule_is_refused():
    with pytest.raises(ValueError, match="--lr-schedule"):
        with pretraining_schedule("cosine"):
            pass


def test_budget_curve_refuses_a_bad_decay_fraction_in_one_line(monkeypatch, capsys, tmp_path):
    from benchmarks import budget_curve

    monkeypatch.setattr(sys, "argv", ["budget_curve", "--lr-schedule", "wsd", "--decay-fraction", "0", "--out", str(tmp_path / "x")])
    with pytest.raises(SystemExit) as e:
        budget_curve.main()
    assert e.value.code == 2
    assert "decay_fraction must be in (0, 1], got 0.0" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()

