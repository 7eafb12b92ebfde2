"""Tests of the BERT (dynamic masking) and GPT (packed) pre-training datasets."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from bertvsgpt.pretraining.datasets import BertPretrainingDataset, GPTPackedDataset, packed_token_count
from bertvsgpt.tokenization.token_store import TokenStore, write_token_store

PAD, CLS, SEP, MASK, EOS = 0, 1, 2, 3, 4
VOCAB = 1000


def random_docs(n_docs: int, seed: int = 0) -> list[list[list[int]]]:
    rng = np.random.default_rng(seed)
    return [
        [rng.integers(10, VOCAB, int(rng.integers(2, 15))).tolist() for _ in range(int(rng.integers(1, 25)))]
        for _ in range(n_docs)
    ]


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> TokenStore:
    path = tmp_path_factory.mktemp("store") / "tokens"
    write_token_store(path, random_docs(40), vocab_size=VOCAB)
    return TokenStore(path)


def bert_ds(store: TokenStore, **kw) -> BertPretrainingDataset:
    args = dict(cls_id=CLS, sep_id=SEP, mask_id=MASK, pad_id=PAD, max_seq_length=64, max_predictions_per_seq=10, seed=3)
    args.update(kw)
    return BertPretrainingDataset(store, **args)


# -------------------------------------------------------------------- BERT


def test_bert_item_shapes_and_consistency(store):
    ds = bert_ds(store)
    assert len(ds) > 50 and ds.vocab_size == VOCAB
    for i in range(len(ds)):
        item = ds[i]
        inst = ds.instance(i)
        n = len(inst.tokens)
        for k in ("input_ids", "token_type_ids", "attention_mask"):
            assert item[k].shape == (64,) and item[k].dtype == torch.long
        assert item["masked_positions"].shape == item["masked_labels"].shape == (10,)
        assert item["attention_mask"].sum() == n and item["attention_mask"][:n].all()
        assert (item["input_ids"][n:] == PAD).all() and (item["token_type_ids"][n:] == 0).all()
        assert torch.equal(item["token_type_ids"][:n], torch.from_numpy(inst.segment_ids))
        valid = item["masked_labels"] != -100
        k = int(valid.sum())
        assert k == min(10, max(1, round(n * 0.15))) and valid[:k].all()  # labels packed in front
        pos = item["masked_positions"][:k]
        assert (pos < n).all()
        assert torch.equal(item["masked_labels"][:k], torch.from_numpy(inst.tokens)[pos])
        # Outside the masked positions the input is the instance itself.
        keep = torch.ones(n, dtype=torch.bool)
        keep[pos] = False
        assert torch.equal(item["input_ids"][:n][keep], torch.from_numpy(inst.tokens)[keep])
        assert item["nsp_label"].item() == int(inst.is_random_next)


def test_bert_nsp_balanced_and_random_b_from_other_doc(store):
    ds = bert_ds(store, short_seq_prob=0.0)
    labels = np.array([ds[i]["nsp_label"].item() for i in range(len(ds))])
    assert 0.4 < labels.mean() < 0.65
    rnd = ds.nsp_labels == 1
    assert (ds.random_doc_ids[rnd] != ds.doc_ids[rnd]).all()
    assert (ds.random_doc_ids[rnd] >= 0).all() and (ds.random_doc_ids[~rnd] == -1).all()


def test_bert_dynamic_masking_is_reproducible(store):
    a, b = bert_ds(store), bert_ds(store)
    # Same seed -> same instances and same masks.
    assert np.array_equal(a.tokens, b.tokens)
    for i in range(0, len(a), 7):
        assert all(torch.equal(a[i][k], b[i][k]) for k in a[i])
    # Another epoch -> same instance, different masks.
    b.set_epoch(1)
    differs = 0
    for i in range(len(a)):
        x, y = a[i], b[i]
        assert torch.equal(x["attention_mask"], y["attention_mask"])
        assert torch.equal(x["nsp_label"], y["nsp_label"])
        differs += not torch.equal(x["masked_positions"], y["masked_positions"])
    assert differs > 0.9 * len(a)
    # Different seed -> different instances.
    c = bert_ds(store, seed=4)
    assert len(c) != len(a) or not np.array_equal(c.tokens, a.tokens)


def test_bert_masking_rate_over_dataset(store):
    ds = bert_ds(store, max_predictions_per_seq=64)
    n_real = n_masked = n_mask_token = 0
    for epoch in range(3):
        ds.set_epoch(epoch)
        for i in range(len(ds)):
            item = ds[i]
            k = int((item["masked_labels"] != -100).sum())
            n_real += int(item["attention_mask"].sum())
            n_masked += k
            n_mask_token += int((item["input_ids"][item["masked_positions"][:k]] == MASK).sum())
            assert not (item["input_ids"] == MASK).logical_and(item["attention_mask"] == 0).any()
    assert n_masked / n_real == pytest.approx(0.15, abs=0.01)
    assert n_mask_token / n_masked == pytest.approx(0.8, abs=0.03)


def test_bert_dataloader_and_model_step(store):
    from bertvsgpt.models import BertForPreTraining, ModelConfig

    ds = bert_ds(store)
    batch = next(iter(DataLoader(ds, batch_size=8, shuffle=True)))
    assert batch["input_ids"].shape == (8, 64) and batch["nsp_label"].shape == (8,)
    cfg = ModelConfig(vocab_size=VOCAB, n_layer=1, n_head=2, d_model=16, d_ff=32, max_seq_len=64, type_vocab_size=2)
    out = BertForPreTraining(cfg)(
        batch["input_ids"], batch["token_type_ids"], batch["attention_mask"],
        batch["masked_positions"], batch["masked_labels"], batch["nsp_label"],
    )
    assert torch.isfinite(out["loss"])


# --------------------------------------------------------------------- GPT


def expected_stream(store: TokenStore) -> np.ndarray:
    parts = []
    for d in range(store.n_docs):
        parts += [np.asarray(store.doc_tokens(d), dtype=np.int64), np.array([EOS])]
    return np.concatenate(parts)


@pytest.mark.parametrize("seq_len", [1, 7, 32, 10_000])
def test_gpt_packing_loses_no_token(store, seq_len):
    ds = GPTPackedDataset(store, seq_len=seq_len, eos_id=EOS)
    stream = expected_stream(store)
    assert packed_token_count(store) == len(stream) == store.n_tokens + store.n_docs
    items = [ds[i] for i in range(len(ds))]
    inputs = torch.cat([it["input_ids"] for it in items]).numpy()
    targets = torch.cat([it["targets"] for it in items]).numpy()
    valid = targets != -100
    # Every stream token but the first is a target exactly once, in order ...
    assert valid.sum() == len(stream) - 1
    assert np.array_equal(targets[valid], stream[1:])
    # ... and inputs tile the stream (each input predicts the next token).
    assert np.array_equal(inputs[valid], stream[:-1])
    for it in items:
        assert it["input_ids"].shape == it["targets"].shape == (seq_len,)
        v = it["targets"] != -100
        assert torch.equal(it["input_ids"][1:][v[:-1]], it["targets"][:-1][v[:-1]])
    # Only the last window may be padded.
    assert all((it["targets"] != -100).all() for it in items[:-1])


def test_gpt_drop_last(store):
    ds = GPTPackedDataset(store, seq_len=32, eos_id=EOS, drop_last=True)
    assert len(ds) == (packed_token_count(store) - 1) // 32
    assert all((ds[i]["targets"] != -100).all() for i in range(len(ds)))


def test_gpt_windows_match_memmap(store):
    ds = GPTPackedDataset(store, seq_len=16, eos_id=EOS)
    stream = expected_stream(store)
    for i in (0, 5, len(ds) // 2, len(ds) - 1):
        start = i * 16
        window = stream[start : start + 17]
        assert np.array_equal(ds[i]["input_ids"].numpy()[: len(window) - 1], window[:-1])
        assert (ds[i]["input_ids"].numpy() == EOS).sum() == (window[:-1] == EOS).sum() + (16 - len(window) + 1)
    with pytest.raises(IndexError):
        ds[len(ds)]


def test_gpt_dataloader_and_model_step(store):
    from bertvsgpt.models import GPTForPreTraining, ModelConfig

    ds = GPTPackedDataset(store, seq_len=32, eos_id=EOS)
    batch = next(iter(DataLoader(ds, batch_size=4, shuffle=True, num_workers=0)))
    cfg = ModelConfig(vocab_size=VOCAB, n_layer=1, n_head=2, d_model=16, d_ff=32, max_seq_len=32, causal=True)
    out = GPTForPreTraining(cfg)(batch["input_ids"], batch["targets"])
    assert torch.isfinite(out["loss"])
