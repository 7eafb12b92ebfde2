"""``allocator.keep_freed_memory``: a training loop's freed blocks are reused, not page-faulted in again."""

from __future__ import annotations

import subprocess
import sys

import pytest

REUSE_FAULTS = """
import resource, sys, torch
from bertvsgpt.allocator import keep_freed_memory
applied = keep_freed_memory() if sys.argv[1] == "keep" else False
faults = []
for step in range(8):  # a training loop's temporaries: blocks of the same sizes allocated and freed every step
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    x = torch.empty(64 << 20, dtype=torch.uint8).fill_(1)
    y = torch.empty(16 << 20, dtype=torch.uint8).fill_(1)
    del x, y
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(applied, max(faults[-2:]))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_keep_freed_memory_lets_later_steps_reuse_blocks_without_page_faults():
    def run(mode: str) -> tuple[str, int]:
        out = subprocess.run(
            [sys.executable, "-c", REUSE_FAULTS, mode], capture_output=True, text=True, check=True
        ).stdout.split()
        return out[0], int(out[1])

    applied, faults = run("keep")
    default_applied, default_faults = run("default")
    assert (applied, default_applied) == ("True", "False")
    assert default_faults > 10_000  # 80 MB of 4 KB pages faulted in again every step: glibc unmapped them
    assert faults < 1_000  # steady state: the heap's freed blocks are reused
