"""Tests of the shared backbone: config, attention masking, init, parameter count."""

from __future__ import annotations

import json
import math

import pytest
import torch

from bertvsgpt.models import (
    Block,
    ModelConfig,
    MultiHeadSelfAttention,
    Transformer,
    make_attention_mask,
)



def tiny(**kw) -> ModelConfig:
    base = dict(vocab_size=100, n_layer=2, n_head=4, d_model=32, d_ff=64, max_seq_len=32, dropout=0.0)
    base.update(kw)
    return ModelConfig(**base)


# --------------------------------------------------------------------- config


def test_config_roundtrip_is_json_able():
    cfg = tiny(type_vocab_size=2, causal=False)
    d = json.loads(json.dumps(cfg.to_dict()))
    assert ModelConfig.from_dict(d) == cfg
    # Unknown keys (e.g. the "architecture" tag of config.json) are ignored.
    assert ModelConfig.from_dict({**d, "architecture": "bert"}) == cfg


@pytest.mark.parametrize(
    "kw, field",
    [
        (dict(n_head=3, d_model=256), "n_head=3 does not divide d_model=256"),
        (dict(vocab_size=0), "vocab_size"),
        (dict(n_layer=0), "n_layer"),
        (dict(dropout=1.0), "dropout"),
        (dict(type_vocab_size=-1), "type_vocab_size"),
        (dict(pad_token_id=100), "pad_token_id"),
        (dict(activation="relu"), "activation"),
    ],
)
def test_config_validate_names_the_field(kw, field):
    with pytest.raises(ValueError, match=field):
        tiny(**kw).validate()


def test_transformer_validates_config():
    with pytest.raises(ValueError, match="does not divide"):
        Transformer(tiny(n_head=5))


# ------------------------------------------------------------------ attention


def test_make_attention_mask_combines_causal_and_padding():
    am = torch.tensor([[1, 1, 1, 0]])
    m = make_attention_mask(am, causal=True)[0, 0]
    # Causal lower triangle; the padded key 3 is only visible to its own query.
    expected = torch.tensor([[1, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0], [1, 1, 1, 1]], dtype=torch.bool)
    assert torch.equal(m, expected)
    m = make_attention_mask(am, causal=False)[0, 0]
    expected = torch.tensor([[1, 1, 1, 0], [1, 1, 1, 0], [1, 1, 1, 0], [1, 1, 1, 1]], dtype=torch.bool)
    assert torch.equal(m, expected)


def test_attention_matches_manual_computation():
    torch.manual_seed(0)
    for causal in (False, True):
        cfg = tiny(causal=causal)
        attn = MultiHeadSelfAttention(cfg).eval()
        x = torch.randn(2, 5, 32)
        am = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
        y = attn(x, am)
        # manual reference
        q, k, v = attn.c_attn(x).split(32, dim=2)
        sh = lambda t: t.view(2, 5, 4, 8).transpose(1, 2)  # noqa: E731
        q, k, v = sh(q), sh(k), sh(v)
        scores = q @ k.transpose(-1, -2) / math.sqrt(8)
        allowed = am.bool()[:, None, None, :] | torch.eye(5, dtype=torch.bool)
        if causal:
            allowed = allowed & torch.ones(5, 5, dtype=torch.bool).tril()
        scores = scores.masked_fill(~allowed, float("-inf"))
        ref = (scores.softmax(-1) @ v).transpose(1, 2).reshape(2, 5, 32)
        ref = attn.c_proj(ref)
        assert torch.allclose(y, ref, atol=1e-5)


def test_all_ones_mask_equals_no_mask():
    torch.manual_seed(0)
    for causal in (False, True):
        model = Transformer(tiny(causal=causal)).eval()
        ids = torch.randint(0, 100, (2, 10))
        a = model(ids)
        b = model(ids, attention_mask=torch.ones(2, 10, dtype=torch.long))
        assert torch.allclose(a, b, atol=1e-5)


def _perturb_after(ids: torch.Tensor, t: int) -> torch.Tensor:
    other = ids.clone()
    other[:, t + 1 :] = (other[:, t + 1 :] + 7) % 100
    return other


def test_causal_output_ignores_future_tokens():
    torch.manual_seed(0)
    model = Transformer(tiny(causal=True)).eval()
    ids = torch.randint(0, 100, (2, 12))
    t = 5
    a, b = model(ids), model(_perturb_after(ids, t))
    assert torch.allclose(a[:, : t + 1], b[:, : t + 1], atol=1e-6)
    assert not torch.allclose(a[:, t + 1 :], b[:, t + 1 :], atol=1e-3)


def test_bidirectional_output_sees_future_tokens():
    torch.manual_seed(0)
    model = Transformer(tiny(causal=False)).eval()
    ids = torch.randint(0, 100, (2, 12))
    t = 5
    a, b = model(ids), model(_perturb_after(ids, t))
    for pos in range(t + 1):
        assert not torch.allclose(a[:, pos], b[:, pos], atol=1e-3)


@pytest.mark.parametrize("causal", [False, True])
def test_padding_does_not_leak_into_real_tokens(causal):
    torch.manual_seed(0)
    model = Transformer(tiny(causal=causal)).eval()
    ids = torch.randint(1, 100, (2, 10))
    am = torch.ones(2, 10, dtype=torch.long)
    am[0, 6:] = 0
    am[1, 3:] = 0
    other = ids.clone()
    other[0, 6:] = 0
    other[1, 3:] = 42
    a = model(ids, attention_mask=am)
    b = model(other, attention_mask=am)
    assert torch.isfinite(a).all() and torch.isfinite(b).all()
    real = am.bool()
    assert torch.allclose(a[real], b[real], atol=1e-5)
    # The padded result equals running the unpadded prefix alone.
    alone = model(ids[1:, :3])
    assert torch.allclose(a[1, :3], alone[0], atol=1e-5)


def test_fully_padded_row_is_finite():
    model = Transformer(tiny()).eval()
    out = model(torch.zeros(1, 6, dtype=torch.long), attention_mask=torch.zeros(1, 6, dtype=torch.long))
    assert torch.isfinite(out).all()


# ------------------------------------------------------------ blocks and init


def test_activation_selects_exact_or_tanh_gelu():
    """``activation: gelu_tanh`` (imported GPT-1/GPT-2 checkpoints) computes 0.5x(1 + tanh(sqrt(2/pi)(x + 0.044715x^3)));
    the default is the exact erf GELU; the two differ by up to ~1e-3 on these inputs."""
    x = torch.linspace(-4, 4, 101)
    exact = 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))
    tanh = 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
    for cfg, expected in ((tiny(), exact), (tiny(activation="gelu_tanh"), tanh)):
        mlp_gelu = Transformer(cfg).h[0].mlp.gelu
        assert torch.allclose(mlp_gelu(x), expected, atol=1e-6)
    assert (exact - tanh).abs().max() > 1e-4


@pytest.mark.parametrize("norm, embedding_norm, has_ln", [("post", None, True), ("pre", None, False),
                                                          ("post", False, False), ("pre", True, True)])
def test_embedding_norm_follows_norm_unless_set(norm, embedding_norm, has_ln):
    """The summed embeddings are LayerNormed for post-LN and not for pre-LN, unless ``embedding_norm`` says
    otherwise (False with post-LN is GPT-1's layout)."""
    model = Transformer(tiny(norm=norm, embedding_norm=embedding_norm))
    assert isinstance(model.embeddings.LayerNorm, torch.nn.LayerNorm) == has_ln
    assert any("embeddings.LayerNorm" in n for n, _ in model.named_parameters()) == has_ln


def test_block_is_post_layernorm():
    torch.manual_seed(0)
    block = Block(tiny()).eval()
    x = torch.randn(2, 4, 32) * 5 + 3
    y = block(x)
    # Output of a post-LN block is the output of a LayerNorm with weight 1, bias 0.
    assert torch.allclose(y.mean(-1), torch.zeros(2, 4), atol=1e-5)
    assert torch.allclose(y.var(-1, unbiased=False), torch.ones(2, 4), atol=1e-3)


def test_init_normal_002_and_zero_bias():
    torch.manual_seed(0)
    model = Transformer(tiny(d_model=64, d_ff=256, n_head=4, vocab_size=1000))
    for name, p in model.named_parameters():
        if "LayerNorm" in name or "ln_" in name:
            expected = 1.0 if name.endswith("weight") else 0.0
            assert torch.all(p == expected), name
        elif name.endswith("bias"):
            assert torch.all(p == 0), name
        else:
            assert abs(p.std().item() - 0.02) < 0.002, name
            assert abs(p.mean().item()) < 0.002, name


def test_segment_table_only_when_requested():
    assert Transformer(tiny()).embeddings.token_type_embeddings is None
    emb = Transformer(tiny(type_vocab_size=2)).embeddings.token_type_embeddings
    assert emb is not None and emb.num_embeddings == 2
    with pytest.raises(ValueError, match="type_vocab_size=0"):
        Transformer(tiny())(torch.zeros(1, 3, dtype=torch.long), token_type_ids=torch.zeros(1, 3, dtype=torch.long))


def test_token_types_change_output():
    torch.manual_seed(0)
    model = Transformer(tiny(type_vocab_size=2)).eval()
    ids = torch.randint(0, 100, (1, 8))
    tt = torch.zeros(1, 8, dtype=torch.long)
    assert torch.allclose(model(ids), model(ids, tt))
    tt[0, 4:] = 1
    assert not torch.allclose(model(ids), model(ids, tt))


def test_num_parameters():
    cfg = tiny(type_vocab_size=2)
    model = Transformer(cfg)
    total = sum(p.numel() for p in model.parameters())
    emb = (cfg.vocab_size + cfg.max_seq_len + cfg.type_vocab_size) * cfg.d_model
    assert model.num_parameters(non_embedding=False) == total
    assert model.num_parameters() == total - emb
    d, f, L = cfg.d_model, cfg.d_ff, cfg.n_layer
    per_block = (3 * d * d + 3 * d) + (d * d + d) + (d * f + f) + (f * d + d) + 4 * d
    assert model.num_parameters() == L * per_block + 2 * d  # + embedding LayerNorm


def test_sequence_longer_than_positions_raises():
    model = Transformer(tiny(max_seq_len=8))
    with pytest.raises(ValueError, match="max_seq_len"):
        model(torch.zeros(1, 9, dtype=torch.long))


# ---------------------------------------------------------------------- flops


def test_flops_per_token_formula():
    from bertvsgpt.pretraining.flops import flops_per_token

    cfg = tiny()
    n = Transformer(cfg).num_parameters()
    assert flops_per_token(n, cfg.n_layer, cfg.d_model, 128) == 6 * n + 12 * 2 * 32 * 128
    # GPT-3 175B-like sanity check: attention term is small next to 6N at T=2048.
    f = flops_per_token(175_000_000_000, 96, 12288, 2048)
    assert 1.0 < f / (6 * 175e9) < 1.03


def test_measure_matmul_peak_flops_is_fast_and_positive():
    import time

    from bertvsgpt.pretraining.flops import measure_matmul_peak_flops

    t0 = time.perf_counter()
    peak = measure_matmul_peak_flops(torch.float32, "cpu", n=256, iters=5, max_seconds=0.5)
    assert time.perf_counter() - t0 < 2.0
    assert 1e7 < peak < 1e14


# --------------------------------------------------------------------- pre-LN


def test_pre_ln_block_matches_its_formula_and_adds_a_final_norm():
    torch.manual_seed(0)
    post, pre = Transformer(tiny(norm="post")), Transformer(tiny(norm="pre"))
    assert isinstance(pre.embeddings.LayerNorm, torch.nn.Identity) and isinstance(pre.ln_f, torch.nn.LayerNorm)
    assert isinstance(post.embeddings.LayerNorm, torch.nn.LayerNorm) and isinstance(post.ln_f, torch.nn.Identity)
    block = pre.h[0].eval()
    x = torch.randn(2, 5, 32)
    h = x + block.attn(block.ln_1(x))
    expected = h + block.mlp(block.ln_2(h))
    assert torch.allclose(block(x), expected, atol=1e-6)
    # the residual stream is not normalised inside the stack, only at the end
    out = pre.eval()(torch.randint(0, 100, (2, 7)))
    assert torch.allclose(out.mean(-1), torch.zeros(2, 7), atol=1e-5)
    assert torch.allclose(out.var(-1, unbiased=False), torch.ones(2, 7), atol=1e-3)


def test_pre_ln_keeps_the_causal_and_bidirectional_contracts():
    torch.manual_seed(0)
    ids = torch.randint(0, 100, (2, 12))
    causal = Transformer(tiny(causal=True, norm="pre")).eval()
    a, b = causal(ids), causal(_perturb_after(ids, 5))
    assert torch.allclose(a[:, :6], b[:, :6], atol=1e-6) and not torch.allclose(a[:, 6:], b[:, 6:], atol=1e-3)
    bidir = Transformer(tiny(causal=False, norm="pre")).eval()
    assert not torch.allclose(bidir(ids)[:, 0], bidir(_perturb_after(ids, 5))[:, 0], atol=1e-3)


def test_unknown_norm_is_refused():
    with pytest.raises(ValueError, match="norm="):
        tiny(norm="sandwich").validate()
