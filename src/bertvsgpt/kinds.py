"""The task kinds, registered once: what a kind's prepared table holds and where the report groups it.

Cheap to import (no torch, no polars): the schema validates ``tasks.<name>.type`` against it, the
prepare stage checks a source's columns with it, the baselines check their tables with it and the
report groups tasks by it. A kind's fine-tuning (``bertvsgpt.tasks.<kind>``) is registered in
:func:`bertvsgpt.tasks.registry.kinds`. Adding a kind: one line here, its file in ``tasks/``, its line
in that registry and in ``baselines/run.py``, a reader for its source format (README "Adding a task").
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KindSpec:
    """A task kind's data contract.

    ``columns``: what the source must give besides ``text`` (prepare checks it); ``table``: the
    prepared table's columns that fine-tuning and the baselines read; ``group``: the report's group;
    ``in_domain``: the columns whose training-split text may join the pre-training corpus
    (``data.in_domain``; extractive QA adds its passages instead).
    """

    name: str
    columns: tuple[str, ...]
    table: tuple[str, ...]
    group: str
    in_domain: tuple[str, ...] = ("text",)


SPECS: dict[str, KindSpec] = {
    s.name: s
    for s in (
        KindSpec("classification", ("label",), ("id", "split", "text", "label"), "classification"),
        KindSpec("token_classification", ("tokens", "tags"), ("id", "split", "tokens", "tags"), "token-level"),
        KindSpec(
            "extractive_qa", ("context", "question", "answer", "answer_start"),
            ("id", "split", "context", "question", "answer", "answer_start"), "span/choice",
        ),
        KindSpec("multiple_choice", ("choices", "label"), ("id", "split", "text", "choices", "label"), "span/choice"),
        KindSpec("translation", ("target",), ("id", "split", "text", "target"), "generation", ("text", "target")),
        KindSpec("pair_classification", ("text_b", "label"), ("id", "split", "text", "text_b", "label"), "classification", ("text", "text_b")),
    )
}
TASK_TYPES: tuple[str, ...] = tuple(SPECS)
# Report order of the groups (the comparison's seed article contrasts them so).
GROUP_ORDER = ("classification", "token-level", "span/choice", "generation")


def spec(kind: str) -> KindSpec:
    if kind not in SPECS:
        raise ValueError(f"unknown task type '{kind}' (known: {', '.join(SPECS)})")
    return SPECS[kind]


def groups() -> dict[str, tuple[str, ...]]:
    """``group -> kinds`` in report order (a group no kind uses is left out)."""
    return {g: tuple(k for k, s in SPECS.items() if s.group == g) for g in GROUP_ORDER if any(s.group == g for s in SPECS.values())}
