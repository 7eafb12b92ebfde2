"""Deterministic, stratified train/dev/test splits of labelled examples.

1. Exact duplicate texts are removed first (the first occurrence is kept), so the same text can
   never be on two sides of a split; a sentence-pair task's examples are duplicates when both
   ``text`` and ``text_b`` are. Then near-duplicates (:mod:`bertvsgpt.data.near_duplicates`: equal
   but for case, punctuation and spacing, or sharing half their long sentences) of a single-text task
   are removed the same way; a grouped task keeps its examples and joins near-duplicate groups instead.
2. Each label's examples are ordered by SHA-256 of ``(seed, text)`` (independent of input order)
   and cut into test, dev and train by the given fractions (rounded per label; a label with at
   least 3 examples gets at least one dev and one test example; train always keeps at least one).
   Without a ``label`` column (entities, QA, translation) all examples form one stratum.
3. With a ``group`` column (e.g. the passage of a reading-comprehension question) whole groups
   are assigned: the groups are ordered by SHA-256 of ``(seed, group)`` and cut by the fractions
   of their examples, so no passage is on two sides of a split.
4. ``id`` is the example's position (0..n-1) in the de-duplicated input order.
"""

from __future__ import annotations

import hashlib
import logging

import polars as pl

from .near_duplicates import first_near_duplicate, merge_near_duplicate_groups

log = logging.getLogger(__name__)

SPLITS = ("train", "dev", "test")


def _score(seed: int, text: str) -> bytes:
    return hashlib.sha256(f"{seed}\x1f{text}".encode("utf-8")).digest()


def _sizes(n: int, dev_fraction: float, test_fraction: float) -> tuple[int, int]:
    n_test = int(round(n * test_fraction))
    n_dev = int(round(n * dev_fraction))
    if n >= 3:
        n_test, n_dev = max(1, n_test), max(1, n_dev)
    while n_test + n_dev >= n and (n_test or n_dev):  # keep at least one training example
        if n_dev >= n_test and n_dev:
            n_dev -= 1
        else:
            n_test -= 1
    return n_dev, n_test


def split_examples(
    df: pl.DataFrame, dev_fraction: float, test_fraction: float, seed: int, language: str = "en"
) -> pl.DataFrame:
    """``df`` (column ``text``, optional ``label`` and ``group``, any others kept) de-duplicated, with ``id`` and ``split``
    added; ``language`` (``data.language``) splits the texts into sentences for the near-duplicate test."""
    if "text" not in df.columns:
        raise ValueError(f"examples have no 'text' column (columns: {', '.join(df.columns)})")
    if not (0.0 <= dev_fraction < 1.0 and 0.0 <= test_fraction < 1.0 and dev_fraction + test_fraction < 1.0):
        raise ValueError(f"dev_fraction={dev_fraction} and test_fraction={test_fraction} leave no training data")
    if df.height == 0:
        raise ValueError("no examples to split")

    n_in = df.height
    key = [c for c in ("text", "text_b") if c in df.columns]
    deduped = df.unique(subset=key, keep="first", maintain_order=True)
    if deduped.height < n_in:
        conflicts = (
            df.group_by(key).agg(pl.col("label").n_unique().alias("n")).filter(pl.col("n") > 1).height
            if "label" in df.columns
            else 0
        )
        log.info(
            "removed %d duplicate text(s)%s", n_in - deduped.height,
            f" ({conflicts} with conflicting labels; the first label kept)" if conflicts else "",
        )
    if "group" not in deduped.columns and "text_b" not in deduped.columns:
        near = first_near_duplicate(deduped["text"].to_list(), language)
        keep = pl.Series([j is None for j in near])
        if not keep.all():
            log.info("removed %d near-duplicate text(s) (equal but for case, punctuation and spacing, or sharing two and half of "
                     "their long sentences)", int((~keep).sum()))
            deduped = deduped.filter(keep)
    deduped = deduped.with_row_index("id").with_columns(pl.col("id").cast(pl.Int64))

    texts = deduped["text"].to_list()
    if "group" in deduped.columns:
        groups = merge_near_duplicate_groups(texts, deduped["group"].to_list(), language)
        split = _group_split(groups, dev_fraction, test_fraction, seed)
        return _finish(deduped.with_columns(pl.Series("split", split, dtype=pl.Utf8)))
    labels = deduped["label"].to_list() if "label" in deduped.columns else [None] * len(texts)
    by_label: dict[object, list[int]] = {}
    for i, label in enumerate(labels):
        by_label.setdefault(label, []).append(i)
    split = ["train"] * len(texts)
    for label in sorted(by_label, key=lambda x: (x is None, str(x))):
        idx = sorted(by_label[label], key=lambda i: _score(seed, texts[i]))
        n_dev, n_test = _sizes(len(idx), dev_fraction, test_fraction)
        for i in idx[:n_test]:
            split[i] = "test"
        for i in idx[n_test:n_test + n_dev]:
            split[i] = "dev"
    return _finish(deduped.with_columns(pl.Series("split", split, dtype=pl.Utf8)))


def _group_split(groups: list, dev_fraction: float, test_fraction: float, seed: int) -> list[str]:
    sizes: dict = {}
    for g in groups:
        sizes[g] = sizes.get(g, 0) + 1
    order = sorted(sizes, key=lambda g: _score(seed, str(g)))
    n_dev, n_test = _sizes(len(groups), dev_fraction, test_fraction)
    assigned: dict = {}
    filled = {"test": 0, "dev": 0}
    for g in order:
        if filled["test"] < n_test:
            name = "test"
        elif filled["dev"] < n_dev:
            name = "dev"
        else:
            name = "train"
        assigned[g] = name
        if name != "train":
            filled[name] += sizes[g]
    return [assigned[g] for g in groups]


def _finish(out: pl.DataFrame) -> pl.DataFrame:
    first = [c for c in ("id", "text", "label", "split") if c in out.columns]
    return out.select(first + [c for c in out.columns if c not in first])
