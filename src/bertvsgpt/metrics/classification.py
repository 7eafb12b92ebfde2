"""Classification metrics (torchmetrics functional API).

Accuracy is the plain fraction of correct predictions (micro average). Macro-F1 is the mean
of per-class F1 over the classes that occur in the targets or the predictions (a class absent
from both is left out, as scikit-learn does).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def _as_long_tensor(x: Sequence[int] | torch.Tensor, name: str) -> torch.Tensor:
    t = torch.as_tensor(x)
    if t.dim() != 1:
        raise ValueError(f"{name} must be 1-D, got shape {tuple(t.shape)}")
    if t.is_floating_point():
        raise TypeError(f"{name} must hold integer class ids, got {t.dtype}")
    return t.long()


def classification_metrics(
    preds: Sequence[int] | torch.Tensor, targets: Sequence[int] | torch.Tensor, n_labels: int
) -> dict[str, float]:
    """``{"accuracy": ..., "macro_f1": ...}`` for predicted vs. gold class ids in ``[0, n_labels)``."""
    p = _as_long_tensor(preds, "preds")
    t = _as_long_tensor(targets, "targets")
    if p.shape != t.shape:
        raise ValueError(f"preds and targets differ in length ({p.numel()} vs {t.numel()})")
    if p.numel() == 0:
        raise ValueError("no predictions to score")
    if n_labels < 2:
        raise ValueError(f"n_labels={n_labels} must be >= 2")
    for name, x in (("preds", p), ("targets", t)):
        if int(x.min()) < 0 or int(x.max()) >= n_labels:
            raise ValueError(f"{name} has class ids outside [0, {n_labels})")
    # on first use: any torchmetrics import runs its __init__, which loads scipy.signal, matplotlib and
    # transformers (several seconds) -- a stage that never scores classes should not pay for it
    from torchmetrics.functional.classification import multiclass_accuracy, multiclass_f1_score

    acc = multiclass_accuracy(p, t, num_classes=n_labels, average="micro")
    f1 = multiclass_f1_score(p, t, num_classes=n_labels, average="macro")
    return {"accuracy": float(acc), "macro_f1": float(f1)}
