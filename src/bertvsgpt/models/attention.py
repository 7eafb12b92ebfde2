"""Multi-head scaled dot-product self-attention (Vaswani et al., 2017, §3.2).

BERT attends bidirectionally (every token sees every non-padding token);
GPT is a left-to-right language model, so token ``t`` only sees tokens
``<= t`` (Radford et al., 2018, §3.1). Both cases go through
``torch.nn.functional.scaled_dot_product_attention`` which picks a fused
kernel (FlashAttention when no explicit mask is given).
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from .config import ModelConfig


def make_attention_mask(attention_mask: torch.Tensor, causal: bool) -> torch.Tensor:
    """Turn a ``(B, T)`` key-padding mask (1 = real token, 0 = padding) into the
    boolean ``(B, 1, T, T)`` mask expected by SDPA (``True`` = may attend).

    With ``causal=True`` the lower-triangular constraint is combined with the
    padding one. Every query may always attend to itself so that rows
    belonging to padding positions never become fully masked (which would
    produce NaNs); outputs at padding positions are meaningless and must be
    ignored by the caller anyway.
    """
    if attention_mask.dim() != 2:
        raise ValueError(f"attention_mask must be (B, T), got shape {tuple(attention_mask.shape)}")
    T = attention_mask.size(1)
    keys = attention_mask.to(torch.bool)[:, None, None, :]  # (B, 1, 1, T)
    eye = torch.eye(T, dtype=torch.bool, device=attention_mask.device)
    mask = keys | eye  # (B, 1, T, T)
    if causal:
        tril = torch.ones(T, T, dtype=torch.bool, device=attention_mask.device).tril()
        mask = mask & tril
    return mask


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

    def forward(self, x: torch.Tensor, attn_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Args:
            x: ``(B, T, d_model)``.
            attn_mask: ``None`` (no padding), a ``(B, T)`` key-padding mask
                (1 = real token) or a pre-built boolean ``(B, 1, T, T)`` mask
                from :func:`make_attention_mask` (already causal if needed).
        """
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(self.d_model, dim=2)
        # (B, T, C) -> (B, n_head, T, head_dim)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)

        if attn_mask is not None and attn_mask.dim() == 2:
            attn_mask = make_attention_mask(attn_mask, self.causal)
        dropout_p = self.dropout if self.training else 0.0
        if attn_mask is None:
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p, is_causal=self.causal)
        else:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, dropout_p=dropout_p)
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_dropout(self.c_proj(y))
