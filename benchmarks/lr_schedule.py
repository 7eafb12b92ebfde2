"""Pre-training learning-rate schedules the pipeline does not offer yet: warm-up / stable / decay (WSD).

The pipeline has one schedule (``bertvsgpt.optim.linear_warmup_decay``): linear warm-up over
``pretrain.warmup_fraction``, then linear decay to 0 at the end of the run. A short run therefore spends most of its
steps at a fraction of the peak rate: an 8 M-token run is at ~15 % of peak by the time a 16 M-token run with the
same recipe, at ~60 %, takes BERT off its masked-LM plateau (README "The masked-LM plateau"). WSD (Zhai et al. 2022,
Hu et al. 2024's MiniCPM, Hägele et al. 2024) holds the peak rate after warm-up and decays only over the last
``decay_fraction`` of the steps, which tests whether the plateau exit needs a high rate when it comes.

Used by ``benchmarks.budget_curve --lr-schedule wsd``; ``pretraining_schedule`` swaps the pipeline's schedule for the
duration of one pre-training run in one process (fine-tuning keeps the pipeline's). When a schedule proves itself it
belongs in ``src/bertvsgpt/optim.py`` behind a ``pretrain`` key; it lives here until then because every stage depends
on that file, so changing it means re-running the whole default pipeline.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager

SCHEDULES = ("linear", "wsd")
DECAY_SHAPES = ("linear", "sqrt")


def warmup_stable_decay(warmup_steps: int, total_steps: int, decay_fraction: float, shape: str = "linear") -> Callable[[int], float]:
    """LambdaLR factor: linear warm-up, 1.0 until the last ``decay_fraction`` of the steps, then down to 0.

    ``shape`` of the decay: ``linear``, or ``sqrt`` (1 - sqrt of the decay's progress, Hägele et al. 2024's best).
    """
    if not 0.0 < decay_fraction <= 1.0:
        raise ValueError(f"decay_fraction must be in (0, 1], got {decay_fraction}")
    if shape not in DECAY_SHAPES:
        raise ValueError(f"decay shape must be one of {DECAY_SHAPES}, got {shape!r}")
    total_steps = max(1, total_steps)
    warmup_steps = max(0, min(warmup_steps, total_steps))
    decay_steps = max(1, min(round(decay_fraction * total_steps), total_steps - warmup_steps))
    decay_start = total_steps - decay_steps

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / (warmup_steps + 1)
        if step < decay_start:
            return 1.0
        progress = min(1.0, (step - decay_start) / decay_steps)
        return max(0.0, 1.0 - progress if shape == "linear" else 1.0 - math.sqrt(progress))

    return factor


@contextmanager
def pretraining_schedule(name: str, decay_fraction: float = 0.2, shape: str = "linear") -> Iterator[None]:
    """Within the block, ``bertvsgpt.optim.adamw_with_schedule`` builds ``name``'s schedule instead of linear decay.

    ``linear`` leaves the pipeline's schedule alone. Not thread-safe: one pre-training run per process.
    """
    if name not in SCHEDULES:
        raise ValueError(f"--lr-schedule must be one of {SCHEDULES}, got {name!r}")
    import bertvsgpt.optim as optim

    if name == "linear":
        yield
        return
    original = optim.linear_warmup_decay
    optim.linear_warmup_decay = lambda warmup, total: warmup_stable_decay(warmup, total, decay_fraction, shape)
    try:
        yield
    finally:
        optim.linear_warmup_decay = original
