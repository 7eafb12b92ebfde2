"""Resumable work: a ``persist`` directory that survives ``dvc repro`` and is trusted only if its
fingerprint (a hash of everything that determines the result) matches the current run."""

from __future__ import annotations

import hashlib
import json
import logging
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .io import sha256_file

log = logging.getLogger(__name__)

STAMP = "fingerprint.txt"
LAST = "last.ckpt"
PACKAGE_ROOT = Path(__file__).resolve().parent


def source_fingerprint(*parts: str, root: Path = PACKAGE_ROOT) -> str:
    """A short hash of the library's own source code under ``parts`` (subpackages or modules of
    ``bertvsgpt``, e.g. ``"models"``, ``"optim.py"``): put in a fingerprint, it keeps a state that
    other code produced from being resumed (DVC re-runs the stage after a code change; without it
    the stage would pick up its finished checkpoint and silently return the old result)."""
    h = hashlib.sha256()
    for part in parts:
        path = Path(root) / part
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such module or package to fingerprint")
        for f in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            h.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def fingerprint_of(*parts: Any) -> str:
    """A short stable hash of JSON-able parts (dataclasses via ``__dict__``, paths via their bytes' hash)."""

    def default(o: Any) -> Any:
        if isinstance(o, Path):
            return sha256_file(o) if o.is_file() else str(o)
        return getattr(o, "__dict__", str(o))

    blob = json.dumps(parts, sort_keys=True, default=default)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def prepare_resume_dir(resume_dir: Path, fp: str) -> Path | None:
    """Return the checkpoint to resume from, or None after clearing a stale resume dir."""
    resume_dir = Path(resume_dir)
    resume_dir.mkdir(parents=True, exist_ok=True)
    stamp = resume_dir / STAMP
    last = resume_dir / LAST
    if stamp.exists() and stamp.read_text().strip() == fp and last.exists():
        log.info("resuming from %s", last)
        return last
    clear_resume_dir(resume_dir, fp)
    return None


def clear_resume_dir(resume_dir: Path, fp: str) -> None:
    """Empty ``resume_dir`` (but for its MLflow run record) and stamp it with ``fp``."""
    from .tracking.run import RUN_RECORD

    for child in Path(resume_dir).iterdir():
        if child.name == RUN_RECORD:
            continue
        shutil.rmtree(child) if child.is_dir() else child.unlink()
    (Path(resume_dir) / STAMP).write_text(fp + "\n")


def stamped(resume_dir: Path, fp: str) -> bool:
    stamp = Path(resume_dir) / STAMP
    return stamp.is_file() and stamp.read_text().strip() == fp


def rng_states() -> dict[str, Any]:
    """The torch, Python and NumPy global RNG states, as plain tensors, ints and lists
    (a checkpoint holding them still loads with ``weights_only=True``)."""
    _, py_state, py_gauss = random.getstate()
    _, np_keys, np_pos, _, _ = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "python": list(py_state),
        "python_gauss": py_gauss,
        "numpy": np_keys.tolist(),
        "numpy_pos": int(np_pos),
    }


def restore_rng_states(states: dict[str, Any]) -> None:
    """Undo :func:`rng_states`: a resumed run draws the same dropout masks and shuffles."""
    torch.set_rng_state(states["torch"])
    random.setstate((3, tuple(states["python"]), states["python_gauss"]))
    np.random.set_state(("MT19937", np.array(states["numpy"], dtype=np.uint32), states["numpy_pos"], 0, 0.0))
