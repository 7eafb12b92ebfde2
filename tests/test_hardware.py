"""Precision resolution: explicit values pass through; auto picks bf16 only where it is fast."""

from __future__ import annotations

from pathlib import Path

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


def _cpu_flags() -> set[str]:
    """The CPU feature flags the kernel reports, read independently of torch."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        pytest.skip("no /proc/cpuinfo to read the CPU flags from")
    return {f for line in text.splitlines() if line.startswith("flags") for f in line.split(":", 1)[1].split()}


def test_auto_on_this_machine_follows_its_hardware():
    """The real probe against what this machine is known to have, found without the probe.

    GPU: native bf16 from compute capability 8.0 (Ampere) on; CPU: the kernel's avx512_bf16 or amx_tile flag.
    """
    if torch.cuda.is_available():
        fast = torch.cuda.get_device_capability() >= (8, 0)
    else:
        fast = bool({"avx512_bf16", "amx_tile"} & _cpu_flags())
    assert hardware.fast_bf16_available() is fast
    assert resolve_precision("auto") == ("bf16-mixed" if fast else "32-true")


@pytest.mark.parametrize("gpu_bf16", [True, False])
def test_gpu_probe_asks_the_gpu_not_the_cpu(monkeypatch, gpu_bf16):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: gpu_bf16)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: not gpu_bf16, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: not gpu_bf16, raising=False)
    assert hardware.fast_bf16_available() is gpu_bf16
    assert resolve_precision("auto") == ("bf16-mixed" if gpu_bf16 else "32-true")


def test_cpu_probe_without_the_torch_flag_helpers_says_no(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.delattr(torch.cpu, "_is_avx512_bf16_supported", raising=False)
    monkeypatch.delattr(torch.cpu, "_is_amx_tile_supported", raising=False)
    assert hardware.fast_bf16_available() is False
    assert resolve_precision("auto") == "32-true"


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
