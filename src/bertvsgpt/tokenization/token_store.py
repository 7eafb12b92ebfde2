"""The tokenized-once corpus on disk.

The corpus is tokenized a single time and stored as three flat numpy arrays
plus a small JSON header, all memory-mapped when read:

* ``ids.npy``          all token ids, concatenated (uint16 when the vocabulary
                       fits, else uint32);
* ``sent_offsets.npy`` int64, ``n_sentences + 1`` start offsets into ``ids``;
* ``doc_offsets.npy``  int64, ``n_docs + 1`` start offsets into the sentences;
* ``meta.json``        counts and dtype.

Sentences are kept because BERT's NSP instances are built from sentence
spans (Devlin et al., 2019, §3.1 / google-research/bert
``create_pretraining_data.py``); GPT simply reads whole documents.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from array import array
from pathlib import Path
from typing import Any, Iterable, Union

import numpy as np

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
_FLUSH_TOKENS = 1 << 20
_COPY_CHUNK = 1 << 24


def token_dtype(vocab_size: int) -> np.dtype:
    """Smallest unsigned dtype able to hold every id of the vocabulary."""
    if vocab_size <= 0:
        raise ValueError(f"vocab_size={vocab_size} must be positive")
    return np.dtype(np.uint16) if vocab_size <= 65535 else np.dtype(np.uint32)


def write_token_store(
    directory: Union[str, os.PathLike], docs: Iterable[list[list[int]]], vocab_size: int
) -> dict[str, Any]:
    """Stream ``docs`` (each a list of sentences, each a list of token ids) to disk.

    Empty sentences and documents without any non-empty sentence are dropped
    (in BERT's input format an empty line is only a document separator).
    The store is written to a temporary sibling directory and renamed into
    place, so ``directory`` either holds a complete store or nothing new.
    Memory use is bounded: ids are flushed to disk every ~1M tokens.

    Returns:
        the ``meta.json`` content (counts, dtype, vocab size).
    """
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    dtype = token_dtype(vocab_size)
    tmp = directory.parent / f".{directory.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        sent_offsets = array("q", [0])
        doc_offsets = array("q", [0])
        n_tokens = 0
        buffer: list[np.ndarray] = []
        buffered = 0
        raw_path = tmp / "ids.bin"
        with open(raw_path, "wb") as raw:

            def flush() -> None:
                nonlocal buffer, buffered
                if buffer:
                    np.concatenate(buffer).astype(dtype, copy=False).tofile(raw)
                buffer, buffered = [], 0

            for doc in docs:
                n_sent_in_doc = 0
                for sentence in doc:
                    arr = np.asarray(sentence, dtype=np.int64)
                    if arr.size == 0:
                        continue
                    if arr.ndim != 1:
                        raise ValueError(f"a sentence must be a flat list of ids, got shape {arr.shape}")
                    lo, hi = int(arr.min()), int(arr.max())
                    if lo < 0 or hi >= vocab_size:
                        raise ValueError(f"token id out of range [0, {vocab_size}): min={lo} max={hi}")
                    buffer.append(arr)
                    buffered += arr.size
                    n_tokens += arr.size
                    sent_offsets.append(n_tokens)
                    n_sent_in_doc += 1
                    if buffered >= _FLUSH_TOKENS:
                        flush()
                if n_sent_in_doc:
                    doc_offsets.append(len(sent_offsets) - 1)
            flush()

        # Convert the raw stream into a proper .npy file without loading it whole.
        if n_tokens:
            src = np.memmap(raw_path, dtype=dtype, mode="r", shape=(n_tokens,))
            dst = np.lib.format.open_memmap(tmp / "ids.npy", mode="w+", dtype=dtype, shape=(n_tokens,))
            for start in range(0, n_tokens, _COPY_CHUNK):
                dst[start : start + _COPY_CHUNK] = src[start : start + _COPY_CHUNK]
            dst.flush()
            del src, dst
        else:
            np.save(tmp / "ids.npy", np.zeros(0, dtype=dtype))
        raw_path.unlink()

        np.save(tmp / "sent_offsets.npy", np.frombuffer(sent_offsets, dtype=np.int64))
        np.save(tmp / "doc_offsets.npy", np.frombuffer(doc_offsets, dtype=np.int64))
        meta = {
            "format_version": FORMAT_VERSION,
            "vocab_size": vocab_size,
            "dtype": dtype.name,
            "n_docs": len(doc_offsets) - 1,
            "n_sentences": len(sent_offsets) - 1,
            "n_tokens": n_tokens,
        }
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")

        if directory.exists():
            old = directory.parent / f".{directory.name}.old-{os.getpid()}"
            os.rename(directory, old)
            os.rename(tmp, directory)
            shutil.rmtree(old)
        else:
            os.rename(tmp, directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    logger.info("wrote token store %s: %s", directory, meta)
    return meta


def _meta_count(key: str) -> property:
    """A read-only integer from the store's ``meta.json``."""
    return property(lambda self: int(self.meta[key]), doc=f"``meta.json``'s ``{key}``.")


class TokenStore:
    """Read-only, memory-mapped view of a store written by :func:`write_token_store`.

    Pickling (e.g. to DataLoader worker processes) only transfers the path;
    the arrays are re-opened lazily in the receiving process.
    """

    def __init__(self, directory: Union[str, os.PathLike]) -> None:
        self.directory = Path(directory)
        self.meta: dict = json.loads((self.directory / "meta.json").read_text())
        self._open()

    def _open(self) -> None:
        self.ids: np.ndarray = np.load(self.directory / "ids.npy", mmap_mode="r")
        self.sent_offsets: np.ndarray = np.load(self.directory / "sent_offsets.npy", mmap_mode="r")
        self.doc_offsets: np.ndarray = np.load(self.directory / "doc_offsets.npy", mmap_mode="r")

    def __getstate__(self) -> dict:
        return {"directory": self.directory, "meta": self.meta}

    def __setstate__(self, state: dict) -> None:
        self.directory = state["directory"]
        self.meta = state["meta"]
        self._open()

    n_docs = _meta_count("n_docs")
    n_sentences = _meta_count("n_sentences")
    n_tokens = _meta_count("n_tokens")
    vocab_size = _meta_count("vocab_size")

    def __len__(self) -> int:
        return self.n_docs

    def _check(self, i: int) -> None:
        if not 0 <= i < self.n_docs:
            raise IndexError(f"document index {i} out of range [0, {self.n_docs})")

    def doc_sentences(self, i: int) -> list[np.ndarray]:
        """The sentences of document ``i`` as (memory-mapped) id arrays."""
        self._check(i)
        s0, s1 = int(self.doc_offsets[i]), int(self.doc_offsets[i + 1])
        offs = self.sent_offsets[s0 : s1 + 1]
        return [self.ids[int(offs[j]) : int(offs[j + 1])] for j in range(s1 - s0)]

    def doc_token_span(self, i: int) -> tuple[int, int]:
        """``[start, end)`` of document ``i`` in the flat ``ids`` array."""
        self._check(i)
        return int(self.sent_offsets[self.doc_offsets[i]]), int(self.sent_offsets[self.doc_offsets[i + 1]])

    def doc_tokens(self, i: int) -> np.ndarray:
        """All tokens of document ``i`` (a contiguous slice of ``ids``)."""
        start, end = self.doc_token_span(i)
        return self.ids[start:end]

    def doc_token_offsets(self) -> np.ndarray:
        """int64 ``(n_docs + 1,)`` start offsets of every document in ``ids``."""
        return np.asarray(self.sent_offsets[np.asarray(self.doc_offsets)], dtype=np.int64)
