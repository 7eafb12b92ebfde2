"""Tests of BertForPreTraining: heads, tied weights, gathered MLM, loss, overfit, save/load."""

from __future__ import annotations

import json
import math

import pytest
import torch

from bertvsgpt.models import BertForPreTraining, ModelConfig, load_pretrained, save_pretrained

V, T, P = 100, 16, 4



def bert_config(**kw) -> ModelConfig:
    base = dict(
        vocab_size=V, n_layer=2, n_head=4, d_model=32, d_ff=64, max_seq_len=T, dropout=0.0,
        type_vocab_size=2, causal=False,
    )
    base.update(kw)
    return ModelConfig(**base)


def make_batch(B: int = 4, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(5, V, (B, T), generator=g)
    token_type_ids = torch.zeros(B, T, dtype=torch.long)
    token_type_ids[:, T // 2 :] = 1
    attention_mask = torch.ones(B, T, dtype=torch.long)
    attention_mask[1, T - 3 :] = 0
    input_ids[1, T - 3 :] = 0
    positions = torch.stack([torch.randperm(T - 4, generator=g)[:P] + 1 for _ in range(B)])
    labels = torch.randint(5, V, (B, P), generator=g)
    labels[0, -1] = -100  # a padding slot
    return dict(
        input_ids=input_ids,
        token_type_ids=token_type_ids,
        attention_mask=attention_mask,
        masked_positions=positions,
        masked_labels=labels,
        nsp_labels=torch.tensor([0, 1, 0, 1])[:B],
    )


def test_bert_rejects_gpt_config():
    with pytest.raises(ValueError, match="causal"):
        BertForPreTraining(bert_config(causal=True))
    with pytest.raises(ValueError, match="type_vocab_size"):
        BertForPreTraining(bert_config(type_vocab_size=0))


def test_structure_and_tied_weights_share_storage():
    model = BertForPreTraining(bert_config())
    emb = model.bert.embeddings.word_embeddings.weight
    dec = model.cls_mlm.decoder.weight
    assert dec is emb and dec.data_ptr() == emb.data_ptr()
    assert model.cls_mlm.decoder.bias is None and model.cls_mlm.bias.shape == (V,)
    assert model.cls_nsp.out_features == 2
    with torch.no_grad():
        emb[3, 0] = 123.0
    assert dec[3, 0].item() == 123.0
    # Counted once by parameters().
    names = [n for n, _ in model.named_parameters()]
    assert "cls_mlm.decoder.weight" not in names


def test_loss_at_init_is_uniform():
    torch.manual_seed(0)
    model = BertForPreTraining(bert_config()).eval()
    out = model(**make_batch())
    assert abs(out["mlm_loss"].item() - math.log(V)) < 0.1 * math.log(V)
    assert abs(out["nsp_loss"].item() - math.log(2)) < 0.1 * math.log(2)
    assert torch.allclose(out["loss"], out["mlm_loss"] + out["nsp_loss"])


def _by_hand(model: BertForPreTraining, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """(MLM logits at every position (B, T, V), NSP logits (B, 2)) from the model's parts, the pooler written out."""
    with torch.no_grad():
        hidden = model.bert(batch["input_ids"], batch["token_type_ids"], batch["attention_mask"])
        pooled = torch.tanh(hidden[:, 0] @ model.pooler.dense.weight.T + model.pooler.dense.bias)
        return model.cls_mlm(hidden), pooled @ model.cls_nsp.weight.T + model.cls_nsp.bias


def test_counts_and_no_nsp():
    """Labels are set so that exactly 5 of the 15 valid MLM slots and 3 of the 4 NSP labels are the argmax."""
    torch.manual_seed(0)
    model = BertForPreTraining(bert_config()).eval()
    batch = make_batch()
    mlm_logits, nsp_logits = _by_hand(model, batch)
    pred = torch.stack([mlm_logits[b, batch["masked_positions"][b]].argmax(-1) for b in range(4)])  # (B, P)
    right = torch.zeros(4, P, dtype=torch.bool)
    right.view(-1)[[1, 2, 5, 9, 14]] = True  # slot (0, 3) is the padding slot: index 3 stays False
    labels = torch.where(right, pred, (pred + 1) % V)
    labels[0, -1] = -100
    batch["masked_labels"] = labels
    nsp_pred = nsp_logits.argmax(-1)
    batch["nsp_labels"] = torch.where(torch.tensor([True, True, True, False]), nsp_pred, 1 - nsp_pred)

    out = model(**batch)
    assert out["mlm_count"].item() == 15  # 4 sequences x 4 slots, one of them padding
    assert out["mlm_correct"].item() == 5
    assert out["nsp_count"].item() == 4 and out["nsp_correct"].item() == 3
    gathered = torch.stack([mlm_logits[b, batch["masked_positions"][b]] for b in range(4)])  # (B, P, V)
    valid = labels != -100
    mlm_loss = torch.nn.functional.cross_entropy(gathered[valid], labels[valid])
    nsp_loss = torch.nn.functional.cross_entropy(nsp_logits, batch["nsp_labels"])
    assert out["mlm_loss"].item() == pytest.approx(mlm_loss.item(), rel=1e-5)
    assert out["nsp_loss"].item() == pytest.approx(nsp_loss.item(), rel=1e-5)
    assert out["loss"].item() == pytest.approx(mlm_loss.item() + nsp_loss.item(), rel=1e-5)

    batch["nsp_labels"] = None
    out2 = model(**batch)
    assert "nsp_loss" not in out2
    assert out2["loss"].item() == pytest.approx(mlm_loss.item(), rel=1e-5)
    assert out2["mlm_correct"].item() == 5 and out2["mlm_count"].item() == 15
    assert out2["nsp_count"].item() == 0 and out2["nsp_correct"].item() == 0


def test_num_parameters_by_hand():
    """bert_config(): V=100, T=16, 2 segments, d=32, d_ff=64, 2 post-LN blocks; the MLM decoder is tied (not counted)."""
    model = BertForPreTraining(bert_config())
    d, f, L = 32, 64, 2
    tables = (V + T + 2) * d  # word, position, segment: 3776
    embedding_ln = 2 * d
    block = (d * 3 * d + 3 * d) + (d * d + d) + (d * f + f) + (f * d + d) + 2 * (2 * d)  # qkv, out, fc, proj, 2 LN
    pooler = d * d + d
    mlm_head = (d * d + d) + 2 * d + V  # dense, LayerNorm, output bias
    nsp_head = d * 2 + 2
    heads = pooler + mlm_head + nsp_head
    assert block == 8544 and heads == 2342
    assert model.num_parameters(non_embedding=False) == tables + embedding_ln + L * block + heads == 23270
    assert model.num_parameters() == embedding_ln + L * block + heads == 19494


def test_mlm_head_only_projects_masked_positions():
    torch.manual_seed(0)
    model = BertForPreTraining(bert_config()).eval()
    seen = []
    handle = model.cls_mlm.LayerNorm.register_forward_hook(lambda m, i, o: seen.append(o.shape))
    batch = make_batch()
    out = model(**batch)
    handle.remove()
    assert seen == [torch.Size([4, P, 32])]  # the features the decoder projects: (4, P, d), not (4, T, d)

    # And the gathered result equals projecting everything then indexing.
    hidden = model.bert(batch["input_ids"], batch["token_type_ids"], batch["attention_mask"])
    full = model.cls_mlm(hidden)  # (B, T, V)
    picked = torch.gather(full, 1, batch["masked_positions"][..., None].expand(-1, -1, V))
    labels = batch["masked_labels"]
    ref = torch.nn.functional.cross_entropy(picked.reshape(-1, V), labels.reshape(-1))
    assert torch.allclose(out["mlm_loss"], ref, atol=1e-5)
    assert out["mlm_correct"].item() == ((picked.argmax(-1) == labels) & (labels != -100)).sum().item()


def test_padding_tokens_do_not_affect_loss():
    torch.manual_seed(0)
    model = BertForPreTraining(bert_config()).eval()
    batch = make_batch()
    a = model(**batch)["loss"]
    batch["input_ids"][1, T - 3 :] = 77
    b = model(**batch)["loss"]
    assert torch.allclose(a, b, atol=1e-5)


def test_overfit_small_batch():
    torch.manual_seed(0)
    model = BertForPreTraining(bert_config())
    batch = make_batch()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    for _ in range(150):
        loss = model(**batch)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    out = model(**batch)
    assert out["loss"].item() < 0.05, out["loss"].item()
    assert out["mlm_correct"].item() == out["mlm_count"].item()
    assert out["nsp_correct"].item() == 4


def test_save_load_roundtrip(tmp_path):
    torch.manual_seed(0)
    cfg = bert_config()
    model = BertForPreTraining(cfg)
    with torch.no_grad():  # make heads non-trivial
        for p in model.parameters():
            p.add_(0.01 * torch.randn_like(p))
    model.eval()
    save_pretrained(model, cfg, tmp_path / "ckpt")
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == ["config.json", "model.safetensors"]
    assert json.loads((tmp_path / "ckpt" / "config.json").read_text())["architecture"] == "bert"
    loaded, cfg2 = load_pretrained(tmp_path / "ckpt")
    assert isinstance(loaded, BertForPreTraining) and cfg2 == cfg and not loaded.training
    assert loaded.cls_mlm.decoder.weight.data_ptr() == loaded.bert.embeddings.word_embeddings.weight.data_ptr()
    batch = make_batch()
    a, b = model(**batch), loaded(**batch)
    for k in a:
        assert torch.equal(a[k], b[k]), k
