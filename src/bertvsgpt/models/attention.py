"""Multi-head scaled dot-product self-attention (Vaswani et al., 2017, §3.2).

BERT attends bidirectionally (every token sees every non-padding token);
GPT is a left-to-right language model, so token ``t`` only sees tokens
``<= t`` (Radford et al., 2018, §3.1). Both cases go through
``torch.nn.functional.scaled_dot_product_attention`` which picks a fused
kernel (FlashAttention when no explicit mask is given).

For generation a :class:`KVCache` keeps every layer's keys and values of the positions
already processed, so each new token costs one query against the cached keys instead of
re-running the whole prefix (the standard incremental decoding of Vaswani et al., 2017, §3.2;
nothing changes when no cache is passed, as in training).
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from .config import ModelConfig


def make_attention_mask(
    attention_mask: torch.Tensor, causal: bool, n_queries: Optional[int] = None
) -> torch.Tensor:
    """Turn a ``(B, T)`` key-padding mask (1 = real token, 0 = padding) into the
    boolean ``(B, 1, T_q, T)`` mask expected by SDPA (``True`` = may attend).

    The queries are the last ``T_q = n_queries`` positions (default all ``T``);
    fewer queries than keys happens with a :class:`KVCache`, where the keys
    also cover the cached positions. With ``causal=True`` the lower-triangular
    constraint (query at position ``p`` sees keys ``<= p``) is combined with
    the padding one. Every query may always attend to itself so that rows
    belonging to padding positions never become fully masked (which would
    produce NaNs); outputs at padding positions are meaningless and must be
    ignored by the caller anyway.
    """
    if attention_mask.dim() != 2:
        raise ValueError(f"attention_mask must be (B, T), got shape {tuple(attention_mask.shape)}")
    T = attention_mask.size(1)
    T_q = T if n_queries is None else n_queries
    if not 0 < T_q <= T:
        raise ValueError(f"n_queries={n_queries} must be in [1, {T}]")
    device = attention_mask.device
    q_pos = torch.arange(T - T_q, T, device=device)[:, None]  # (T_q, 1) absolute query positions
    k_pos = torch.arange(T, device=device)[None, :]  # (1, T)
    keys = attention_mask.to(torch.bool)[:, None, None, :]  # (B, 1, 1, T)
    mask = keys | (k_pos == q_pos)  # (B, 1, T_q, T)
    if causal:
        mask = mask & (k_pos <= q_pos)
    return mask


def attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    attn_mask: Optional[torch.Tensor],
    is_causal: bool,
    dropout_p: float,
) -> torch.Tensor:
    """``softmax(q k^T / sqrt(head_dim) + mask) v`` (Vaswani et al., 2017, eq. 1), with dropout on the weights.

    ``F.scaled_dot_product_attention`` (a fused kernel) everywhere except bf16/fp16 on CPU: there its
    flash kernel's backward is slow (B 32, 2 heads, T 128, head_dim 64: forward + backward 14.5 ms
    against 8.4 in fp32) and its math kernel upcasts to float32 GEMMs (10.0 ms), so the two GEMMs run
    here in the input dtype around a float32 softmax, as autocast runs them elsewhere (6.9 ms;
    ``make bench``, README "Measured").
    """
    if not (q.device.type == "cpu" and q.dtype in (torch.bfloat16, torch.float16)):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, dropout_p=dropout_p, is_causal=is_causal)
    # the scale on q, the smaller operand (exact in bf16 when head_dim is a power of 4, as 64 is)
    scores = ((q * q.size(-1) ** -0.5) @ k.transpose(-2, -1)).float()  # (B, n_head, T_q, T_k)
    if is_causal:
        T_q, T_k = scores.shape[-2:]
        causal = torch.ones(T_q, T_k, dtype=torch.bool, device=q.device).tril()
        scores = scores.masked_fill(~causal, float("-inf"))
    elif attn_mask is not None and not bool(attn_mask.all()):  # an all-true (padding-free) mask changes nothing
        scores = scores.masked_fill(~attn_mask, float("-inf"))
    weights = F.dropout(scores.softmax(-1), dropout_p)
    return weights.to(q.dtype) @ v


class LayerKV:
    """One layer's cached keys and values, each ``(B, n_head, T_cached, head_dim)``.

    ``k``/``v`` grow by the new positions at every call of the self-attention.
    ``memory`` holds a decoder's cross-attention keys/values of the encoder
    states, computed once (they do not change while decoding).
    """

    def __init__(self) -> None:
        self.k: Optional[torch.Tensor] = None
        self.v: Optional[torch.Tensor] = None
        self.memory: Optional[tuple[torch.Tensor, torch.Tensor]] = None

    def append(self, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Add the new positions' ``k``, ``v``; return the keys/values of all positions."""
        if self.k is not None:
            k = torch.cat([self.k, k], dim=2)
            v = torch.cat([self.v, v], dim=2)
        self.k, self.v = k, v
        return k, v


class KVCache:
    """Keys and values of every layer for the positions processed so far (generation only).

    ``len(cache)`` is the number of cached positions, i.e. the position of the
    next token. :meth:`reorder` selects batch rows (beam search keeps the
    cache of the beams it continues).
    """

    def __init__(self, n_layer: int) -> None:
        self.layers = [LayerKV() for _ in range(n_layer)]

    def __len__(self) -> int:
        k = self.layers[0].k if self.layers else None
        return 0 if k is None else k.size(2)

    def __getitem__(self, i: int) -> LayerKV:
        return self.layers[i]

    def reorder(self, index: torch.Tensor) -> None:
        """Keep batch rows ``index`` (``(N,)`` long), in that order, in every layer."""
        for layer in self.layers:
            if layer.k is not None:
                layer.k, layer.v = layer.k[index], layer.v[index]  # type: ignore[index]
            if layer.memory is not None:
                layer.memory = (layer.memory[0][index], layer.memory[1][index])


class MultiHeadSelfAttention(nn.Module):
    """Fused-QKV multi-head self-attention.

    ``c_attn`` projects to queries, keys and values at once, ``c_proj`` is the
    output projection (names follow GPT-2 / nanoGPT).
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        if config.d_model % config.n_head != 0:
            raise ValueError(f"n_head={config.n_head} does not divide d_model={config.d_model}")
        self.n_head = config.n_head
        self.d_model = config.d_model
        self.causal = config.causal
        self.dropout = config.dropout
        self.c_attn = nn.Linear(config.d_model, 3 * config.d_model)
        self.c_proj = nn.Linear(config.d_model, config.d_model)
        self.resid_dropout = nn.Dropout(config.dropout)

    def forward(
        self, x: torch.Tensor, attn_mask: Optional[torch.Tensor] = None, cache: Optional[LayerKV] = None
    ) -> torch.Tensor:
        """Args:
            x: ``(B, T, d_model)``, the new positions.
            attn_mask: ``None`` (no padding), a ``(B, T_keys)`` key-padding mask
                (1 = real token) or a pre-built boolean ``(B, 1, T, T_keys)`` mask
                from :func:`make_attention_mask` (already causal if needed).
                ``T_keys`` is ``T`` plus the cached positions.
            cache: this layer's :class:`LayerKV`; the new keys/values are
                appended to it and the queries attend to all cached positions.
        """
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(self.d_model, dim=2)
        # (B, T, C) -> (B, n_head, T, head_dim)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        if cache is not None:
            k, v = cache.append(k, v)

        if attn_mask is not None and attn_mask.dim() == 2:
            attn_mask = make_attention_mask(attn_mask, self.causal, n_queries=T)
        is_causal = self.causal and attn_mask is None
        if is_causal and k.size(2) > T:
            # SDPA's is_causal aligns the triangle top-left; with cached keys the
            # queries are the *last* T positions, so build the shifted mask (a
            # single new query may simply see every key).
            is_causal = False
            if T > 1:
                attn_mask = make_attention_mask(x.new_ones(B, k.size(2), dtype=torch.bool), True, n_queries=T)
        dropout_p = self.dropout if self.training else 0.0
        y = attention(q, k, v, attn_mask, is_causal, dropout_p)
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_dropout(self.c_proj(y))
