"""benchmarks/attention_offsets.py: the attention probabilities it reads are the model's, and the per-offset profile."""

from __future__ import annotations

import math

import pytest
import torch

from benchmarks.attention_offsets import attention_maps, offset_profile
from bertvsgpt.models import BertForPreTraining, GPTForPreTraining, ModelConfig
from bertvsgpt.models.attention import MultiHeadSelfAttention


def test_offset_profile_of_a_previous_token_head_and_a_uniform_head():
    T = 8
    prev = torch.zeros(T, T)
    prev[0, 0] = 1.0
    prev[torch.arange(1, T), torch.arange(T - 1)] = 1.0  # every other query on the token before it
    uniform = torch.full((T, T), 1.0 / T)
    rows = offset_profile(torch.stack([prev, uniform])[None])  # (B=1, H=2, T, T)
    assert rows[0]["-1"] == pytest.approx(1.0) and rows[0]["+1"] == 0.0
    assert rows[0]["+0"] == pytest.approx(1 / T)  # only query 0 looks at itself
    assert rows[0]["entropy"] == pytest.approx(0.0, abs=1e-6)
    assert all(rows[1][k] == pytest.approx(1 / T) for k in ("-2", "-1", "+0", "+1", "+2"))
    assert rows[1]["entropy"] == pytest.approx(math.log(T))


@pytest.mark.parametrize("causal", [False, True])
def test_attention_maps_are_the_probabilities_the_layer_uses(causal):
    torch.manual_seed(0)
    cfg = ModelConfig(vocab_size=50, n_layer=2, n_head=2, d_model=16, d_ff=32, max_seq_len=12, dropout=0.0,
                      type_vocab_size=0 if causal else 2, causal=causal)
    model = (GPTForPreTraining if causal else BertForPreTraining)(cfg).eval()
    ids = torch.randint(4, 50, (3, 12))
    maps = attention_maps(model, ids)
    assert len(maps) == 2 and maps[0].shape == (3, 2, 12, 12)
    torch.testing.assert_close(maps[1].sum(-1), torch.ones(3, 2, 12))
    if causal:
        assert torch.all(maps[0].triu(1) == 0)
    # Rebuild the first layer's output from the read probabilities: it must equal what the layer computed.
    layer = next(m for m in model.modules() if isinstance(m, MultiHeadSelfAttention))
    seen = {}
    handle = layer.register_forward_hook(lambda m, a, out: seen.update(x=a[0], out=out))
    attention_maps(model, ids)
    handle.remove()
    x = seen["x"]
    v = layer.c_attn(x).split(16, dim=2)[2].view(3, 12, 2, 8).transpose(1, 2)
    rebuilt = layer.c_proj((maps[0] @ v).transpose(1, 2).reshape(3, 12, 16))
    torch.testing.assert_close(rebuilt, seen["out"], atol=1e-5, rtol=1e-4)
