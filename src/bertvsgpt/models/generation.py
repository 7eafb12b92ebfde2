"""Greedy and beam-search decoding over any model that exposes a one-token ``step``.

The search does not know the model: the caller runs the prompt (filling its KV cache), passes
the resulting next-token logits, and two callbacks: ``step(ids)`` feeds the ``(N, 1)`` tokens
just chosen and returns the ``(N, V)`` logits for the token after them; ``reorder(index)``
makes row ``i`` of the model's state (cache, masks, positions) a copy of row ``index[i]``.
The ``N = B * num_beams`` rows hold each example's beams next to each other, all running the
example's prompt (the caller repeats each prompt ``num_beams`` times).

Beam search (e.g. Sutskever et al., 2014, §3.2; Wu et al., 2016, §7) keeps the ``num_beams``
highest-scoring continuations (sum of token log-probabilities). A beam that has produced the end
token stays in the beam with its score frozen (its only continuation is another end token at
no cost). The best of the final beams is picked by the length-normalised score
``score / length ** length_penalty`` (length counted up to and including the end token).
``num_beams=1`` is greedy decoding.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F


def beam_search(
    first_logits: torch.Tensor,
    step: Callable[[torch.Tensor], torch.Tensor],
    reorder: Callable[[torch.Tensor], None],
    num_beams: int,
    max_new_tokens: int,
    eos_token_id: int,
    length_penalty: float = 1.0,
) -> torch.Tensor:
    """Decode up to ``max_new_tokens`` tokens per example.

    Args:
        first_logits: ``(B * num_beams, V)`` next-token logits after each (repeated) prompt.
        step, reorder: the model callbacks described in the module docstring.

    Returns:
        ``(B, L)`` long, ``L <= max_new_tokens``: the best sequence of each example; a
        sequence that ended has its end token followed by end tokens (padding).
    """
    if num_beams < 1:
        raise ValueError(f"num_beams={num_beams} must be >= 1")
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens={max_new_tokens} must be >= 1")
    N, V = first_logits.shape
    if N % num_beams != 0:
        raise ValueError(f"{N} rows are not a whole number of groups of num_beams={num_beams}")
    if num_beams > V:
        raise ValueError(f"num_beams={num_beams} exceeds the vocabulary size {V}")
    B, K = N // num_beams, num_beams
    device = first_logits.device

    scores = torch.zeros(B, K, device=device)
    scores[:, 1:] = float("-inf")  # at first all beams of an example are the same prompt: keep one
    tokens = torch.empty(N, 0, dtype=torch.long, device=device)
    finished = torch.zeros(N, dtype=torch.bool, device=device)
    lengths = torch.zeros(N, device=device)
    group_start = torch.arange(B, device=device)[:, None] * K  # (B, 1) first row of each example

    logits = first_logits
    for t in range(max_new_tokens):
        if t > 0:
            if K > 1:
                reorder(rows)
            logits = step(tokens[:, -1:])
        logp = F.log_softmax(logits.float(), dim=-1)
        logp[finished] = float("-inf")  # a finished beam may only repeat the end token, at no cost
        logp[finished, eos_token_id] = 0.0
        candidates = (scores.view(N, 1) + logp).view(B, K * V)
        scores, flat = candidates.topk(K, dim=-1)  # (B, K)
        rows = (group_start + flat // V).view(-1)  # the beam each winner continues
        new_tok = (flat % V).view(-1, 1)
        tokens = torch.cat([tokens[rows], new_tok], dim=1)
        lengths = lengths[rows] + (~finished[rows]).float()
        finished = finished[rows] | (new_tok.squeeze(1) == eos_token_id)
        if bool(finished.all()):
            break

    normalised = scores.view(N) / lengths.clamp(min=1.0) ** length_penalty
    best = group_start.squeeze(1) + normalised.view(B, K).argmax(dim=-1)
    return tokens[best]
