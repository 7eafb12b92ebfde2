"""Tiny task tables for the baseline tests: one frame per split, built by hand."""

from __future__ import annotations

import polars as pl


def frames_of(train: dict, dev: dict, test: dict) -> dict[str, pl.DataFrame]:
    """``{"train": ..., "dev": ..., "test": ...}`` with ``id`` (unique over the splits) and ``split`` columns added."""
    out, start = {}, 0
    for split, cols in (("train", train), ("dev", dev), ("test", test)):
        n = len(next(iter(cols.values())))
        out[split] = pl.DataFrame({"id": list(range(start, start + n)), "split": [split] * n, **cols})
        start += n
    return out
