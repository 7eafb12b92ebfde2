"""The records of the published checkpoints a run fine-tuned, for the report.

The ``published`` stage writes ``data/models/<name>/published.json`` next to a converted checkpoint
(:mod:`bertvsgpt.hf.imports`): its name and description, ``family`` (``bert`` or ``gpt``), ``model_type``,
``parameters``, ``non_embedding_parameters``, ``initialised`` (parts the checkpoint lacked),
``added_tokens``, and ``source`` (the fetch record: client, spec, sha256, licence, ...) or ``hub``.
The evaluate stage (which depends on ``data/models``) gathers the records of the fine-tuned models
that have one into ``data/evaluation/published.json`` (``{name: record}``), so that the report
(which does not depend on ``data/models``) can label their rows and list where they came from.
The file is written only when ``finetune.models`` lists a published checkpoint: a run of our own
models alone has the same ``data/evaluation`` as before published checkpoints existed.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

RECORD = "published.json"  # next to a converted checkpoint, and the evaluate stage's collection of them
# The scratch path the checkpoint was read from during conversion: says nothing once the stage has finished.
DROPPED_KEYS = ("checkpoint",)


def collect_published(models_dir: Path, models: Sequence[str], expected: Collection[str] = ()) -> dict[str, dict[str, Any]]:
    """``{name: record}`` for each of ``models`` whose ``models_dir/<name>/published.json`` exists, in ``models`` order.

    ``expected``: the published checkpoints the params configure; one of them in ``models`` without its
    record was not converted (its ``published`` stage has not run): :class:`FileNotFoundError`.
    """
    out: dict[str, dict[str, Any]] = {}
    for name in models:
        path = Path(models_dir) / name / RECORD
        if not path.is_file():
            if name in expected:
                raise FileNotFoundError(f"missing input: {path} (run the published stage: dvc repro published@{name})")
            continue
        record = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(record, dict):
            raise ValueError(f"{path}: expected a JSON object, got {type(record).__name__}")
        out[name] = {k: v for k, v in record.items() if k not in DROPPED_KEYS}
    return out
