"""Precision resolution: explicit values pass through; auto picks bf16 only where it is fast."""

from __future__ import annotations

import pytest
import torch

from bertvsgpt import hardware
from bertvsgpt.hardware import autocast_dtype, resolve_precision


@pytest.mark.parametrize("precision", ["32-true", "bf16-mixed", "16-mixed"])
@pytest.mark.parametrize("fast", [True, False])
def test_explicit_precision_passes_through(monkeypatch, precision, fast):
    monkeypatch.setattr(hardware, "fast_bf16_available", lambda: fast)
    assert resolve_precision(precision) == precision


def test_auto_gives_bf16_mixed_when_fast_bf16_available(monkeypatch):
    monkeypatch.setattr(hardware, "fast_bf16_available", lambda: True)
    assert resolve_precision("auto") == "bf16-mixed"


def test_auto_gives_32_true_without_fast_bf16(monkeypatch):
    monkeypatch.setattr(hardware, "fast_bf16_available", lambda: False)
    assert resolve_precision("auto") == "32-true"


def test_auto_matches_the_real_probe():
    expected = "bf16-mixed" if hardware.fast_bf16_available() else "32-true"
    assert resolve_precision("auto") == expected
    assert isinstance(hardware.fast_bf16_available(), bool)


def test_cpu_probe_uses_the_bf16_and_amx_flags(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for avx512_bf16, amx, expected in [(False, False, False), (True, False, True), (False, True, True)]:
        monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda v=avx512_bf16: v, raising=False)
        monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda v=amx: v, raising=False)
        assert hardware.fast_bf16_available() is expected


@pytest.mark.parametrize(
    "precision,dtype",
    [("bf16-mixed", torch.bfloat16), ("16-mixed", torch.float16), ("32-true", torch.float32)],
)
def test_autocast_dtype(precision, dtype):
    assert autocast_dtype(precision) is dtype
