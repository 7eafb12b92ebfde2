"""Corpus building: sentence splitting, filtering, held-out split, contamination guard."""

from __future__ import annotations

import random

import polars as pl
import pytest

from bertvsgpt.data.corpus import build_corpus, normalise_for_match
from bertvsgpt.data.readers import Document
from bertvsgpt.data.sentences import split_sentences


def test_split_sentences():
    text = "Hello   world. This is Mr. Smith's\nhard-wrapped line.\n\n  A new paragraph without end\n\nLast one!"
    assert split_sentences(text) == [
        "Hello world.", "This is Mr. Smith's hard-wrapped line.", "A new paragraph without end", "Last one!"]
    assert split_sentences("") == [] and split_sentences(" \n\n ") == []


def _docs(n: int, source: str = "s") -> list[Document]:
    return [Document(f"{source}:{i}", source, text=f"Document number {i} has a sentence. And another one here.")
            for i in range(n)]


def test_columns_filtering_and_stats():
    docs = [
        Document("a:1", "a", text="A long enough sentence. Tiny. Another long sentence!"),
        Document("b:1", "b", sentences=["  Pre   split sentence one. ", "ok", "Pre split sentence two."]),
        Document("b:2", "b", sentences=["short", "tiny"]),  # nothing left
        Document("a:2", "a", text="   "),
    ]
    df, stats = build_corpus(docs, heldout_fraction=0.3, seed=1, min_sentence_chars=10)
    assert df.schema == pl.Schema({"doc_id": pl.Utf8, "source": pl.Utf8, "split": pl.Utf8,
                                   "sentences": pl.List(pl.Utf8)})
    assert df["doc_id"].to_list() == ["a:1", "b:1"]
    assert df["sentences"].to_list() == [["A long enough sentence.", "Another long sentence!"],
                                         ["Pre split sentence one.", "Pre split sentence two."]]
    # by hand: SHA-256 of (seed 1, doc_id) gives a:1 -> 0.2125 (< 0.3: held out), b:1 -> 0.7166 (train)
    assert df["split"].to_list() == ["heldout", "train"]
    # by hand: dropped short = "Tiny." (a:1) + "ok" (b:1) + "short", "tiny" (b:2) = 4; b:2 and a:2 left empty;
    # words: "A long enough sentence." 4 + "Another long sentence!" 3 = 7, "Pre split sentence one./two." 4 + 4 = 8
    assert stats == {
        "documents_in": 4, "documents_dropped_empty": 2, "documents_dropped_contaminated": 0,
        "sentences_dropped_short": 4, "eval_texts": 0, "contaminated_doc_ids": [],
        "documents": 2, "train_documents": 1, "heldout_documents": 1, "sentences": 4, "words": 15,
        "per_source": {"a": {"documents": 1, "heldout_documents": 1, "sentences": 2, "words": 7},
                       "b": {"documents": 1, "heldout_documents": 0, "sentences": 2, "words": 8}},
    }


def test_heldout_split_deterministic_and_independent_of_other_documents():
    docs = _docs(400)
    a, _ = build_corpus(docs, 0.1, seed=7, min_sentence_chars=5)
    shuffled = docs[:]
    random.Random(0).shuffle(shuffled)
    b, _ = build_corpus(shuffled[:300] + _docs(50, "other"), 0.1, seed=7, min_sentence_chars=5)
    split_a = dict(zip(a["doc_id"], a["split"]))
    split_b = dict(zip(b["doc_id"], b["split"]))
    assert all(split_a[k] == v for k, v in split_b.items() if k in split_a)
    assert build_corpus(docs, 0.1, seed=7, min_sentence_chars=5)[0].equals(a)
    n_held = (a["split"] == "heldout").sum()
    assert 20 <= n_held <= 65
    c, _ = build_corpus(docs, 0.1, seed=8, min_sentence_chars=5)
    assert c["split"].to_list() != a["split"].to_list()


def test_contamination_guard_drops_documents_with_eval_texts():
    eval_texts = [
        "The Rock is destined to be the 21st Century's new ''Conan''.",  # >= 40 chars: contained anywhere
        "Effective but too tepid biopic",  # short: only an exact sentence match counts
    ]
    docs = [
        Document("d:clean", "d", text="Nothing to see here. Effective but too tepid biopics are common."),
        Document("d:exact", "d", sentences=["Some sentence first.", "EFFECTIVE but too   tepid biopic!"]),
        Document("d:inside", "d", text="Critics wrote that the rock is destined to be the 21st century's "
                                       "new \"Conan\" and more. Fine."),
        Document("d:partial", "d", text="The Rock is destined to be the 21st Century's new star. Fine words."),
        Document("d:other", "d", text="Another clean document here. With two sentences."),
    ]
    df, stats = build_corpus(docs, 0.2, seed=0, min_sentence_chars=5, eval_texts=eval_texts)
    assert df["doc_id"].to_list() == ["d:clean", "d:partial", "d:other"]
    assert stats["documents_dropped_contaminated"] == 2
    assert stats["contaminated_doc_ids"] == ["d:exact", "d:inside"]


def test_contamination_across_sentence_boundary():
    ev = ["It was long. It was dull and far too slow for anybody to enjoy."]
    docs = [Document("x:1", "x", text="Intro here. It was long. It was dull and far too slow for anybody to enjoy."),
            Document("x:2", "x", text="Clean text stays. Yes it does.")]
    df, _ = build_corpus(docs, 0.2, seed=0, min_sentence_chars=1, eval_texts=ev)
    assert df["doc_id"].to_list() == ["x:2"]


def test_normalise_for_match():
    assert normalise_for_match("  The ''Rock''\t is—HERE!! ") == "the rock is here"


def test_empty_corpus_and_duplicate_ids():
    with pytest.raises(ValueError, match="pre-training corpus is empty after preparation: check data.corpus"):
        build_corpus([Document("a", "s", text="tiny")], 0.1, seed=0, min_sentence_chars=10)
    with pytest.raises(ValueError, match="pre-training corpus is empty"):
        build_corpus([], 0.1, seed=0, min_sentence_chars=10)
    with pytest.raises(ValueError, match="duplicate document id 'a'"):
        build_corpus([Document("a", "s", text="A sentence."), Document("a", "s", text="B sentence.")], 0.1, 0, 1)
