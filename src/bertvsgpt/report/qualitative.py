"""Qualitative evidence: the fixed prompts through both pre-trained models, and test errors per task.

Errors come from the first seed's ``predictions.parquet`` of BERT and GPT. For each model a few of
its wrong test examples are drawn at random (seeded), and each row shows both models' outputs on
that example, so the reader sees whether the other model got it right. What counts as wrong:
classification and multiple choice ``correct`` is false; NER: the predicted tags differ from the
gold tags somewhere; QA: not an exact match; translation: the hypothesis differs from the reference.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import polars as pl

from .labels import md_cell, md_table, model_label, shorten


def samples_section(samples: dict[str, list[dict[str, Any]]]) -> str:
    """BERT's top predictions for each blank next to GPT's greedy continuation of the text before it."""
    bert, gpt = samples.get("bert", []), samples.get("gpt", [])
    if not bert and not gpt:
        return "_No prompts configured (`evaluate.prompts`)._"
    rows = []
    for i in range(max(len(bert), len(gpt))):
        b = bert[i] if i < len(bert) else None
        g = gpt[i] if i < len(gpt) else None
        prompt = (b or {}).get("prompt") or (g or {}).get("prompt", "")
        fills = ", ".join(f"{tok} ({p:.2f})" for tok, p in b["predictions"]) if b else "—"
        cont = f"{g['prompt']} **{g['continuation'].strip()}**" if g else "—"
        rows.append([md_cell(prompt), md_cell(fills), md_cell(cont)])
    return md_table(["prompt", "BERT fills ___ (top 5)", "GPT continues"], rows)


def _entities(tokens: list[str], tags: list[str]) -> str:
    """``"Empire State Building/LOC; ESB/ORG"`` from BIO tags (a stray I- starts an entity)."""
    out, cur, typ = [], [], None
    for tok, tag in zip(tokens, tags):
        if tag.startswith("B-") or (tag.startswith("I-") and tag[2:] != typ):
            if cur:
                out.append(f"{' '.join(cur)}/{typ}")
            cur, typ = [tok], tag[2:]
        elif tag.startswith("I-"):
            cur.append(tok)
        else:
            if cur:
                out.append(f"{' '.join(cur)}/{typ}")
            cur, typ = [], None
    if cur:
        out.append(f"{' '.join(cur)}/{typ}")
    return "; ".join(out) or "(none)"


def _flag(column: str) -> Callable[[pl.DataFrame], np.ndarray]:
    """Wrong where the boolean ``column`` (``correct``, ``exact_match``) is false or missing."""
    return lambda frame: ~frame.get_column(column).fill_null(False).to_numpy().astype(bool)


def _qa_wrong(frame: pl.DataFrame) -> np.ndarray:
    return frame.get_column("exact_match").fill_null(0.0).to_numpy().astype(float) < 1.0


def _translation_wrong(frame: pl.DataFrame) -> np.ndarray:
    return np.array([h != r for h, r in zip(frame.get_column("hypothesis"), frame.get_column("reference"))])


def _label_view(row: dict[str, Any]) -> tuple[str, str, str]:
    return shorten(row.get("text", "")), shorten(str(row.get("label"))), shorten(str(row.get("pred")))


def _pair_view(row: dict[str, Any]) -> tuple[str, str, str]:
    text = f"{shorten(row.get('text', ''))} / {shorten(row.get('text_b', ''))}"
    return text, shorten(str(row.get("label"))), shorten(str(row.get("pred")))


def _choice_view(row: dict[str, Any]) -> tuple[str, str, str]:
    choices = row.get("choices") or []

    def opt(i: Any) -> str:
        return f"{i}: {choices[i]}" if isinstance(i, int) and 0 <= i < len(choices) else str(i)

    return shorten(row.get("text", "")), opt(row.get("label")), opt(row.get("pred"))


def _tags_view(row: dict[str, Any]) -> tuple[str, str, str]:
    tokens = list(row.get("tokens") or [])
    return shorten(" ".join(tokens)), _entities(tokens, list(row.get("tags") or [])), _entities(tokens, list(row.get("pred") or []))


def _qa_view(row: dict[str, Any]) -> tuple[str, str, str]:
    return shorten(row.get("question", "")), shorten(row.get("answer", "")), shorten(row.get("pred", "") or "") or "(empty)"


def _translation_view(row: dict[str, Any]) -> tuple[str, str, str]:
    return shorten(row.get("source", "")), shorten(row.get("reference", "")), shorten(row.get("hypothesis", "")) or "(empty)"


# Per kind: which test predictions are errors (from the columns that decide it), and the
# (input, gold, prediction) view of one row. A test asserts every kind of bertvsgpt.kinds has both.
ERRORS: dict[str, tuple[tuple[str, ...], Callable[[pl.DataFrame], np.ndarray], Callable[[dict[str, Any]], tuple[str, str, str]]]] = {
    "classification": (("correct",), _flag("correct"), _label_view),
    "pair_classification": (("correct",), _flag("correct"), _pair_view),
    "multiple_choice": (("correct",), _flag("correct"), _choice_view),
    "token_classification": (("exact_match",), _flag("exact_match"), _tags_view),
    "extractive_qa": (("exact_match",), _qa_wrong, _qa_view),
    "translation": (("hypothesis", "reference"), _translation_wrong, _translation_view),
}


def _wrong(kind: str, frame: pl.DataFrame) -> np.ndarray:
    columns, wrong, _ = ERRORS.get(kind, ((), None, None))
    if wrong is None or not set(columns) <= set(frame.columns):
        raise ValueError(f"no error definition for task kind '{kind}' with columns {frame.columns}")
    return wrong(frame)


def _view(kind: str, row: dict[str, Any]) -> tuple[str, str, str]:
    """(input, gold, prediction) of one prediction row."""
    return ERRORS[kind][2](row) if kind in ERRORS else (shorten(str(row)), "", "")


def error_examples(
    kind: str, frames: dict[str, pl.DataFrame], k: int, seed: int, models: tuple[str, ...] = ("bert", "gpt")
) -> list[dict[str, str]]:
    """Up to ``k`` wrong test examples per model, each with every model's output on it."""
    present = [m for m in models if m in frames]
    if not present or k <= 0:
        return []
    rng = np.random.default_rng(seed)
    rows, seen = [], set()
    for m in present:
        wrong = np.flatnonzero(_wrong(kind, frames[m]))
        chosen = sorted(rng.choice(wrong, size=min(k, wrong.size), replace=False).tolist()) if wrong.size else []
        for i in chosen:
            if i in seen:
                continue
            seen.add(i)
            views = {mm: _view(kind, frames[mm].row(i, named=True)) for mm in present}
            text, gold, _ = views[m]
            rec = {"wrong": model_label(m), "input": text, "gold": gold}
            rec.update({model_label(mm): views[mm][2] for mm in present})
            rows.append(rec)
    return rows


def errors_table(rows: list[dict[str, str]]) -> str:
    if not rows:
        return "_No errors to show._"
    header = list(rows[0])
    names = {"wrong": "wrong by", "input": "input", "gold": "gold"}
    return md_table([names.get(h, h) for h in header], [[md_cell(r[h]) for h in header] for r in rows])
