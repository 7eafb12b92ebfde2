"""Label checks of the prepared task tables, run by ``prepare`` so bad labels fail before any training.

Each problem raises one line naming the task, the row id (the ``id`` column of
``data/prepared/tasks/<task>.parquet``) and what is wrong. Per task kind:

* every kind: ``text`` (and a pair's ``text_b``) is non-empty;
* ``classification``, ``pair_classification``: ``label`` is present and non-empty;
* ``multiple_choice``: ``label`` is an option index in ``[0, number of choices)``, no choice is empty;
* ``token_classification``: as many tags as tokens, no empty token, every tag ``O``, ``B-X`` or ``I-X``,
  and an ``I-X`` only right after ``B-X`` or ``I-X`` of the same type (IOB2);
* ``extractive_qa``: a non-empty answer that is the passage's text at ``answer_start``
  (``context[answer_start:answer_start + len(answer)] == answer``, as the QA reader represents answers);
* ``translation``: ``target`` is non-empty.
"""

from __future__ import annotations

from typing import Any, Callable

import polars as pl

from .task_readers import BIO_TAG


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _bio_problem(tokens: list | None, tags: list | None) -> str | None:
    if not tokens:
        return "has no tokens"
    if tags is None or len(tags) != len(tokens):
        return f"has {len(tokens)} tokens but {0 if tags is None else len(tags)} tags"
    if any(_blank(t) for t in tokens):
        return "has an empty token"
    prev = "O"
    for i, tag in enumerate(tags):
        if tag is None or not BIO_TAG.match(tag):
            return f"tag {tag!r} (token {i}) is not O, B-X or I-X"
        if tag.startswith("I-") and prev[2:] != tag[2:]:
            return f"tag {tag!r} (token {i}) follows {prev!r}: an I-X tag must follow B-X or I-X of the same type"
        prev = tag
    return None


def _label_problem(row: dict) -> str | None:
    return "missing or empty label" if _blank(row.get("label")) else None


def _choice_problem(row: dict) -> str | None:
    choices, label = row.get("choices") or [], row.get("label")
    if any(_blank(c) for c in choices):
        return "an empty choice"
    if label is None or isinstance(label, bool) or not isinstance(label, int) or not 0 <= label < len(choices):
        return f"label {label!r} is not an option index in [0, {len(choices)})"
    return None


def _answer_problem(row: dict) -> str | None:
    context, answer, start = row.get("context") or "", row.get("answer"), row.get("answer_start")
    if _blank(answer):
        return "empty answer"
    if start is None or isinstance(start, bool) or not isinstance(start, int) or start < 0 or start + len(answer) > len(context):
        return f"answer_start {start!r} with a {len(answer)}-character answer is outside the {len(context)}-character passage"
    if context[start : start + len(answer)] != answer:
        return f"answer {answer[:40]!r} is not the passage's text at character {start}"
    return None


# Each kind's row check (a test asserts every kind of bertvsgpt.kinds has one).
ROW_CHECKS: dict[str, Callable[[dict], str | None]] = {
    "classification": _label_problem,
    "pair_classification": _label_problem,
    "multiple_choice": _choice_problem,
    "token_classification": lambda row: _bio_problem(row.get("tokens"), row.get("tags")),
    "extractive_qa": _answer_problem,
    "translation": lambda row: "empty target" if _blank(row.get("target")) else None,
}


def _row_problem(kind: str, row: dict) -> str | None:
    if "text" in row and _blank(row["text"]):
        return "empty text"
    if "text_b" in row and _blank(row["text_b"]):
        return "empty text_b"
    if kind not in ROW_CHECKS:
        raise ValueError(f"no label check for task kind '{kind}' (add one to ROW_CHECKS)")
    return ROW_CHECKS[kind](row)


def check_task_labels(name: str, kind: str, table: pl.DataFrame) -> None:
    """Raise ``ValueError('tasks.<name>: row <id>: <problem>')`` for the first bad row of ``table``."""
    columns = [c for c in ("id", "text", "text_b", "label", "choices", "tokens", "tags", "context", "answer", "answer_start", "target")
               if c in table.columns]
    for i, row in enumerate(table.select(columns).iter_rows(named=True)):
        problem = _row_problem(kind, row)
        if problem:
            raise ValueError(f"tasks.{name}: row {row.get('id', i)}: {problem} ({kind} task)")
