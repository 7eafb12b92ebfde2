"""benchmarks/loss_breakdown.py: the fused loss, its GEMMs alone and a compiled softmax, on a tiny shape."""

import torch

from benchmarks import loss_breakdown


def test_compiled_softmax_loss_equals_cross_entropy_and_its_gradients():
    g = torch.Generator().manual_seed(1)
    hidden, weight = torch.randn(10, 8, generator=g), torch.randn(16, 8, generator=g)
    targets = torch.randint(0, 16, (10,), generator=g)
    loss, grad_h, grad_w = loss_breakdown.compiled_softmax_loss(hidden, weight, targets, chunk=4)  # 4 + 4 + 2 rows
    h, w = hidden.clone().requires_grad_(), weight.clone().requires_grad_()
    expected = torch.nn.functional.cross_entropy(h @ w.T, targets)
    expected.backward()
    torch.testing.assert_close(loss, expected.detach())
    torch.testing.assert_close(grad_h, h.grad)
    torch.testing.assert_close(grad_w, w.grad)


def test_breakdown_times_each_part_at_each_chunk_size(capsys):
    r = loss_breakdown.breakdown(rows=64, d=16, vocab=128, dtype=torch.float32, chunks=[32, 64], repeats=2)
    assert r["fused_ms"] > 0 and r["compiled_softmax_ms"] > 0
    assert set(r["gemms_ms"]) == {32, 64} and all(ms > 0 for ms in r["gemms_ms"].values())
    assert r["gemm_gflop"] == 3 * 2 * 64 * 16 * 128 / 1e9
    assert loss_breakdown.main(["--rows", "64", "--d-model", "16", "--vocab", "128", "--chunks", "32", "--repeats", "1", "--dtype", "fp32"]) == 0
    out = capsys.readouterr().out
    assert "fused loss" in out and "32-row chunks" in out and "softmax + gradient compiled" in out
