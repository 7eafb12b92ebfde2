"""Tests of GPTForPreTraining: causality, tied head, loss, overfit, generate, save/load."""

from __future__ import annotations

import json
import math

import pytest
import torch

from bertvsgpt.models import GPTForPreTraining, ModelConfig, load_pretrained, save_pretrained

V, T = 100, 16



def gpt_config(**kw) -> ModelConfig:
    base = dict(
        vocab_size=V, n_layer=2, n_head=4, d_model=32, d_ff=64, max_seq_len=T, dropout=0.0,
        type_vocab_size=0, causal=True,
    )
    base.update(kw)
    return ModelConfig(**base)


def make_data(B: int = 4, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    seq = torch.randint(1, V, (B, T + 1), generator=g)
    return seq[:, :-1].contiguous(), seq[:, 1:].contiguous()


def test_gpt_rejects_bert_config():
    with pytest.raises(ValueError, match="causal"):
        GPTForPreTraining(gpt_config(causal=False))
    with pytest.raises(ValueError, match="type_vocab_size"):
        GPTForPreTraining(gpt_config(type_vocab_size=2))


def test_tied_lm_head_shares_storage():
    model = GPTForPreTraining(gpt_config())
    emb = model.transformer.embeddings.word_embeddings.weight
    assert model.lm_head.weight is emb and model.lm_head.bias is None
    assert model.lm_head.weight.data_ptr() == emb.data_ptr()
    with torch.no_grad():
        emb[5, 1] = -9.0
    assert model.lm_head.weight[5, 1].item() == -9.0
    assert model.num_parameters(False) == sum(p.numel() for p in model.parameters())


def test_outputs_logits_only_without_targets():
    model = GPTForPreTraining(gpt_config()).eval()
    x, y = make_data()
    out = model(x)
    assert set(out) == {"logits"} and out["logits"].shape == (4, T, V)
    out = model(x, y)
    assert set(out) == {"loss"} and out["loss"].ndim == 0


def test_loss_at_init_is_uniform():
    torch.manual_seed(0)
    model = GPTForPreTraining(gpt_config()).eval()
    x, y = make_data()
    loss = model(x, y)["loss"].item()
    assert abs(loss - math.log(V)) < 0.1 * math.log(V)


def test_loss_is_next_token_cross_entropy_and_ignores_minus_100():
    torch.manual_seed(0)
    model = GPTForPreTraining(gpt_config()).eval()
    x, y = make_data()
    logits = model(x)["logits"]
    y2 = y.clone()
    y2[:, :5] = -100
    ref = torch.nn.functional.cross_entropy(logits[:, 5:].reshape(-1, V), y[:, 5:].reshape(-1))
    assert torch.allclose(model(x, y2)["loss"], ref, atol=1e-5)


def test_logits_at_t_independent_of_future():
    torch.manual_seed(0)
    model = GPTForPreTraining(gpt_config()).eval()
    x, _ = make_data()
    x2 = x.clone()
    x2[:, 8:] = (x2[:, 8:] + 1) % V
    a, b = model(x)["logits"], model(x2)["logits"]
    assert torch.allclose(a[:, :8], b[:, :8], atol=1e-6)
    assert not torch.allclose(a[:, 8:], b[:, 8:], atol=1e-3)


def test_overfit_and_greedy_generation_memorises():
    torch.manual_seed(0)
    model = GPTForPreTraining(gpt_config())
    x, y = make_data()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    for _ in range(150):
        loss = model(x, y)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    assert model(x, y)["loss"].item() < 0.05
    full = torch.cat([x, y[:, -1:]], dim=1)  # (4, T+1)
    out = model.generate(full[:, :4], max_new_tokens=T - 4, temperature=0)
    assert torch.equal(out, full[:, :T])


def test_generate_shapes_topk_and_eos():
    torch.manual_seed(0)
    model = GPTForPreTraining(gpt_config()).eval()
    idx = torch.randint(1, V, (3, 2))
    out = model.generate(idx, max_new_tokens=T + 5, temperature=1.0, top_k=5)  # longer than context
    assert out.shape == (3, 2 + T + 5) and torch.equal(out[:, :2], idx)
    # top_k=1 sampling == greedy
    a = model.generate(idx, 6, temperature=0.7, top_k=1)
    b = model.generate(idx, 6, temperature=0)
    assert torch.equal(a, b)
    # eos handling: a hook makes EOS the greedy choice for selected rows.
    eos = 7
    rows = {"boost": [0]}

    def boost_eos(module, inputs, output):
        output = output.clone()
        output[rows["boost"], ..., eos] += 1e4
        rows["boost"] = []  # only on the first step
        return output

    handle = model.lm_head.register_forward_hook(boost_eos)
    out = model.generate(idx, 10, temperature=0, eos_token_id=eos)
    assert out.shape == (3, 12)
    assert (out[0, 2:] == eos).all()  # finished rows are padded with EOS
    assert not (out[1:, 2:] == eos).all()
    rows["boost"] = [0, 1, 2]
    out = model.generate(idx, 10, temperature=0, eos_token_id=eos)
    handle.remove()
    assert out.shape == (3, 3) and (out[:, 2] == eos).all()  # stops once all rows finished


def test_save_load_roundtrip(tmp_path):
    torch.manual_seed(0)
    cfg = gpt_config()
    model = GPTForPreTraining(cfg).eval()
    save_pretrained(model, cfg, tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["architecture"] == "gpt"
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())  # no temp files left
    loaded, cfg2 = load_pretrained(tmp_path)
    assert isinstance(loaded, GPTForPreTraining) and cfg2 == cfg
    assert loaded.lm_head.weight.data_ptr() == loaded.transformer.embeddings.word_embeddings.weight.data_ptr()
    x, y = make_data()
    assert torch.equal(model(x)["logits"], loaded(x)["logits"])
    assert torch.equal(model(x, y)["loss"], loaded(x, y)["loss"])
    # Saving again overwrites atomically.
    save_pretrained(loaded, cfg2, tmp_path)
    again, _ = load_pretrained(tmp_path)
    assert torch.equal(again(x)["logits"], model(x)["logits"])
