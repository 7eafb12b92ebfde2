"""``models.attention.attention``: SDPA everywhere, a bf16-GEMM / float32-softmax path for bf16 on CPU."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from bertvsgpt.models.attention import attention, make_attention_mask
from tests.models.dispatch import GemmDtypes

B, H, T, D = 3, 2, 16, 8


def qkv(seed: int = 0, t_q: int = T, dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(B, H, t_q, D, generator=g) * 2  # scores ~ N(0, 4): the softmax is far from uniform
    k, v = (torch.randn(B, H, T, D, generator=g) for _ in range(2))
    return tuple(x.to(dtype) for x in (q, k, v))


def padding_mask(t_q: int = T) -> torch.Tensor:
    keys = torch.ones(B, T, dtype=torch.long)
    keys[1, -5:] = 0
    keys[2, -11:] = 0
    return make_attention_mask(keys, causal=False, n_queries=t_q)


CASES = {  # name: (queries, mask, is_causal)
    "no mask": (T, None, False),
    "causal": (T, None, True),
    "padding": (T, padding_mask(), False),
    "cached keys": (4, make_attention_mask(torch.ones(B, T, dtype=torch.long), causal=True, n_queries=4), False),
}


@pytest.mark.parametrize("case", CASES)
def test_bf16_on_cpu_matches_float32_sdpa_within_bf16_rounding(case):
    t_q, mask, is_causal = CASES[case]
    q, k, v = qkv(t_q=t_q)
    reference = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=is_causal)
    out = attention(*(x.bfloat16() for x in (q, k, v)), mask, is_causal, 0.0)
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(out.float(), reference, rtol=0, atol=4e-2)
    # and it is attention, not something close to any output: a wrong mask moves it by far more
    other = F.scaled_dot_product_attention(q, k, v, is_causal=not is_causal) if mask is None else reference
    if mask is None:
        assert (out.float() - other).abs().max() > 0.3


def test_bf16_gradients_match_float32_sdpa_within_bf16_rounding():
    q, k, v = qkv()
    mask = padding_mask()
    ref_leaves = [x.clone().requires_grad_() for x in (q, k, v)]
    F.scaled_dot_product_attention(*ref_leaves, attn_mask=mask).square().sum().backward()
    leaves = [x.bfloat16().requires_grad_() for x in (q, k, v)]
    attention(*leaves, mask, False, 0.0).float().square().sum().backward()
    for ours, ref in zip(leaves, ref_leaves):
        scale = ref.grad.abs().max().item()
        torch.testing.assert_close(ours.grad.float(), ref.grad, rtol=0, atol=3e-2 * scale)


def test_padded_keys_get_no_weight_in_the_bf16_path():
    q, k, v = qkv(dtype=torch.bfloat16)
    mask = padding_mask()
    out = attention(q, k, v, mask, False, 0.0)
    v_changed = v.clone()
    v_changed[2, :, -11:] = 100.0  # values of padding positions of row 2
    assert torch.equal(attention(q, k, v_changed, mask, False, 0.0)[2, :, : T - 11], out[2, :, : T - 11])
    assert torch.isfinite(out).all()


def test_all_true_mask_gives_the_unmasked_output_in_the_bf16_path():
    q, k, v = qkv(dtype=torch.bfloat16)
    all_true = torch.ones(B, 1, T, T, dtype=torch.bool)
    assert torch.equal(attention(q, k, v, all_true, False, 0.0), attention(q, k, v, None, False, 0.0))


def test_dropout_in_the_bf16_path_drops_attention_weights():
    q, k, v = qkv(dtype=torch.bfloat16)
    plain = attention(q, k, v, None, True, 0.0)
    torch.manual_seed(0)
    dropped = attention(q, k, v, None, True, 0.5)
    torch.manual_seed(0)
    assert torch.equal(dropped, attention(q, k, v, None, True, 0.5))  # seeded
    assert not torch.allclose(dropped.float(), plain.float(), atol=1e-2)


def test_bf16_on_cpu_runs_its_gemms_in_bf16_and_float32_uses_sdpa():
    q, k, v = qkv(dtype=torch.bfloat16)
    with GemmDtypes() as rec:
        attention(q, k, v, None, True, 0.0)
    assert rec.dtypes and set(rec.dtypes) == {torch.bfloat16}
    assert not any("scaled_dot_product" in op for op in rec.ops)
    q, k, v = qkv()
    with GemmDtypes() as rec:
        out = attention(q, k, v, None, True, 0.0)
    assert any("scaled_dot_product" in op for op in rec.ops)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, is_causal=True))


def test_causal_bf16_path_compiles_without_a_graph_break():
    # a data-dependent branch (bool(mask.all())) on the causal mask split compiled GPT's graph at every layer
    q, k, v = (torch.randn(2, 2, 16, 8, dtype=torch.bfloat16) for _ in range(3))
    explained = torch._dynamo.explain(lambda q, k, v: attention(q, k, v, None, True, 0.0))(q, k, v)
    assert explained.graph_break_count == 0
    causal = torch.ones(16, 16, dtype=torch.bool).tril()
    expected = attention(q.float(), k.float(), v.float(), causal, False, 0.0)  # float32: SDPA with the explicit mask
    torch.testing.assert_close(attention(q, k, v, None, True, 0.0).float(), expected, atol=2e-2, rtol=2e-2)
