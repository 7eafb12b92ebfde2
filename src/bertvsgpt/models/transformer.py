"""The Transformer backbone shared by BERT and GPT (nanoGPT-style).

Both BERT (Devlin et al., 2019) and GPT-1 (Radford et al., 2018) use the
*post*-LayerNorm block of the original Transformer (Vaswani et al., 2017):

    x = LayerNorm(x + Attention(x))
    x = LayerNorm(x + MLP(x))

with a GELU feed-forward network and learned absolute position embeddings.
BERT additionally has a segment (token type) table and a LayerNorm + dropout
on the summed embeddings. To keep the comparison controlled the embedding
LayerNorm is used for both models; GPT simply has no segment table
(``type_vocab_size=0``) and uses a causal attention mask.

``ModelConfig.norm = "pre"`` switches every block to the pre-LN form of GPT-2 (Radford et
al., 2019) and Xiong et al. (2020), ``x = x + Attention(LN(x)); x = x + MLP(LN(x))``, with a
final LayerNorm and none on the embeddings. Post-LN is what the papers used; pre-LN is what
leaves the unigram plateau within a CPU-sized budget (see README, "Known limits").

Weights are initialised from N(0, 0.02) with zero biases, as in both papers.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from .attention import KVCache, LayerKV, MultiHeadSelfAttention, make_attention_mask
from .config import ModelConfig


class Embeddings(nn.Module):
    """Token + learned position (+ optional segment) embeddings, LayerNorm (``config.normalises_embeddings``), dropout."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.d_model)
        self.position_embeddings = nn.Embedding(config.max_seq_len, config.d_model)
        self.token_type_embeddings: Optional[nn.Embedding] = (
            nn.Embedding(config.type_vocab_size, config.d_model) if config.type_vocab_size > 0 else None
        )
        self.LayerNorm = (
            nn.LayerNorm(config.d_model, eps=config.layer_norm_eps) if config.normalises_embeddings else nn.Identity()
        )
        self.dropout = nn.Dropout(config.dropout)

    def forward(
        self,
        input_ids: torch.Tensor,
        token_type_ids: Optional[torch.Tensor] = None,
        position_ids: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """``position_ids`` (``(T,)`` or ``(B, T)``, each ``< max_seq_len``) default to ``0 .. T-1``."""
        if position_ids is None:
            T = input_ids.size(1)
            if T > self.position_embeddings.num_embeddings:
                raise ValueError(
                    f"sequence length {T} exceeds max_seq_len={self.position_embeddings.num_embeddings}"
                )
            position_ids = torch.arange(T, device=input_ids.device)
        x = self.word_embeddings(input_ids) + self.position_embeddings(position_ids)
        if self.token_type_embeddings is not None:
            if token_type_ids is None:
                token_type_ids = torch.zeros_like(input_ids)
            x = x + self.token_type_embeddings(token_type_ids)
        elif token_type_ids is not None:
            raise ValueError("token_type_ids given but the model has no segment table (type_vocab_size=0)")
        return self.dropout(self.LayerNorm(x))


def gelu(config: ModelConfig) -> nn.GELU:
    """The GELU of ``config.activation``: exact (erf), or its tanh approximation."""
    return nn.GELU(approximate="tanh" if config.activation == "gelu_tanh" else "none")


class MLP(nn.Module):
    """Position-wise feed-forward network: Linear -> GELU -> Linear -> dropout."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.c_fc = nn.Linear(config.d_model, config.d_ff)
        self.gelu = gelu(config)
        self.c_proj = nn.Linear(config.d_ff, config.d_model)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    """Post-LayerNorm Transformer block (Vaswani et al., 2017; BERT; GPT-1), or pre-LN (GPT-2)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.pre_ln = config.norm == "pre"
        self.attn = MultiHeadSelfAttention(config)
        self.ln_1 = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.mlp = MLP(config)
        self.ln_2 = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)

    def forward(
        self, x: torch.Tensor, attn_mask: Optional[torch.Tensor] = None, cache: Optional[LayerKV] = None
    ) -> torch.Tensor:
        if self.pre_ln:
            x = x + self.attn(self.ln_1(x), attn_mask, cache)
            return x + self.mlp(self.ln_2(x))
        x = self.ln_1(x + self.attn(x, attn_mask, cache))
        x = self.ln_2(x + self.mlp(x))
        return x


def init_weights(module: nn.Module, std: float = 0.02) -> None:
    """BERT/GPT initialisation: N(0, std) weights, zero biases, LayerNorm = identity."""
    if isinstance(module, nn.Linear):
        nn.init.normal_(module.weight, mean=0.0, std=std)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Embedding):
        nn.init.normal_(module.weight, mean=0.0, std=std)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


class Transformer(nn.Module):
    """Embeddings followed by ``n_layer`` blocks (and, pre-LN, a final LayerNorm); returns hidden states."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        config.validate()
        self.config = config
        self.embeddings = Embeddings(config)
        self.h = nn.ModuleList([Block(config) for _ in range(config.n_layer)])
        self.ln_f = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps) if config.norm == "pre" else nn.Identity()
        self.apply(init_weights)

    def forward(
        self,
        input_ids: torch.Tensor,
        token_type_ids: Optional[torch.Tensor] = None,
        attention_mask: Optional[torch.Tensor] = None,
        position_ids: Optional[torch.Tensor] = None,
        cache: Optional[KVCache] = None,
    ) -> torch.Tensor:
        """Args:
            input_ids: ``(B, T)`` long.
            token_type_ids: ``(B, T)`` segment ids (BERT only), default zeros.
            attention_mask: ``(B, T)``, 1 for real tokens, 0 for padding. ``None``
                means no padding (and lets SDPA use its fastest kernels). With a
                ``cache`` it covers the cached positions too: ``(B, len(cache) + T)``.
            position_ids: ``(B, T)`` or ``(T,)``; default ``len(cache) + 0 .. T-1``
                (rows whose prompt is left-padded pass their own positions).
            cache: a :class:`KVCache` (generation only): ``input_ids`` are the
                positions after the cached ones, and their keys/values are added.

        Returns:
            hidden states ``(B, T, d_model)``.
        """
        T = input_ids.size(1)
        past = 0 if cache is None else len(cache)
        if position_ids is None and past:
            if past + T > self.config.max_seq_len:
                raise ValueError(f"sequence length {past + T} exceeds max_seq_len={self.config.max_seq_len}")
            position_ids = torch.arange(past, past + T, device=input_ids.device)
        x = self.embeddings(input_ids, token_type_ids, position_ids)
        attn_mask = None
        if attention_mask is not None:
            if attention_mask.size(1) != past + T:
                raise ValueError(f"attention_mask covers {attention_mask.size(1)} positions, expected {past + T}")
            attn_mask = make_attention_mask(attention_mask, self.config.causal, n_queries=T)
        for i, block in enumerate(self.h):
            x = block(x, attn_mask, None if cache is None else cache[i])
        return self.ln_f(x)

    def num_parameters(self, non_embedding: bool = True) -> int:
        """Parameter count; with ``non_embedding`` the token, position and segment
        tables are excluded (the "N" of Kaplan et al., 2020)."""
        n = sum(p.numel() for p in self.parameters())
        if non_embedding:
            n -= sum(p.numel() for name, p in self.embeddings.named_parameters() if "embeddings" in name)
        return n
