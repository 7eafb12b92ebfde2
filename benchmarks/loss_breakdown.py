"""Where GPT's fused vocabulary loss spends its time: its GEMMs against the rest, and a compiled alternative.

``bertvsgpt.models.loss.linear_cross_entropy`` (forward + backward, as the training step runs it under
autocast) is timed at the pre-training shape (``batch x seq_len`` rows, ``d_model`` -> vocabulary), beside:

- ``gemms``: its three vocabulary GEMMs alone (logits, input gradient, weight gradient) chunk by chunk, in
  the autocast dtype, at each of ``--chunks`` row counts: the loss's floor;
- ``compiled softmax``: the same chunked loop with the softmax, its gradient and the cast back to the GEMMs'
  dtype compiled into one inductor kernel per chunk (``torch.compile``), the GEMMs unchanged; its loss and
  gradients are checked against the fused loss's before timing.

    python -m benchmarks.loss_breakdown                  # params.yaml's shape, the stage's dtype
    python -m benchmarks.loss_breakdown --dtype fp32 --chunks 256 1024
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import time
from typing import Any, Callable, Optional, Sequence

import torch
import torch.nn.functional as F

from benchmarks.pretrain_throughput import resolve_dtype
from bertvsgpt.allocator import keep_freed_memory
from bertvsgpt.config import load_params
from bertvsgpt.models.loss import linear_cross_entropy


def median_ms(fn: Callable[[], Any], repeats: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(1000 * (time.perf_counter() - t0))
    return statistics.median(times)


def _softmax_grad(logits: torch.Tensor, targets: torch.Tensor, scale: torch.Tensor):
    """One chunk: its loss terms and ``(softmax - onehot) * scale`` in the logits' dtype, one fused kernel."""
    x = logits.float()
    m = x.amax(1, keepdim=True)
    e = (x - m).exp()
    s = e.sum(1, keepdim=True)
    grad = e * (scale[:, None] / s) - F.one_hot(targets, x.shape[1]).to(x.dtype) * scale[:, None]
    return grad.to(logits.dtype), (s.log() + m).squeeze(1) - x.gather(1, targets[:, None]).squeeze(1)


@functools.cache
def _compiled_softmax_grad():
    """``_softmax_grad`` through inductor, built on first use (not at import: that loads ``torch._dynamo``)."""
    return torch.compile(_softmax_grad, dynamic=False)


def compiled_softmax_loss(hidden: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor, chunk: int):
    """Mean cross-entropy and its gradients (hidden, weight), the softmax compiled; every target valid."""
    n = hidden.shape[0]
    scale = torch.full((chunk,), 1.0 / n)
    grad_h, grad_w = torch.empty_like(hidden), torch.zeros(weight.shape)
    logits = hidden.new_empty((chunk, weight.shape[0]))
    loss = torch.zeros(())
    for i in range(0, n, chunk):
        h, t = hidden[i : i + chunk], targets[i : i + chunk]
        torch.mm(h, weight.T, out=logits[: len(h)])
        g, terms = _compiled_softmax_grad()(logits[: len(h)], t, scale[: len(h)])
        loss += terms.sum()
        torch.mm(g, weight, out=grad_h[i : i + chunk])
        grad_w += torch.mm(g.T, h).float()
    return loss / n, grad_h, grad_w


def breakdown(rows: int, d: int, vocab: int, dtype: torch.dtype, chunks: Sequence[int], repeats: int) -> dict[str, Any]:
    g = torch.Generator().manual_seed(0)
    hidden = torch.randn(rows, d, generator=g).requires_grad_()
    weight = (0.02 * torch.randn(vocab, d, generator=g)).requires_grad_()
    targets = torch.randint(0, vocab, (rows,), generator=g)
    amp = torch.autocast("cpu", dtype=dtype, enabled=dtype != torch.float32)

    def fused():
        with amp:
            loss = linear_cross_entropy(hidden, weight, targets)
        loss.backward()
        hidden.grad = weight.grad = None
        return loss

    with amp:
        reference = linear_cross_entropy(hidden, weight, targets)
    reference.backward()
    ref_h, ref_w = hidden.grad.clone(), weight.grad.clone()
    hidden.grad = weight.grad = None
    h_low, w_low = hidden.detach().to(dtype), weight.detach().to(dtype)
    with torch.no_grad():
        loss, grad_h, grad_w = compiled_softmax_loss(h_low, w_low, targets, chunks[0])
    # the alternative computes the same thing (up to the GEMMs' rounding) before it is timed
    torch.testing.assert_close(loss, reference.detach(), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(grad_h.float(), ref_h, rtol=2e-2, atol=1e-6)
    torch.testing.assert_close(grad_w, ref_w, rtol=2e-2, atol=1e-5)

    def gemms(chunk: int) -> Callable[[], None]:
        logits, gw = h_low.new_empty((chunk, vocab)), w_low.new_empty(w_low.shape)
        gh = torch.empty_like(h_low)

        def run() -> None:
            for i in range(0, rows, chunk):
                h = h_low[i : i + chunk]
                torch.mm(h, w_low.T, out=logits[: len(h)])
                torch.mm(logits[: len(h)], w_low, out=gh[i : i + chunk])
                torch.mm(logits[: len(h)].T, h, out=gw)

        return run

    out = {  # the GEMMs and the compiled loop run on detached tensors: no autograd there
        "fused_ms": median_ms(fused, repeats),
        "gemms_ms": {c: median_ms(gemms(c), repeats) for c in chunks},
        "compiled_softmax_ms": median_ms(lambda: compiled_softmax_loss(h_low, w_low, targets, chunks[0]), repeats),
    }
    out["gemm_gflop"] = 3 * 2 * rows * d * vocab / 1e9
    return out


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dtype", default="auto", help="auto (what the stage picks), fp32 or bf16")
    ap.add_argument("--rows", type=int, help="rows (default: pretrain.batch_size x pretrain.seq_len)")
    ap.add_argument("--d-model", type=int, help="hidden size (model.d_model)")
    ap.add_argument("--vocab", type=int, help="vocabulary (tokenizer.vocab_size)")
    ap.add_argument("--chunks", type=int, nargs="+", default=[256, 1024, 4096], help="chunk sizes for the GEMMs")
    ap.add_argument("--repeats", type=int, default=15)
    args = ap.parse_args(argv)
    p = load_params()
    rows = args.rows or p.pretrain.batch_size * p.pretrain.seq_len
    d, vocab = args.d_model or p.model.d_model, args.vocab or p.tokenizer.vocab_size
    try:
        _, dtype = resolve_dtype(args.dtype)  # as the bench reads --dtype
    except ValueError as exc:
        ap.error(str(exc))
    keep_freed_memory()  # as the stages and the bench do
    r = breakdown(rows, d, vocab, dtype, args.chunks, args.repeats)
    name = str(dtype).removeprefix("torch.")
    print(f"GPT's vocabulary loss, {rows} rows, d {d} -> {vocab}, {name}, forward + backward (median of {args.repeats})")
    print(f"  fused loss (models/loss.py, 256-row chunks)      {r['fused_ms']:8.1f} ms")
    for c, ms in r["gemms_ms"].items():
        print(f"  its 3 GEMMs alone, {c:>5}-row chunks           {ms:8.1f} ms  ({r['gemm_gflop'] / ms * 1000:.0f} GFLOP/s)")
    print(f"  softmax + gradient compiled, {args.chunks[0]}-row chunks   {r['compiled_softmax_ms']:8.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
