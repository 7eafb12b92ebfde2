"""The rank every stage asks before writing: the same answer as Lightning's, without importing it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bertvsgpt.distributed import RANK_VARIABLES, global_rank, is_global_zero


@pytest.mark.parametrize("env", [{}, {"RANK": "1"}, {"LOCAL_RANK": "1"}, {"SLURM_PROCID": "3"},
                                 {"JSM_NAMESPACE_RANK": "2"}, {"RANK": "0", "LOCAL_RANK": "1"}])
def test_global_rank_agrees_with_lightning(monkeypatch, env):
    from lightning.fabric.utilities.rank_zero import _get_rank

    for name in RANK_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert global_rank() == (_get_rank() or 0)
    assert is_global_zero() == (global_rank() == 0)


def test_writing_an_output_imports_neither_torch_nor_lightning():
    """fetch, prepare and report write through bertvsgpt.io: the rank check must not cost them ~7 s of imports."""
    code = ("import sys, tempfile, pathlib; from bertvsgpt.io import write_json; "
            "write_json(pathlib.Path(tempfile.mkdtemp()) / 'x.json', {}); "
            "print(sorted(m for m in ('torch', 'lightning') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
