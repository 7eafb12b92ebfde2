"""Tests of linear_cross_entropy against the unfused F.linear + F.cross_entropy path."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from bertvsgpt.models.loss import linear_cross_entropy
from tests.models.dispatch import GemmDtypes

IGNORE = -100
B, T, D, V = 4, 37, 24, 131  # N = 148 rows: chunk_size 64 leaves a ragged last chunk


def reference(hidden: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The GPT loss as written in gpt.py (softmax kept in float64 for float64 inputs)."""
    logits = F.linear(hidden, weight)
    logits = logits if logits.dtype == torch.float64 else logits.float()
    return F.cross_entropy(logits.view(-1, weight.shape[0]), targets.reshape(-1), ignore_index=IGNORE)


def make_inputs(dtype: torch.dtype = torch.float32, seed: int = 0, ignore_frac: float = 0.2):
    g = torch.Generator().manual_seed(seed)
    hidden = torch.randn(B, T, D, generator=g, dtype=dtype)
    weight = torch.randn(V, D, generator=g, dtype=dtype) / D**0.5
    targets = torch.randint(0, V, (B, T), generator=g)
    targets[torch.rand(B, T, generator=g) < ignore_frac] = IGNORE
    return hidden, weight, targets


def loss_and_grads(fn, hidden, weight, targets, scale: float = 1.0, **kw):
    h = hidden.clone().requires_grad_()
    w = weight.clone().requires_grad_()
    loss = fn(h, w, targets, **kw)
    (loss * scale).backward()
    return loss.detach(), h.grad, w.grad


@pytest.mark.parametrize(
    ("dtype", "tol"), [(torch.float64, dict(rtol=1e-10, atol=1e-12)), (torch.float32, dict(rtol=1e-5, atol=1e-6))]
)
@pytest.mark.parametrize("chunk_size", [1, 64, 1024])
def test_matches_reference(dtype, tol, chunk_size):
    hidden, weight, targets = make_inputs(dtype)
    assert (targets == IGNORE).any() and (targets != IGNORE).any()
    ref = loss_and_grads(reference, hidden, weight, targets)
    out = loss_and_grads(linear_cross_entropy, hidden, weight, targets, chunk_size=chunk_size)
    for r, o in zip(ref, out):
        assert o.dtype == r.dtype
        torch.testing.assert_close(o, r, **tol)


def test_all_targets_ignored_matches_reference():
    hidden, weight, targets = make_inputs(ignore_frac=1.0)
    ref_loss, ref_gh, ref_gw = loss_and_grads(reference, hidden, weight, targets)
    loss, gh, gw = loss_and_grads(linear_cross_entropy, hidden, weight, targets, chunk_size=64)
    assert ref_loss.isnan() and loss.isnan()  # 0 / 0, as F.cross_entropy gives
    torch.testing.assert_close(gh, ref_gh)  # zeros, not NaN
    torch.testing.assert_close(gw, ref_gw)
    _, correct = linear_cross_entropy(hidden, weight, targets, chunk_size=64, return_correct=True)
    assert correct.item() == 0  # no row to count (and no argmax over an empty selection fails)


def test_grad_output_scales_gradients():
    hidden, weight, targets = make_inputs(torch.float64)
    _, ref_gh, ref_gw = loss_and_grads(reference, hidden, weight, targets, scale=3.0)
    _, gh, gw = loss_and_grads(linear_cross_entropy, hidden, weight, targets, scale=3.0, chunk_size=64)
    _, gh1, _ = loss_and_grads(linear_cross_entropy, hidden, weight, targets, chunk_size=64)
    torch.testing.assert_close(gh, ref_gh, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(gw, ref_gw, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(gh, 3.0 * gh1, rtol=1e-12, atol=0)


def tied_lm_grads(loss_fn) -> list[torch.Tensor]:
    """Tiny tied-embedding LM: the weight gets gradient from both the embedding lookup and the head."""
    torch.manual_seed(0)
    emb = torch.nn.Embedding(V, D, dtype=torch.float64)
    proj = torch.nn.Linear(D, D, dtype=torch.float64)
    ids = torch.randint(0, V, (B, T))
    targets = ids.roll(-1, dims=1)
    targets[:, -1] = IGNORE
    hidden = torch.tanh(proj(emb(ids)))
    (loss_fn(hidden, emb.weight, targets) * 0.5).backward()
    return [emb.weight.grad, proj.weight.grad, proj.bias.grad]


def test_tied_weight_accumulates_both_gradients():
    ref = tied_lm_grads(reference)
    out = tied_lm_grads(lambda h, w, t: linear_cross_entropy(h, w, t, chunk_size=50))
    for r, o in zip(ref, out):
        torch.testing.assert_close(o, r, rtol=1e-10, atol=1e-12)


def test_gradient_accumulation_over_two_backwards():
    def accumulate(fn, **kw):
        h1, w, t1 = make_inputs(torch.float64, seed=1)
        h2, _, t2 = make_inputs(torch.float64, seed=2)
        w.requires_grad_()
        h1.requires_grad_()
        fn(h1, w, t1, **kw).backward()
        fn(h2, w, t2, **kw).backward()
        return w.grad, h1.grad

    for r, o in zip(accumulate(reference), accumulate(linear_cross_entropy, chunk_size=64)):
        torch.testing.assert_close(o, r, rtol=1e-10, atol=1e-12)


def test_no_grad_and_frozen_inputs():
    hidden, weight, targets = make_inputs()
    ref = reference(hidden, weight, targets)
    with torch.no_grad():
        h, w = hidden.clone().requires_grad_(), weight.clone().requires_grad_()
        loss = linear_cross_entropy(h, w, targets, chunk_size=64)
    assert not loss.requires_grad
    torch.testing.assert_close(loss, ref)

    # Hidden frozen (e.g. probing a head): only the weight gets a gradient.
    w = weight.clone().requires_grad_()
    linear_cross_entropy(hidden, w, targets, chunk_size=64).backward()
    w_ref = weight.clone().requires_grad_()
    reference(hidden, w_ref, targets).backward()
    torch.testing.assert_close(w.grad, w_ref.grad)


def test_autocast_bf16_matches_within_bf16_tolerance():
    hidden, weight, targets = make_inputs()
    weight = weight * D**0.5  # logits ~ N(0, D): bf16 rounding of them visibly moves the loss
    ref = loss_and_grads(reference, hidden, weight, targets)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        bf16_ref = loss_and_grads(reference, hidden, weight, targets)
        out = loss_and_grads(linear_cross_entropy, hidden, weight, targets, chunk_size=64)
    for r, b, o in zip(ref, bf16_ref, out):
        assert o.dtype == b.dtype == torch.float32  # fp32 loss, grads flow back to the fp32 leaves
        atol = 1e-2 * r.abs().max().item()
        torch.testing.assert_close(o, r, rtol=2e-2, atol=atol)
        torch.testing.assert_close(o, b, rtol=2e-2, atol=atol)
    # Same bf16 matmul, same fp32 softmax as the autocast reference, not the fp32 one.
    torch.testing.assert_close(out[0], bf16_ref[0], rtol=1e-5, atol=0)
    assert (out[0] - ref[0]).abs() > 1e-4


# --- the output bias and the argmax accuracy (BERT's masked-LM head) ---------------------------------------------


def reference_with_bias(hidden, weight, bias, targets):
    logits = F.linear(hidden, weight, bias)
    logits = logits if logits.dtype == torch.float64 else logits.float()
    return F.cross_entropy(logits.view(-1, weight.shape[0]), targets.reshape(-1), ignore_index=IGNORE)


def reference_correct(hidden, weight, bias, targets) -> int:
    pred = F.linear(hidden, weight, bias).float().argmax(-1)
    return int(((pred == targets) & (targets != IGNORE)).sum())


@pytest.mark.parametrize(
    ("dtype", "tol"), [(torch.float64, dict(rtol=1e-10, atol=1e-12)), (torch.float32, dict(rtol=1e-5, atol=1e-6))]
)
@pytest.mark.parametrize("chunk_size", [1, 64, 1024])
def test_bias_matches_reference(dtype, tol, chunk_size):
    hidden, weight, targets = make_inputs(dtype)
    bias = torch.randn(V, generator=torch.Generator().manual_seed(5), dtype=dtype)

    def grads(fn, **kw):
        h, w, b = (x.clone().requires_grad_() for x in (hidden, weight, bias))
        loss = fn(h, w, b, targets, **kw)
        (2.0 * loss).backward()
        return loss.detach(), h.grad, w.grad, b.grad

    ref = grads(reference_with_bias)
    out = grads(lambda h, w, b, t, **kw: linear_cross_entropy(h, w, t, bias=b, **kw), chunk_size=chunk_size)
    assert out[3] is not None and out[3].abs().sum() > 0
    for r, o in zip(ref, out):
        assert o.dtype == r.dtype
        torch.testing.assert_close(o, r, **tol)


@pytest.mark.parametrize("chunk_size", [1, 64, 1024])
def test_correct_counts_argmax_hits_on_valid_rows(chunk_size):
    hidden, weight, targets = make_inputs()
    bias = torch.randn(V, generator=torch.Generator().manual_seed(6))
    pred = F.linear(hidden, weight, bias).argmax(-1)
    targets = torch.where(torch.rand(B, T, generator=torch.Generator().manual_seed(7)) < 0.5, pred, targets)
    targets[0, :5] = IGNORE  # ignored rows never count, even where their "label" would match
    expected = reference_correct(hidden, weight, bias, targets)
    assert 0.3 * B * T < expected < B * T
    loss, correct = linear_cross_entropy(hidden, weight, targets, chunk_size=chunk_size, bias=bias, return_correct=True)
    assert correct.dtype == torch.long and not correct.requires_grad
    assert correct.item() == expected
    torch.testing.assert_close(loss, reference_with_bias(hidden, weight, bias, targets))


def test_correct_breaks_ties_as_argmax_does():
    """All logits equal (zero weight and bias): argmax is index 0, so only targets 0 count, not every row."""
    hidden, weight, targets = make_inputs(ignore_frac=0.0)
    targets[:, :3] = 0
    zeros = torch.zeros_like(weight)
    _, correct = linear_cross_entropy(hidden, zeros, targets, chunk_size=64, bias=torch.zeros(V), return_correct=True)
    assert correct.item() == reference_correct(hidden, zeros, torch.zeros(V), targets) == (targets == 0).sum().item()


def test_bias_gradient_accumulates_and_no_grad_counts():
    hidden, weight, targets = make_inputs(torch.float64)
    bias = torch.randn(V, dtype=torch.float64, generator=torch.Generator().manual_seed(8))
    b_ref, b = bias.clone().requires_grad_(), bias.clone().requires_grad_()
    for _ in range(2):  # two backward passes add up in .grad
        reference_with_bias(hidden, weight, b_ref, targets).backward()
        linear_cross_entropy(hidden, weight, targets, chunk_size=64, bias=b).backward()
    torch.testing.assert_close(b.grad, b_ref.grad, rtol=1e-10, atol=1e-12)
    with torch.no_grad():  # evaluation: the count without any gradient work
        loss, correct = linear_cross_entropy(hidden, weight, targets, bias=b, return_correct=True)
    assert not loss.requires_grad
    assert correct.item() == reference_correct(hidden, weight, bias, targets)


def test_autocast_bf16_with_bias_matches_autocast_reference():
    hidden, weight, targets = make_inputs()
    weight = weight * D**0.5
    bias = torch.randn(V, generator=torch.Generator().manual_seed(9))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ref = reference_with_bias(hidden, weight, bias, targets)
        out, correct = linear_cross_entropy(hidden, weight, targets, chunk_size=64, bias=bias, return_correct=True)
        pred = F.linear(hidden, weight, bias).float().argmax(-1)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=0)  # the same bf16 matmul (bias included), fp32 softmax
    assert correct.item() == ((pred == targets) & (targets != IGNORE)).sum().item()


def test_under_bf16_autocast_every_gemm_runs_in_bf16_as_autocast_runs_the_unfused_linear():
    # forward logits, grad_hidden and grad_weight of every chunk: a float32 GEMM costs 4x a bf16 one on
    # CPUs with bf16 units, and the unfused F.linear under autocast runs all three in bf16 too
    hidden, weight, targets = make_inputs()
    bias = torch.randn(V, generator=torch.Generator().manual_seed(3))
    h, w, b = (x.clone().requires_grad_() for x in (hidden, weight, bias))
    with GemmDtypes() as rec, torch.autocast("cpu", dtype=torch.bfloat16):
        linear_cross_entropy(h, w, targets, chunk_size=64, bias=b).backward()
    n_chunks = -(-B * T // 64)
    assert rec.dtypes == [torch.bfloat16] * (3 * n_chunks)
    assert w.grad.dtype == b.grad.dtype == h.grad.dtype == torch.float32
    with GemmDtypes() as rec:  # float32 inputs: float32 GEMMs, nothing cast down
        linear_cross_entropy(hidden.requires_grad_(), weight.requires_grad_(), targets, chunk_size=64).backward()
    assert rec.dtypes == [torch.float32] * (3 * n_chunks)
