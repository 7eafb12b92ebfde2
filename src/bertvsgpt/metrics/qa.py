"""Extractive question answering metrics: SQuAD exact match and token F1 (torchmetrics).

Rajpurkar et al. (2016), as in the official SQuAD v1.1 script: both strings are lower-cased and
stripped of punctuation, articles (a, an, the) and extra whitespace; exact match is 1 when the
normalised strings are equal, F1 is the harmonic mean of precision and recall over the shared
(bag of) normalised tokens. Scores are returned as fractions in ``[0, 1]`` (torchmetrics gives
percentages), like every other metric of this project. Each example has one gold answer.
"""

from __future__ import annotations

from collections.abc import Sequence


def _squad_inputs(preds: Sequence[str], golds: Sequence[str]) -> tuple[list[dict], list[dict]]:
    if len(preds) != len(golds):
        raise ValueError(f"preds and golds differ in length ({len(preds)} vs {len(golds)})")
    if len(preds) == 0:
        raise ValueError("no predictions to score")
    for name, xs in (("preds", preds), ("golds", golds)):
        if not all(isinstance(x, str) for x in xs):
            raise TypeError(f"{name} must be strings")
    p = [{"prediction_text": x, "id": str(i)} for i, x in enumerate(preds)]
    t = [{"answers": {"answer_start": [0], "text": [g]}, "id": str(i)} for i, g in enumerate(golds)]
    return p, t


def squad_scores(preds: Sequence[str], golds: Sequence[str]) -> dict[str, float]:
    """``{"exact_match": ..., "f1": ...}`` averaged over examples, each in ``[0, 1]``."""
    from torchmetrics.functional.text import squad  # on first use (see metrics/classification.py)

    p, t = _squad_inputs(preds, golds)
    out = squad(p, t)
    return {"exact_match": float(out["exact_match"]) / 100.0, "f1": float(out["f1"]) / 100.0}


def squad_example_scores(preds: Sequence[str], golds: Sequence[str]) -> tuple[list[float], list[float]]:
    """Per-example ``(exact_match, f1)`` lists in ``[0, 1]``; their means are :func:`squad_scores`."""
    from torchmetrics.functional.text import squad

    p, t = _squad_inputs(preds, golds)
    em: list[float] = []
    f1: list[float] = []
    for pi, ti in zip(p, t):
        out = squad(pi, ti)
        em.append(float(out["exact_match"]) / 100.0)
        f1.append(float(out["f1"]) / 100.0)
    return em, f1
