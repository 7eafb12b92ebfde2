"""Tests of the on-disk, memory-mapped token store."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from bertvsgpt.tokenization.token_store import TokenStore, token_dtype, write_token_store

DOCS = [
    [[1, 2, 3], [4, 5]],
    [[6], [], [7, 8, 9, 10]],  # empty sentence dropped
    [],  # empty document dropped
    [[], []],  # document with only empty sentences dropped
    [[11, 12]],
]


def test_roundtrip(tmp_path):
    write_token_store(tmp_path / "store", iter(DOCS), vocab_size=100)
    store = TokenStore(tmp_path / "store")
    assert store.n_docs == len(store) == 3
    assert store.n_sentences == 5
    assert store.n_tokens == 12
    assert [s.tolist() for s in store.doc_sentences(0)] == [[1, 2, 3], [4, 5]]
    assert [s.tolist() for s in store.doc_sentences(1)] == [[6], [7, 8, 9, 10]]
    assert [s.tolist() for s in store.doc_sentences(2)] == [[11, 12]]
    assert store.doc_tokens(1).tolist() == [6, 7, 8, 9, 10]
    assert store.doc_token_offsets().tolist() == [0, 5, 10, 12]
    assert store.ids.tolist() == list(range(1, 13))
    with pytest.raises(IndexError):
        store.doc_tokens(3)


def test_files_dtypes_and_meta(tmp_path):
    returned = write_token_store(tmp_path / "s", DOCS, vocab_size=100)
    names = sorted(p.name for p in (tmp_path / "s").iterdir())
    assert names == ["doc_offsets.npy", "ids.npy", "meta.json", "sent_offsets.npy"]
    store = TokenStore(tmp_path / "s")
    assert store.ids.dtype == np.uint16 and isinstance(store.ids, np.memmap)
    assert store.sent_offsets.dtype == np.int64 and store.doc_offsets.dtype == np.int64
    assert store.sent_offsets.tolist() == [0, 3, 5, 6, 10, 12]
    assert store.doc_offsets.tolist() == [0, 2, 4, 5]
    meta = json.loads((tmp_path / "s" / "meta.json").read_text())
    assert meta["n_docs"] == 3 and meta["n_sentences"] == 5 and meta["n_tokens"] == 12
    assert meta["dtype"] == "uint16" and meta["vocab_size"] == 100
    assert returned == meta == store.meta
    # No temporary directories left next to the store.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]


def test_uint32_for_large_vocab(tmp_path):
    assert token_dtype(65535) == np.uint16 and token_dtype(65536) == np.uint32
    write_token_store(tmp_path / "s", [[[70000, 1]]], vocab_size=70001)
    store = TokenStore(tmp_path / "s")
    assert store.ids.dtype == np.uint32 and store.ids.tolist() == [70000, 1]


def test_out_of_range_ids_fail_and_leave_nothing(tmp_path):
    with pytest.raises(ValueError, match="out of range"):
        write_token_store(tmp_path / "s", [[[1, 2]], [[100]]], vocab_size=100)
    with pytest.raises(ValueError, match="out of range"):
        write_token_store(tmp_path / "s", [[[-1]]], vocab_size=100)
    assert list(tmp_path.iterdir()) == []


def test_overwrite_is_atomic_replacement(tmp_path):
    write_token_store(tmp_path / "s", DOCS, vocab_size=100)
    write_token_store(tmp_path / "s", [[[9, 9]], [[8]]], vocab_size=100)
    store = TokenStore(tmp_path / "s")
    assert store.n_docs == 2 and store.ids.tolist() == [9, 9, 8]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]
    # A failing rewrite keeps the previous store intact.
    with pytest.raises(ValueError):
        write_token_store(tmp_path / "s", [[[1]], [[1000]]], vocab_size=100)
    assert TokenStore(tmp_path / "s").ids.tolist() == [9, 9, 8]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]


def test_large_streamed_corpus(tmp_path, monkeypatch):
    import bertvsgpt.tokenization.token_store as ts

    monkeypatch.setattr(ts, "_FLUSH_TOKENS", 1000)  # force many flushes
    monkeypatch.setattr(ts, "_COPY_CHUNK", 777)
    rng = np.random.default_rng(0)
    docs = [[rng.integers(0, 30000, rng.integers(1, 40)).tolist() for _ in range(rng.integers(1, 8))] for _ in range(300)]
    write_token_store(tmp_path / "s", (d for d in docs), vocab_size=30000)
    store = TokenStore(tmp_path / "s")
    assert store.n_docs == 300
    flat = [t for d in docs for s in d for t in s]
    assert store.n_tokens == len(flat) and np.array_equal(store.ids, np.array(flat))
    for i in (0, 17, 299):
        assert [s.tolist() for s in store.doc_sentences(i)] == docs[i]


def test_pickle_transfers_path_not_data(tmp_path):
    write_token_store(tmp_path / "s", DOCS, vocab_size=100)
    store = TokenStore(tmp_path / "s")
    blob = pickle.dumps(store)
    assert len(blob) < 1000
    clone = pickle.loads(blob)
    assert clone.doc_tokens(1).tolist() == store.doc_tokens(1).tolist()


def test_empty_corpus(tmp_path):
    write_token_store(tmp_path / "s", [], vocab_size=10)
    store = TokenStore(tmp_path / "s")
    assert store.n_docs == 0 and store.n_tokens == 0
