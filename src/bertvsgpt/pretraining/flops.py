"""Compute accounting for a fair BERT-vs-GPT comparison.

Training FLOPs per token follow Kaplan et al., 2020 ("Scaling Laws for Neural
Language Models", Table 1) and Chowdhery et al., 2022 (PaLM, Appendix B):

    flops_per_token = 6 * N + 12 * n_layer * d_model * seq_len

where ``N`` is the number of non-embedding parameters (2N multiply-adds
forward, 4N backward) and the second term is the attention score/value
matmuls (``2 * n_layer * seq_len * d_model`` forward, times 3 for
forward + backward). The causal mask is not credited (as in PaLM's MFU).
"""

from __future__ import annotations

import time
from typing import Union

import torch


def flops_per_token(n_params_non_embedding: int, n_layer: int, d_model: int, seq_len: int) -> int:
    """Training (forward + backward) FLOPs per token: ``6N + 12 L d T``."""
    return int(6 * n_params_non_embedding + 12 * n_layer * d_model * seq_len)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure_matmul_peak_flops(
    dtype: torch.dtype = torch.float32,
    device: Union[str, torch.device] = "cpu",
    n: int = 1024,
    iters: int = 20,
    max_seconds: float = 1.0,
) -> float:
    """Achievable matmul throughput (FLOP/s) of ``n x n @ n x n`` in ``dtype``.

    One warm-up matmul, then up to ``iters`` timed ones, stopping early once
    ``max_seconds`` have elapsed (so a slow dtype on CPU stays cheap). Useful
    as the denominator of model-FLOPs utilisation when the device's
    datasheet peak is unknown.
    """
    device = torch.device(device)
    a = torch.randn(n, n).to(device=device, dtype=dtype)
    b = torch.randn(n, n).to(device=device, dtype=dtype)
    torch.mm(a, b)  # warm-up (kernel selection, lazy init)
    _sync(device)
    done = 0
    t0 = time.perf_counter()
    elapsed = 0.0
    while done < max(iters, 1):
        torch.mm(a, b)
        done += 1
        _sync(device)
        elapsed = time.perf_counter() - t0
        if elapsed >= max_seconds:
            break
    return 2.0 * n**3 * done / max(elapsed, 1e-9)


def output_projection_params(arch: str, vocab_size: int, d_model: int, seq_len: int, masked_per_seq: int = 0) -> float:
    """Parameters of the vocabulary projection that each token position pays for, to add to ``N``.

    Kaplan's ``N`` leaves out embeddings, but a tied LM head is a real ``d_model x vocab`` matmul:
    GPT runs it at every position; BERT runs its MLM head (a ``d x d`` transform plus the tied
    projection) only at the ``masked_per_seq`` selected positions of each ``seq_len`` sequence.
    Counting it keeps MFU honest and the two objectives' FLOPs comparable.
    """
    if arch == "gpt":
        return float(vocab_size * d_model)
    return (vocab_size * d_model + d_model * d_model) * masked_per_seq / seq_len
