"""Names and number formats shared by every part of the report, and Markdown table helpers.

Scores are fractions in ``[0, 1]`` except sacreBLEU's BLEU and chrF (0-100). Tables show both on a
0-100 scale: fractions as percentages, BLEU/chrF as they are; differences are in points of that scale.
Group and overall averages first bring every metric to ``[0, 1]`` (:func:`normalise`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from ..kinds import groups

MODEL_LABELS = {"bert": "BERT", "gpt": "GPT", "bert-scratch": "BERT-scratch", "gpt-scratch": "GPT-scratch"}
METRIC_LABELS = {
    "test_accuracy": "accuracy",
    "test_macro_f1": "macro-F1",
    "test_entity_f1": "entity F1",
    "test_entity_precision": "entity precision",
    "test_entity_recall": "entity recall",
    "test_tag_accuracy": "tag accuracy",
    "test_f1": "F1",
    "test_exact_match": "exact match",
    "test_bleu": "BLEU",
    "test_chrf": "chrF",
}
SCALE_100 = frozenset({"test_bleu", "test_chrf"})  # sacreBLEU reports 0-100; the rest are fractions

# Task kinds grouped as the comparison's seed article contrasts them (order = report order).
GROUPS: dict[str, tuple[str, ...]] = groups()
# The scratch twin of each pre-trained model.
TWINS = {"bert": "bert-scratch", "gpt": "gpt-scratch"}
# The classical baselines (src/bertvsgpt/baselines): the evaluation names each ``baseline:<name>``.
BASELINE_PREFIX = "baseline:"
BASELINE_LABELS = {
    "majority": "majority", "chance": "chance", "tfidf-lr": "TF-IDF + LR", "tfidf-sim": "TF-IDF similarity",
    "most-frequent-tag": "most frequent tag", "first-span": "first words", "sliding-window": "sliding window",
    "copy-source": "copy source", "nearest-pair": "nearest training pair",
}
PRETRAINED = ("bert", "gpt")  # the models tested against the baselines


def twinned(models: list[str]) -> list[str]:
    """The pre-trained models that ran together with their scratch twin (each gets a gain column)."""
    return [m for m in TWINS if m in models and TWINS[m] in models]


def model_label(model: str, published: Collection[str] = ()) -> str:
    """``BERT``, ``GPT-scratch``, ...; a published checkpoint (a name in ``published``) as ``<name> (published)``."""
    return published_label(model) if model in published else MODEL_LABELS.get(model, model)


# Published checkpoints (params.yaml ``published``, converted by the published stage; their records are the
# evaluate stage's data/evaluation/published.json): fine-tuned beside our models, compared with ours of their family.
PUBLISHED_SUFFIX = " (published)"
FAMILIES = ("bert", "gpt")  # a published checkpoint's family is the architecture it was converted into


def published_label(name: str) -> str:
    """A published checkpoint's label in every table and figure: its name, marked as published."""
    return f"{name}{PUBLISHED_SUFFIX}"


def published_families(published: Mapping[str, Mapping[str, Any]], models: Sequence[str] | None = None) -> dict[str, str]:
    """name -> its family (``bert`` or ``gpt``) for each published record (those in ``models`` when given) whose
    family is one of ours; in ``models`` order when given, else in the records' order."""
    names = [m for m in models if m in published] if models is not None else list(published)
    return {m: str(published[m].get("family")) for m in names if published[m].get("family") in FAMILIES}


def published_pairs(models: Sequence[str], published: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, str]]:
    """(published checkpoint, our pre-trained model of its family) for each published checkpoint in ``models``
    whose family's model (``bert`` or ``gpt``) ran too: a BERT-family checkpoint against ``bert``, a GPT-family
    one against ``gpt``. No scratch twin: a published checkpoint has none."""
    return [(m, family) for m, family in published_families(published, models).items() if family in models]


def baseline_label(name: str) -> str:
    return BASELINE_LABELS.get(name, name)


def baseline_key(name: str) -> str:
    """A baseline's name in ``metrics/report.json`` keys: ``tfidf-lr`` -> ``tfidf_lr``."""
    return name.replace("-", "_").replace(":", "_")


def metric_label(metric: str) -> str:
    return METRIC_LABELS.get(metric, metric.removeprefix("test_").replace("_", " "))


def group_of(kind: str) -> str:
    for group, kinds in GROUPS.items():
        if kind in kinds:
            return group
    return "other"


def normalise(value: float, metric: str) -> float:
    """The metric on ``[0, 1]``."""
    return value / 100.0 if metric in SCALE_100 else value


def points(value: float, metric: str) -> float:
    """The metric on the 0-100 scale of the tables."""
    return value if metric in SCALE_100 else 100.0 * value


def fmt_score(mean: float, std: float, n: int, metric: str) -> str:
    """``"80.0 ± 10.0"`` (0-100 scale, sample std over seeds); one seed: ``"80.0"``."""
    m, s = points(mean, metric), points(std, metric)
    return f"{m:.1f} ± {s:.1f}" if n > 1 else f"{m:.1f}"


def fmt_points(v: float, sign: bool = False) -> str:
    """Points to one decimal; a non-zero difference that would read 0.0 (e.g. +0.02 BLEU) keeps two. Rounding noise
    (two equal means computed in different orders differ by ~1e-14) is zero."""
    if abs(v) < 1e-9:
        v = 0.0
    digits = 2 if v != 0 and abs(v) < 0.05 else 1
    return f"{v:+.{digits}f}" if sign else f"{v:.{digits}f}"


def fmt_delta(delta: float, metric: str) -> str:
    return fmt_points(points(delta, metric), sign=True)


def fmt_p(p: float | None, n_resamples: int | None = None) -> str:
    """Three decimals; the smallest value a bootstrap of ``n_resamples`` can give is shown as ``≤ …``."""
    if p is None:
        return "—"
    if n_resamples and p <= 1.0 / (n_resamples + 1) + 1e-12:
        return f"≤ {1.0 / (n_resamples + 1):.3f}"
    return f"{p:.3f}"


def fmt_count(v: float) -> str:
    """``1.23 M``, ``45.6 k`` or ``512``."""
    if abs(v) >= 1e6:
        return f"{v / 1e6:.2f} M"
    if abs(v) >= 1e3:
        return f"{v / 1e3:.1f} k"
    return f"{v:,.0f}"


def fmt_seconds(v: float) -> str:
    if v >= 3600:
        return f"{v / 3600:.2f} h"
    return f"{v / 60:.1f} min" if v >= 60 else f"{v:.1f} s"


def md_cell(text: object) -> str:
    """A Markdown table cell: pipes escaped, newlines flattened."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def md_table(header: Sequence[str], rows: Sequence[Sequence[object]], align: Sequence[str] | None = None) -> str:
    """A pipe table; ``align`` per column: ``"l"`` (default) or ``"r"``."""
    align = list(align or ["l"] * len(header))
    sep = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(sep) + "|"]
    for row in rows:
        if len(row) != len(header):
            raise ValueError(f"table row has {len(row)} cells, the header {len(header)}")
        lines.append("| " + " | ".join(str(c) for c in row) + " |")
    return "\n".join(lines)


def shorten(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
