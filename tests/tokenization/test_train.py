"""Tokenizer training and encoding: WordPiece (BERT) and byte-level BPE (GPT)."""

from __future__ import annotations

import numpy as np
import pytest

from bertvsgpt.tokenization import SPECIAL_TOKENS, load_tokenizer, train_tokenizer
from bertvsgpt.tokenization.encode import encode_documents, word_start_mask
from bertvsgpt.tokenization.special import (
    BERT_CLS,
    BERT_MASK,
    BERT_PAD,
    BERT_SEP,
    BERT_SPECIAL_TOKENS,
    BERT_UNK,
    GPT_SPECIAL_TOKENS,
)
from bertvsgpt.tokenization.train import iter_sentences, train_byte_level_bpe, train_wordpiece

SENTENCES = [
    "The farmer builds a bridge over the river.",
    "A senator questions the new law before the vote!",
    "Rivers cross the quiet town in the spring.",
    "The committee remembers its history with great care.",
    "Our nation defends the northern road, after the war.",
    "A young writer studies the harvest for many years.",
] * 4


@pytest.fixture(scope="module")
def wordpiece():
    return train_wordpiece(SENTENCES, vocab_size=300, min_frequency=1)


@pytest.fixture(scope="module")
def bpe():
    return train_byte_level_bpe(SENTENCES, vocab_size=300, min_frequency=1)


# --- WordPiece (BERT) -------------------------------------------------------------------------


def test_wordpiece_has_bert_special_tokens_as_single_ids(wordpiece):
    assert BERT_SPECIAL_TOKENS == [BERT_PAD, BERT_UNK, BERT_CLS, BERT_SEP, BERT_MASK]
    ids = [wordpiece.token_to_id(t) for t in BERT_SPECIAL_TOKENS]
    assert None not in ids
    assert len(set(ids)) == len(ids)
    for tok, idx in zip(BERT_SPECIAL_TOKENS, ids):
        # a special token written in the text stays one token, never split into pieces
        assert wordpiece.encode(f"the {tok} river", add_special_tokens=False).tokens[1] == tok
        assert wordpiece.id_to_token(idx) == tok


def test_wordpiece_single_sentence_is_wrapped_in_cls_sep(wordpiece):
    plain = wordpiece.encode("The farmer builds", add_special_tokens=False)
    enc = wordpiece.encode("The farmer builds")
    assert enc.tokens == [BERT_CLS, *plain.tokens, BERT_SEP]
    assert enc.type_ids == [0] * len(enc.ids)


def test_wordpiece_pair_is_cls_a_sep_b_sep_with_type_ids(wordpiece):
    a = wordpiece.encode("The farmer builds a bridge.", add_special_tokens=False)
    b = wordpiece.encode("Rivers cross the quiet town.", add_special_tokens=False)
    assert len(a.ids) > 1 and len(b.ids) > 1
    enc = wordpiece.encode("The farmer builds a bridge.", "Rivers cross the quiet town.")
    cls_id, sep_id = wordpiece.token_to_id(BERT_CLS), wordpiece.token_to_id(BERT_SEP)
    assert enc.ids == [cls_id, *a.ids, sep_id, *b.ids, sep_id]
    # segment A = [CLS] A [SEP] -> 0; segment B = B [SEP] -> 1
    assert enc.type_ids == [0] * (len(a.ids) + 2) + [1] * (len(b.ids) + 1)


def test_wordpiece_unknown_characters_become_unk(wordpiece):
    # Greek letters never occur in the training text, so WordPiece has no piece for them
    enc = wordpiece.encode("Ωμέγα", add_special_tokens=False)
    assert enc.tokens == [BERT_UNK]


def test_wordpiece_training_is_deterministic():
    vocabs = [train_wordpiece(SENTENCES, vocab_size=300, min_frequency=1).get_vocab() for _ in range(3)]
    assert vocabs[0] == vocabs[1] == vocabs[2]


def test_wordpiece_continuation_pieces_are_ordinary_vocabulary(wordpiece):
    """The ``##c`` pieces pinned during training (see train_wordpiece) are not left as special tokens."""
    assert set(wordpiece.get_vocab(with_added_tokens=True)) == set(wordpiece.get_vocab(with_added_tokens=False))
    special = {t.content for t in wordpiece.get_added_tokens_decoder().values()}
    assert special == set(BERT_SPECIAL_TOKENS)
    ids = wordpiece.encode("rivers", add_special_tokens=False).ids
    assert wordpiece.id_to_token(ids[-1]).startswith("##")
    assert wordpiece.decode(ids, skip_special_tokens=True) == "rivers"


def test_byte_level_bpe_training_is_deterministic():
    vocabs = [train_byte_level_bpe(SENTENCES, vocab_size=300, min_frequency=1).get_vocab() for _ in range(3)]
    assert vocabs[0] == vocabs[1] == vocabs[2]


def test_wordpiece_lowercase_option():
    cased = train_wordpiece(["Farmer farmer FARMER"] * 3, vocab_size=300, min_frequency=1, lowercase=False)
    lower = train_wordpiece(["Farmer farmer FARMER"] * 3, vocab_size=300, min_frequency=1, lowercase=True)
    assert lower.encode("FARMER", add_special_tokens=False).tokens == ["farmer"]
    assert cased.encode("FARMER", add_special_tokens=False).tokens == ["FARMER"]
    assert "FARMER" not in lower.get_vocab()


def test_word_start_mask_marks_continuation_pieces_false(wordpiece):
    mask = word_start_mask(wordpiece)
    vocab = wordpiece.get_vocab()
    assert mask.dtype == np.bool_ and mask.shape == (wordpiece.get_vocab_size(),)
    continuation = {idx for tok, idx in vocab.items() if tok.startswith("##")}
    assert continuation, "the test vocabulary should contain ## pieces"
    assert set(np.flatnonzero(~mask).tolist()) == continuation
    assert mask[vocab["the"]] and mask[vocab[BERT_CLS]]
    # an actual split word: the first piece starts the word, the rest continue it
    pieces = wordpiece.encode("bridges", add_special_tokens=False).ids
    assert len(pieces) >= 2
    assert mask[pieces[0]] and not mask[pieces[1:]].any()


# --- byte-level BPE (GPT) ---------------------------------------------------------------------


def test_bpe_has_gpt_special_tokens_as_single_ids(bpe):
    expected = {"<|start|>", "<|delim|>", "<|extract|>", "<|endoftext|>", "<|pad|>"}
    assert set(GPT_SPECIAL_TOKENS) == expected
    ids = [bpe.token_to_id(t) for t in GPT_SPECIAL_TOKENS]
    assert None not in ids and len(set(ids)) == len(ids)
    for tok, idx in zip(GPT_SPECIAL_TOKENS, ids):
        assert bpe.encode(tok).ids == [idx]
        enc = bpe.encode(f"the{tok}river", add_special_tokens=False)
        assert enc.ids.count(idx) == 1
        assert tok in enc.tokens


def test_bpe_vocab_size_is_honoured(bpe):
    assert bpe.get_vocab_size() == 300


@pytest.mark.parametrize(
    "text",
    [
        "日本語のテキスト",
        "emoji 😀🚀 and Ωμέγα, naïve café",
        "tabs\tand\nnewlines  double  spaces",
        "zero\u200bwidth ﬁ ligature \u00a0nbsp",
        "Ünïcödé ŝtrîñg ✓ ∑ ∞ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    ],
)
def test_bpe_never_produces_unknown_tokens(bpe, text):
    enc = bpe.encode(text, add_special_tokens=False)
    vocab_size = bpe.get_vocab_size()
    assert enc.ids and all(0 <= i < vocab_size for i in enc.ids)
    assert all(bpe.id_to_token(i) is not None for i in enc.ids)
    # lossless: every byte has a token, so decoding gives the exact input back
    assert bpe.decode(enc.ids) == text


def test_train_tokenizer_dispatch_and_unknown_kind():
    wp = train_tokenizer("bert", iter(SENTENCES), 300, 1, False)
    gp = train_tokenizer("gpt", iter(SENTENCES), 300, 1, False)
    assert wp.token_to_id(BERT_MASK) is not None and wp.token_to_id("<|endoftext|>") is None
    assert gp.token_to_id("<|endoftext|>") is not None and gp.token_to_id(BERT_MASK) is None
    assert SPECIAL_TOKENS == {"bert": BERT_SPECIAL_TOKENS, "gpt": GPT_SPECIAL_TOKENS}
    with pytest.raises(ValueError, match="xlnet"):
        train_tokenizer("xlnet", iter(SENTENCES), 300, 1, False)


def test_iter_sentences_flattens_documents():
    assert list(iter_sentences([["a", "b"], [], ["c"]])) == ["a", "b", "c"]


def test_load_tokenizer_from_dir_and_file(tmp_path, bpe):
    bpe.save(str(tmp_path / "tokenizer.json"))
    text = "The farmer builds a bridge."
    assert load_tokenizer(tmp_path).encode(text).ids == bpe.encode(text).ids
    assert load_tokenizer(tmp_path / "tokenizer.json").encode(text).ids == bpe.encode(text).ids
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_tokenizer(missing)


# --- encode_documents -------------------------------------------------------------------------

DOCS = [
    ["The farmer builds a bridge.", "Rivers cross the quiet town.", "A senator questions the law!"],
    ["Our nation defends the road."],
    ["The committee remembers.", "Its history."],
    ["A young writer studies.", "The harvest."],
    ["Rivers cross.", "The law!"],
]


def test_encode_documents_gpt_adds_leading_space_so_concatenation_decodes_to_running_text(bpe):
    out = list(encode_documents(bpe, DOCS, "gpt", batch_docs=2))  # several flushes
    assert len(out) == len(DOCS)
    for doc, sents in zip(DOCS, out):
        non_empty = [s for s in doc if s]
        assert len(sents) == len(non_empty)
        # first sentence as is, later ones with a leading space
        assert sents[0] == bpe.encode(non_empty[0], add_special_tokens=False).ids
        for s, ids in zip(non_empty[1:], sents[1:]):
            assert ids == bpe.encode(" " + s, add_special_tokens=False).ids
        flat = [i for ids in sents for i in ids]
        assert bpe.decode(flat) == " ".join(non_empty)


def test_encode_documents_first_doc_sentence_has_no_leading_space_for_gpt(bpe):
    (doc,) = list(encode_documents(bpe, [["Rivers cross.", "Rivers cross."]], "gpt"))
    # the same sentence encodes differently with and without the leading space
    assert doc[0] != doc[1]
    assert bpe.decode(doc[0]) == "Rivers cross."
    assert bpe.decode(doc[1]) == " Rivers cross."


def test_encode_documents_gpt_empty_first_sentence_gives_no_leading_space(bpe):
    (doc,) = list(encode_documents(bpe, [["", "Rivers cross.", "The law!"]], "gpt"))
    assert len(doc) == 2
    assert bpe.decode([i for ids in doc for i in ids]) == "Rivers cross. The law!"


def test_encode_documents_gpt_drops_empty_middle_sentence(bpe):
    (doc,) = list(encode_documents(bpe, [["Rivers cross.", "", "The law!"]], "gpt"))
    assert len(doc) == 2
    assert bpe.decode([i for ids in doc for i in ids]) == "Rivers cross. The law!"


def test_encode_documents_bert_keeps_sentences_unchanged(wordpiece):
    docs = [*DOCS, ["", "The committee remembers.", "", "Its history."]]  # empty sentences dropped
    out = list(encode_documents(wordpiece, docs, "bert", batch_docs=3))
    cls_id, sep_id = wordpiece.token_to_id(BERT_CLS), wordpiece.token_to_id(BERT_SEP)
    assert len(out) == len(docs)
    assert len(out[-1]) == 2
    for doc, sents in zip(docs, out):
        non_empty = [s for s in doc if s]
        assert sents == [wordpiece.encode(s, add_special_tokens=False).ids for s in non_empty]
        assert all(cls_id not in ids and sep_id not in ids for ids in sents)
