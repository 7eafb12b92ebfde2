"""Score vs pre-training compute: the intermediate pre-training checkpoints and where they sit.

The pre-training stage exports weights at fractions of the token budget into
``data/models/<arch>/checkpoints/step_<n>/``. Each is fine-tuned like the final model; its
results land in ``data/finetune_budget/<arch>/step_<n>/seed_<s>/metrics.json`` with the
checkpoint's place on the compute axis added (``pretrain_step``, ``pretrain_fraction``,
``pretrain_tokens``, ``pretrain_flops``). The final model (fraction 1) and the scratch twin
(fraction 0) are the main fine-tuning runs of the same task.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

STEP_DIR = re.compile(r"^step_(\d+)$")


def budget_checkpoints(model_dir: Path) -> list[tuple[int, Path]]:
    """``[(step, directory)]`` of the intermediate checkpoints, by step."""
    root = Path(model_dir) / "checkpoints"
    found = []
    if root.is_dir():
        for d in root.iterdir():
            m = STEP_DIR.match(d.name)
            if m and (d / "model.safetensors").is_file():
                found.append((int(m.group(1)), d))
    return sorted(found)


def compute_position(step: int, summary: dict[str, Any]) -> dict[str, float]:
    """Where a checkpoint at ``step`` sits, from the pre-training summary (steps, tokens, FLOPs/token)."""
    steps = int(summary["steps"])
    if not 0 <= step <= steps or steps <= 0:
        raise ValueError(f"checkpoint step {step} is outside the run's 0..{steps} steps")
    tokens = summary["tokens_seen"] * step / steps
    return {
        "pretrain_step": step,
        "pretrain_fraction": step / steps,
        "pretrain_tokens": tokens,
        "pretrain_flops": tokens * summary["flops_per_token"],
    }


def read_summary(model_dir: Path) -> dict[str, Any]:
    return json.loads((Path(model_dir) / "summary.json").read_text())
