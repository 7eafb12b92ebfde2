"""Tests of the BERT instance construction and MLM masking (port of create_pretraining_data.py)."""

from __future__ import annotations

import math
import random
from collections import Counter

import numpy as np
import pytest

from bertvsgpt.pretraining.bert_instances import (
    create_instances,
    create_instances_from_document,
    mask_tokens,
    num_predictions,
    truncate_seq_pair,
)
from bertvsgpt.tokenization.token_store import TokenStore, write_token_store

PAD, CLS, SEP, MASK = 0, 1, 2, 3
SPECIAL = {PAD, CLS, SEP, MASK}
FIRST = 10  # first ordinary token id


def unique_corpus(n_docs: int, sents: tuple[int, int], sent_len: tuple[int, int], seed: int = 0):
    """Documents whose token ids are all distinct, so a token identifies its
    document and position: returns (docs, owner_doc, position) lookups."""
    rng = np.random.default_rng(seed)
    docs, owner, position = [], {}, {}
    nxt = FIRST
    for d in range(n_docs):
        doc, pos = [], 0
        for _ in range(int(rng.integers(*sents))):
            n = int(rng.integers(*sent_len))
            doc.append(list(range(nxt, nxt + n)))
            for t in range(nxt, nxt + n):
                owner[t], position[t] = d, pos
                pos += 1
            nxt += n
        docs.append(doc)
    return docs, owner, position


@pytest.fixture(scope="module")
def corpus():
    return unique_corpus(60, (20, 60), (3, 12))


def split(inst):
    toks = inst.tokens.tolist()
    b_start = int(np.argmax(inst.segment_ids))
    return toks[1 : b_start - 1], toks[b_start:-1]


# ---------------------------------------------------------------- instances


def test_instance_layout(corpus):
    docs, _, _ = corpus
    instances = create_instances(docs, 48, 0.1, CLS, SEP, random.Random(0))
    assert len(instances) > 300
    for inst in instances:
        toks, seg = inst.tokens, inst.segment_ids
        assert len(toks) == len(seg) <= 48
        assert toks.dtype == np.int64
        a, b = split(inst)
        assert len(a) >= 1 and len(b) >= 1
        assert toks[0] == CLS and toks[len(a) + 1] == SEP and toks[-1] == SEP
        assert (seg[: len(a) + 2] == 0).all() and (seg[len(a) + 2 :] == 1).all()
        assert sum(int(t) in (CLS, SEP) for t in toks) == 3


def test_segments_come_from_the_right_documents(corpus):
    docs, owner, position = corpus
    instances = create_instances(docs, 48, 0.1, CLS, SEP, random.Random(1))
    n_random = 0
    for inst in instances:
        a, b = split(inst)
        # A: a contiguous span of the instance's own document.
        assert {owner[t] for t in a} == {inst.doc_index}
        pa = [position[t] for t in a]
        assert pa == list(range(pa[0], pa[0] + len(pa)))
        pb = [position[t] for t in b]
        assert pb == list(range(pb[0], pb[0] + len(pb)))
        if inst.is_random_next:
            n_random += 1
            # B always from a *different* document.
            assert inst.random_doc_index != inst.doc_index
            assert {owner[t] for t in b} == {inst.random_doc_index}
        else:
            assert inst.random_doc_index == -1
            # B is the actual continuation of A (after possible truncation).
            assert {owner[t] for t in b} == {inst.doc_index}
            assert pb[0] > pa[-1]
    assert 0 < n_random < len(instances)


def test_nsp_roughly_balanced(corpus):
    docs, _, _ = corpus
    fractions = [
        np.mean([i.is_random_next for i in create_instances(docs, 48, 0.0, CLS, SEP, random.Random(s))])
        for s in range(3)
    ]
    # The reference implementation forces "random next" for single-sentence
    # chunks, so the rate is slightly above 1/2.
    for f in fractions:
        assert 0.45 < f < 0.6, fractions


def test_random_documents_are_spread_over_corpus(corpus):
    docs, _, _ = corpus
    instances = create_instances(docs, 48, 0.1, CLS, SEP, random.Random(2))
    used = Counter(i.random_doc_index for i in instances if i.is_random_next)
    assert len(used) > 0.8 * len(docs)


def test_random_next_with_two_documents_never_picks_itself():
    docs = [[[10, 11, 12]], [[20, 21], [22, 23]]]
    for seed in range(50):
        for inst in create_instances_from_document(docs, 0, 16, 0.0, CLS, SEP, random.Random(seed)):
            # single-sentence doc 0: always random next, from doc 1
            assert inst.is_random_next and inst.random_doc_index == 1
            assert set(split(inst)[1]) <= {20, 21, 22, 23}


def test_deterministic_given_seed(corpus):
    docs, _, _ = corpus
    a = create_instances(docs, 48, 0.1, CLS, SEP, random.Random(7))
    b = create_instances(docs, 48, 0.1, CLS, SEP, random.Random(7))
    c = create_instances(docs, 48, 0.1, CLS, SEP, random.Random(8))
    assert len(a) == len(b) and all(np.array_equal(x.tokens, y.tokens) for x, y in zip(a, b))
    assert len(a) != len(c) or any(not np.array_equal(x.tokens, y.tokens) for x, y in zip(a, c))


def test_short_seq_prob_makes_shorter_sequences(corpus):
    docs, _, _ = corpus
    full = create_instances(docs, 48, 0.0, CLS, SEP, random.Random(0))
    short = create_instances(docs, 48, 1.0, CLS, SEP, random.Random(0))
    assert np.mean([len(i.tokens) for i in short]) < 0.8 * np.mean([len(i.tokens) for i in full])


def test_every_sentence_is_used():
    # With a max length large enough to avoid truncation, every token of a
    # document ends up in some instance of that document.
    docs, owner, _ = unique_corpus(10, (30, 40), (2, 5), seed=3)
    instances = create_instances(docs, 512, 0.0, CLS, SEP, random.Random(0))
    for d in range(len(docs)):
        covered = set()
        for inst in instances:
            if inst.doc_index == d:
                a, b = split(inst)
                covered.update(a)
                if not inst.is_random_next:
                    covered.update(b)
        # Unused B sentences of random-next pairs are put back, so every sentence is used.
        assert covered == {t for s in docs[d] for t in s}


def test_works_on_token_store(tmp_path, corpus):
    docs, _, _ = corpus
    write_token_store(tmp_path / "s", docs, vocab_size=30000)
    store = TokenStore(tmp_path / "s")
    from_store = create_instances(store, 48, 0.1, CLS, SEP, random.Random(5))
    from_list = create_instances(docs, 48, 0.1, CLS, SEP, random.Random(5))
    assert len(from_store) == len(from_list)
    assert all(np.array_equal(x.tokens, y.tokens) for x, y in zip(from_store, from_list))


def test_needs_two_documents():
    with pytest.raises(ValueError, match="2 documents"):
        create_instances([[[10, 11]]], 16, 0.0, CLS, SEP, random.Random(0))


def test_truncate_seq_pair():
    rng = random.Random(0)
    sa, sb = truncate_seq_pair(100, 10, 50, rng)
    assert (sa.stop - sa.start) == 40 and (sb.start, sb.stop) == (0, 10)  # only the longer side
    sa, sb = truncate_seq_pair(30, 30, 50, rng)
    assert (sa.stop - sa.start, sb.stop - sb.start) == (25, 25)
    sa, sb = truncate_seq_pair(3, 4, 50, rng)
    assert (sa.start, sa.stop, sb.start, sb.stop) == (0, 3, 0, 4)
    # Trims from both ends at random.
    starts = [truncate_seq_pair(100, 1, 50, random.Random(s))[0].start for s in range(20)]
    assert 10 < np.mean(starts) < 40


# ------------------------------------------------------------------ masking


def sequence(n: int = 128) -> np.ndarray:
    rng = np.random.default_rng(0)
    toks = rng.integers(FIRST, 1000, n)
    toks[0], toks[n // 2], toks[-1] = CLS, SEP, SEP
    return toks


def test_num_predictions():
    assert num_predictions(128, 0.15, 20) == 19
    assert num_predictions(512, 0.15, 20) == 20
    assert num_predictions(10, 0.15, 20) == 2
    assert num_predictions(3, 0.15, 20) == 1


def test_mask_basic_invariants():
    toks = sequence()
    rng = random.Random(0)
    for _ in range(200):
        out, pos, labels = mask_tokens(toks, SPECIAL, 1000, MASK, rng, 0.15, 20)
        assert len(pos) == 19 == len(labels)
        assert (np.diff(pos) > 0).all()  # sorted, unique
        assert not (set(toks[pos].tolist()) & SPECIAL)
        assert np.array_equal(labels, toks[pos])
        untouched = np.ones(len(toks), bool)
        untouched[pos] = False
        assert np.array_equal(out[untouched], toks[untouched])
        assert out[0] == CLS and out[64] == SEP and out[-1] == SEP


def test_mask_statistics():
    """Selection uniform over the non-special positions; 80 % [MASK], 10 % kept, 10 % random among the selected.

    Tolerances are 4-4.5 binomial standard deviations of the stated probabilities (the seed is fixed, so the
    test is deterministic; the bounds say how large a departure from the stated rates it is sure to catch).
    """
    toks = sequence(100)
    special_pos = [0, 50, 99]
    ordinary = np.setdiff1d(np.arange(100), special_pos)
    vocab = 1000
    rng = random.Random(1)
    n_draws = 4000
    selected = np.zeros(len(toks))
    kinds = Counter()
    for _ in range(n_draws):
        out, pos, labels = mask_tokens(toks, SPECIAL, vocab, MASK, rng, 0.15, max_predictions_per_seq=1000)
        assert len(pos) == 15  # by hand: round(100 * 0.15) = 15, the cap of 1000 does not bind
        assert pos.tolist() == sorted(set(pos.tolist()))
        assert labels.tolist() == toks[pos].tolist()
        untouched = np.ones(len(toks), dtype=bool)
        untouched[pos] = False
        assert out[untouched].tolist() == toks[untouched].tolist()
        selected[pos] += 1
        for o, lab in zip(out[pos], labels):
            kinds["mask" if o == MASK else "same" if o == lab else "random"] += 1
    assert selected[special_pos].sum() == 0
    # Each of the 97 ordinary positions is selected in a draw with probability 15/97: Binomial(n_draws, 15/97).
    p = 15 / 97
    z = (selected[ordinary] - n_draws * p) / math.sqrt(n_draws * p * (1 - p))
    assert np.abs(z).max() < 4.5  # P(some |z| > 4.5 of 97) < 1e-3 under uniform selection
    # ... and jointly: sum z^2 has mean 97 and sd about sqrt(2 * 97); too small flags a too-regular selection.
    assert abs((z**2).sum() - 97) < 5 * math.sqrt(2 * 97)
    total = sum(kinds.values())
    assert total == n_draws * 15
    # A random replacement draws MASK or the original id itself with probability 1 / vocab each.
    expected = {"mask": 0.8 + 0.1 / vocab, "same": 0.1 + 0.1 / vocab, "random": 0.1 - 0.2 / vocab}
    for kind, q in expected.items():
        assert abs(kinds[kind] / total - q) < 4 * math.sqrt(q * (1 - q) / total), kind


def test_random_replacements_cover_vocab():
    toks = sequence(100)
    rng = random.Random(2)
    replaced = []
    for _ in range(2000):
        out, pos, labels = mask_tokens(toks, SPECIAL, 50, MASK, rng, 0.15, 100)
        sel = out[pos]
        replaced += sel[(sel != MASK) & (sel != labels)].tolist()
    assert min(replaced) >= 0 and max(replaced) < 50
    assert len(set(replaced)) >= 45


def test_cap_respected():
    toks = sequence(512 - 1)
    for cap in (1, 5, 20):
        _, pos, _ = mask_tokens(toks, SPECIAL, 1000, MASK, random.Random(cap), 0.15, cap)
        assert len(pos) == cap


def test_special_only_sequence_masks_nothing():
    out, pos, labels = mask_tokens(np.array([CLS, SEP, SEP]), SPECIAL, 100, MASK, random.Random(0))
    assert len(pos) == 0 and len(labels) == 0 and out.tolist() == [CLS, SEP, SEP]


def test_whole_word_masking():
    # ids >= 500 are WordPiece continuations ("##..."), ids < 500 start a word.
    starts = np.ones(1000, dtype=bool)
    starts[500:] = False
    rng_np = np.random.default_rng(0)
    toks, words = [CLS], []
    while len(toks) < 100:
        n = int(rng_np.integers(1, 4))
        word = [int(rng_np.integers(FIRST, 500))] + [int(x) for x in rng_np.integers(500, 1000, n - 1)]
        words.append(list(range(len(toks), len(toks) + n)))
        toks += word
    toks.append(SEP)
    toks = np.array(toks)
    n_pred = num_predictions(len(toks), 0.15, 20)
    rng = random.Random(0)
    multi_piece_hit = 0
    for _ in range(300):
        _, pos, _ = mask_tokens(toks, SPECIAL, 1000, MASK, rng, 0.15, 20, whole_word_starts=starts)
        chosen = set(pos.tolist())
        assert 0 < len(chosen) <= n_pred
        for w in words:
            hit = chosen & set(w)
            assert not hit or hit == set(w), (w, sorted(chosen))
            multi_piece_hit += bool(hit) and len(w) > 1
    assert multi_piece_hit > 0
