"""The tokenizer stage: train on the train split only, write tokenizer.json and the token stores."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from bertvsgpt.config import load_params
from bertvsgpt.tokenization.token_store import TokenStore
from bertvsgpt.tokenization.build import build_tokenizer
from bertvsgpt.tokenization.special import BERT_UNK
from bertvsgpt.tokenization.train import load_tokenizer

PARAMS_YAML = Path(__file__).resolve().parents[2] / "params.yaml"
HELDOUT_WORD = "xylophones"  # occurs only in the held-out documents

TRAIN_DOCS = [
    ["The farmer builds a bridge.", "The river is cold.", "A senator reads the law."],
    ["The town is quiet.", "The farmer reads."],
    ["A bridge crosses the river.", "The senator builds a town.", "The law is old."],
    ["The river is quiet.", "A farmer is cold."],
]
HELDOUT_DOCS = [
    [f"The {HELDOUT_WORD} play.", f"{HELDOUT_WORD.capitalize()} and {HELDOUT_WORD} again."],
    [f"Old {HELDOUT_WORD} sound.", f"The {HELDOUT_WORD} of the town."],
]
TRAIN_WORDS = {w.strip(".") for doc in TRAIN_DOCS for s in doc for w in s.split()}


def write_corpus(path: Path, train_docs, heldout_docs, heldout_split: str = "heldout") -> Path:
    rows = [("train", d) for d in train_docs] + [(heldout_split, d) for d in heldout_docs]
    pl.DataFrame(
        {
            "doc_id": [f"d{i}" for i in range(len(rows))],
            "source": ["test"] * len(rows),
            "split": [s for s, _ in rows],
            "sentences": [d for _, d in rows],
        },
        schema={"doc_id": pl.Utf8, "source": pl.Utf8, "split": pl.Utf8, "sentences": pl.List(pl.Utf8)},
    ).write_parquet(path)
    return path


@pytest.fixture(scope="module")
def params():
    return load_params(PARAMS_YAML, ["tokenizer.vocab_size=300", "tokenizer.min_frequency=1"])


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_corpus(tmp_path_factory.mktemp("corpus") / "corpus.parquet", TRAIN_DOCS, HELDOUT_DOCS)


@pytest.fixture(scope="module")
def built(tmp_path_factory, params, corpus):
    out = {}
    for arch in ("bert", "gpt"):
        d = tmp_path_factory.mktemp(f"tok-{arch}") / arch
        out[arch] = (d, build_tokenizer(arch, params, corpus, d))
    return out


@pytest.mark.parametrize("arch", ["bert", "gpt"])
def test_writes_tokenizer_and_both_token_stores(built, arch):
    out_dir, stats = built[arch]
    assert (out_dir / "tokenizer.json").is_file()
    for split in ("train", "heldout"):
        for name in ("ids.npy", "sent_offsets.npy", "doc_offsets.npy", "meta.json"):
            assert (out_dir / split / name).is_file()
    tok = load_tokenizer(out_dir)
    assert stats["vocab_size"] == tok.get_vocab_size() <= 300
    assert json.loads((out_dir / "stats.json").read_text()) == stats
    train, heldout = TokenStore(out_dir / "train"), TokenStore(out_dir / "heldout")
    assert train.n_docs == len(TRAIN_DOCS) and heldout.n_docs == len(HELDOUT_DOCS)
    assert train.n_sentences == sum(len(d) for d in TRAIN_DOCS)
    assert heldout.n_sentences == sum(len(d) for d in HELDOUT_DOCS)
    assert stats["train"]["n_tokens"] == train.n_tokens and stats["heldout"]["n_tokens"] == heldout.n_tokens
    assert train.vocab_size == heldout.vocab_size == tok.get_vocab_size()
    # no temporary folders left next to the output
    assert [p.name for p in out_dir.parent.iterdir()] == [arch]


def test_bert_store_holds_each_sentence_encoded_without_special_tokens(built):
    out_dir, _ = built["bert"]
    tok = load_tokenizer(out_dir)
    for split, docs in (("train", TRAIN_DOCS), ("heldout", HELDOUT_DOCS)):
        store = TokenStore(out_dir / split)
        for i, doc in enumerate(docs):
            got = [s.tolist() for s in store.doc_sentences(i)]
            assert got == [tok.encode(s, add_special_tokens=False).ids for s in doc]


def test_gpt_store_documents_decode_to_running_text(built):
    out_dir, _ = built["gpt"]
    tok = load_tokenizer(out_dir)
    for split, docs in (("train", TRAIN_DOCS), ("heldout", HELDOUT_DOCS)):
        store = TokenStore(out_dir / split)
        for i, doc in enumerate(docs):
            assert tok.decode(store.doc_tokens(i).tolist()) == " ".join(doc)


def test_wordpiece_is_trained_on_the_train_split_only(built):
    vocab = load_tokenizer(built["bert"][0]).get_vocab()
    # the vocabulary had room for every training word as a whole word ...
    assert {"farmer", "senator", "bridge", "The"} <= TRAIN_WORDS
    assert TRAIN_WORDS <= set(vocab)
    # ... but the word that only the held-out documents contain is not one
    assert HELDOUT_WORD not in vocab
    assert HELDOUT_WORD.capitalize() not in vocab


def test_control_heldout_word_is_learnt_when_its_documents_are_train(tmp_path, params):
    """Positive control: the same documents marked 'train' do put the word in the vocabulary."""
    corpus = write_corpus(tmp_path / "c.parquet", TRAIN_DOCS, HELDOUT_DOCS, heldout_split="train")
    # one held-out document so the held-out store is not built from nothing
    df = pl.read_parquet(corpus)
    df = pl.concat([df, df.head(1).with_columns(pl.lit("heldout").alias("split"), pl.lit("h0").alias("doc_id"))])
    df.write_parquet(corpus)
    build_tokenizer("bert", params, corpus, tmp_path / "bert")
    vocab = load_tokenizer(tmp_path / "bert").get_vocab()
    assert HELDOUT_WORD in vocab


def test_heldout_word_is_split_or_unknown_in_the_heldout_store(built):
    out_dir, _ = built["bert"]
    tok = load_tokenizer(out_dir)
    enc = tok.encode(HELDOUT_WORD, add_special_tokens=False)
    assert len(enc.ids) > 1 or enc.tokens == [BERT_UNK]


def test_missing_corpus_raises_file_not_found_naming_it(tmp_path, params):
    missing = tmp_path / "no_such_corpus.parquet"
    with pytest.raises(FileNotFoundError, match="no_such_corpus.parquet"):
        build_tokenizer("bert", params, missing, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_empty_corpus_raises_value_error(tmp_path, params):
    path = write_corpus(tmp_path / "empty.parquet", [], [])
    with pytest.raises(ValueError, match="empty"):
        build_tokenizer("gpt", params, path, tmp_path / "out")


def test_rebuild_replaces_previous_output(tmp_path, params, corpus):
    out = tmp_path / "tok"
    out.mkdir()
    (out / "stale.txt").write_text("old")
    build_tokenizer("bert", params, corpus, out)
    assert not (out / "stale.txt").exists()
    assert (out / "tokenizer.json").is_file()
