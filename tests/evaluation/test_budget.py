"""Budget checkpoints and their place on the compute axis."""

from __future__ import annotations

import pytest

from bertvsgpt.evaluation.budget import budget_checkpoints, compute_position


def test_budget_checkpoints_are_found_by_step(tmp_path):
    for name in ("step_0000120", "step_0000060", "step_0000090", "notes"):
        (tmp_path / "checkpoints" / name).mkdir(parents=True)
    for name in ("step_0000120", "step_0000060"):
        (tmp_path / "checkpoints" / name / "model.safetensors").write_bytes(b"x")
    found = budget_checkpoints(tmp_path)
    assert [s for s, _ in found] == [60, 120]  # step_90 has no weights: skipped
    assert found[0][1].name == "step_0000060"
    assert budget_checkpoints(tmp_path / "missing") == []


def test_compute_position_scales_tokens_and_flops():
    summary = {"steps": 200, "tokens_seen": 409600, "flops_per_token": 1.5e7}
    pos = compute_position(50, summary)
    assert pos == {"pretrain_step": 50, "pretrain_fraction": 0.25, "pretrain_tokens": 102400.0, "pretrain_flops": 102400 * 1.5e7}
    with pytest.raises(ValueError, match="outside"):
        compute_position(201, summary)
