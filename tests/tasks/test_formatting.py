"""Fine-tuning input formats: special tokens, segment ids and counted truncation."""

from __future__ import annotations

import pytest

from bertvsgpt.tasks.formatting import encode_classification
from bertvsgpt.tokenization.special import (
    BERT_CLS,
    BERT_SEP,
    GPT_DELIM,
    GPT_EXTRACT,
    GPT_START,
)
from bertvsgpt.tokenization.train import train_byte_level_bpe, train_wordpiece

CORPUS = [
    "the quick brown fox jumps over the lazy dog",
    "a good movie with a great cast",
    "a bad movie with an awful plot",
    "the plot was fine but the acting was poor",
] * 20


@pytest.fixture(scope="module")
def tokenizers():
    return {
        "bert": train_wordpiece(CORPUS, vocab_size=200, min_frequency=1),
        "gpt": train_byte_level_bpe(CORPUS, vocab_size=300, min_frequency=1),
    }


def test_bert_single(tokenizers):
    tok = tokenizers["bert"]
    ids, types, n_trunc = encode_classification(tok, ["a good movie", "the plot"], "bert", 16)
    cls, sep = tok.token_to_id(BERT_CLS), tok.token_to_id(BERT_SEP)
    body = tok.encode("a good movie", add_special_tokens=False).ids
    assert ids[0] == [cls, *body, sep]
    for row, trow in zip(ids, types):
        assert row[0] == cls and row[-1] == sep
        assert row.count(cls) == 1 and row.count(sep) == 1  # the post-processor adds nothing extra
        assert trow == [0] * len(row)
    assert n_trunc == 0


def test_bert_pair_segments(tokenizers):
    tok = tokenizers["bert"]
    ids, types, _ = encode_classification(tok, [("a good movie", "the plot")], "bert", 32)
    cls, sep = tok.token_to_id(BERT_CLS), tok.token_to_id(BERT_SEP)
    a = tok.encode("a good movie", add_special_tokens=False).ids
    b = tok.encode("the plot", add_special_tokens=False).ids
    assert ids[0] == [cls, *a, sep, *b, sep]
    assert types[0] == [0] * (len(a) + 2) + [1] * (len(b) + 1)


def test_gpt_single_and_pair(tokenizers):
    tok = tokenizers["gpt"]
    start, extract, delim = (tok.token_to_id(t) for t in (GPT_START, GPT_EXTRACT, GPT_DELIM))
    ids, types, n_trunc = encode_classification(tok, ["a good movie"], "gpt", 32)
    body = tok.encode("a good movie", add_special_tokens=False).ids
    assert ids[0] == [start, *body, extract]
    assert types[0] == [0] * len(ids[0])
    assert n_trunc == 0
    ids, _, _ = encode_classification(tok, [("a good movie", "the plot")], "gpt", 32)
    b = tok.encode("the plot", add_special_tokens=False).ids
    assert ids[0] == [start, *body, delim, *b, extract]


@pytest.mark.parametrize("arch", ["bert", "gpt"])
def test_truncation_keeps_start_and_special_tokens(tokenizers, arch):
    tok = tokenizers[arch]
    long_text = " ".join(["the quick brown fox jumps over the lazy dog"] * 5)
    texts = [long_text, "a good movie", long_text]
    max_length = 10
    ids, types, n_trunc = encode_classification(tok, texts, arch, max_length)
    assert n_trunc == 2
    body = tok.encode(long_text, add_special_tokens=False).ids
    first, last = (
        (tok.token_to_id(BERT_CLS), tok.token_to_id(BERT_SEP))
        if arch == "bert"
        else (tok.token_to_id(GPT_START), tok.token_to_id(GPT_EXTRACT))
    )
    for row, trow in zip(ids, types):
        assert len(row) <= max_length and len(trow) == len(row)
        assert row[0] == first and row[-1] == last
    assert len(ids[0]) == max_length
    assert ids[0][1:-1] == body[: max_length - 2]  # the start of the text is kept


@pytest.mark.parametrize("arch", ["bert", "gpt"])
def test_pair_truncation(tokenizers, arch):
    tok = tokenizers[arch]
    long_text = " ".join(["the quick brown fox jumps over the lazy dog"] * 3)
    ids, types, n_trunc = encode_classification(tok, [(long_text, "a good movie"), ("a", "b")], arch, 12)
    assert n_trunc == 1
    assert len(ids[0]) == 12
    if arch == "bert":
        sep = tok.token_to_id(BERT_SEP)
        assert ids[0][-1] == sep and ids[0].count(sep) == 2 and types[0][-1] == 1
    else:
        assert ids[0][-1] == tok.token_to_id(GPT_EXTRACT) and ids[0].count(tok.token_to_id(GPT_DELIM)) == 1


def test_errors(tokenizers):
    with pytest.raises(ValueError, match="architecture"):
        encode_classification(tokenizers["bert"], ["x"], "t5", 16)
    with pytest.raises(ValueError, match="special token"):
        encode_classification(tokenizers["bert"], ["x"], "gpt", 16)  # wrong tokenizer for the model
    with pytest.raises(ValueError, match="no room"):
        encode_classification(tokenizers["gpt"], ["x"], "gpt", 2)
