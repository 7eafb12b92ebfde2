"""A Transformer decoder with cross-attention, for generating text from an encoder's states.

Vaswani et al., 2017, §3.1: each decoder block is causal self-attention, then attention over
the encoder's output ("encoder-decoder attention"), then the position-wise MLP, each sub-layer
wrapped as ``LayerNorm(x + Sublayer(x))`` (post-LN, like the shared backbone). It is used to
turn the bidirectional BERT encoder into a sequence-to-sequence model, as "BERT2RND" in Rothe et
al., 2020 ("Leveraging Pre-trained Checkpoints for Sequence Generation Tasks", TACL): the encoder
is pre-trained, the decoder blocks randomly initialised. The decoder embeds its tokens with the
encoder's own embedding layer (word + position tables, LayerNorm), so targets are read exactly
as the pre-trained model reads text, and its output projection is the same word-embedding
matrix (tied, as in Vaswani et al., 2017, §3.4). Sharing the position table also puts source and
target positions in one basis: with a separate random table our small test models were much
slower to learn to align the two sides.

For generation a :class:`~bertvsgpt.models.attention.KVCache` holds the self-attention keys and
values of the tokens generated so far and, per layer, the cross-attention keys/values of the
encoder states (computed on the first call, then reused).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from .attention import KVCache, LayerKV, MultiHeadSelfAttention
from .config import ModelConfig
from .transformer import MLP, Embeddings, init_weights


class CrossAttention(nn.Module):
    """Multi-head attention from the decoder's positions (queries) to the encoder states (keys/values)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.n_head = config.n_head
        self.d_model = config.d_model
        self.dropout = config.dropout
        self.q_proj = nn.Linear(config.d_model, config.d_model)
        self.c_kv = nn.Linear(config.d_model, 2 * config.d_model)  # fused keys and values
        self.c_proj = nn.Linear(config.d_model, config.d_model)
        self.resid_dropout = nn.Dropout(config.dropout)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        return x.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, n_head, T, head_dim)

    def memory_kv(self, memory: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Keys and values of the encoder states ``(B, S, d_model)``, each ``(B, n_head, S, head_dim)``."""
        k, v = self.c_kv(memory).split(self.d_model, dim=2)
        return self._heads(k), self._heads(v)

    def forward(
        self,
        x: torch.Tensor,
        memory: torch.Tensor,
        memory_mask: Optional[torch.Tensor] = None,
        cache: Optional[LayerKV] = None,
    ) -> torch.Tensor:
        """Args:
            x: ``(B, T, d_model)`` decoder states.
            memory: ``(B, S, d_model)`` encoder states.
            memory_mask: ``(B, S)``, 1 = real source token, 0 = padding (never attended).
            cache: reuse (or, on the first call, store) the keys/values of ``memory``.
        """
        B, T, C = x.shape
        if cache is not None and cache.memory is not None:
            k, v = cache.memory
        else:
            k, v = self.memory_kv(memory)
            if cache is not None:
                cache.memory = (k, v)
        q = self._heads(self.q_proj(x))
        attn_mask = None if memory_mask is None else memory_mask.to(torch.bool)[:, None, None, :]  # (B, 1, 1, S)
        dropout_p = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, dropout_p=dropout_p)
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_dropout(self.c_proj(y))


class DecoderBlock(nn.Module):
    """Post-LN decoder block: causal self-attention, cross-attention, MLP (Vaswani et al., 2017, §3.1)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.attn = MultiHeadSelfAttention(config)  # config.causal is True
        self.ln_1 = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.cross_attn = CrossAttention(config)
        self.ln_2 = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.mlp = MLP(config)
        self.ln_3 = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)

    def forward(
        self,
        x: torch.Tensor,
        memory: torch.Tensor,
        memory_mask: Optional[torch.Tensor] = None,
        cache: Optional[LayerKV] = None,
    ) -> torch.Tensor:
        x = self.ln_1(x + self.attn(x, None, cache))
        x = self.ln_2(x + self.cross_attn(x, memory, memory_mask, cache))
        x = self.ln_3(x + self.mlp(x))
        return x


class TransformerDecoder(nn.Module):
    """The encoder's embedding layer + ``n_layer`` decoder blocks + the tied output projection.

    Target sequences are right-padded; the causal mask alone keeps every real position from
    seeing the padding after it, so no target padding mask is needed (padded positions must be
    ignored by the loss).
    """

    def __init__(self, config: ModelConfig, n_layer: int, embeddings: Embeddings) -> None:
        super().__init__()
        if n_layer <= 0:
            raise ValueError(f"decoder n_layer={n_layer} must be > 0")
        word = embeddings.word_embeddings.weight
        if word.shape != (config.vocab_size, config.d_model):
            raise ValueError(
                f"embeddings of shape {tuple(word.shape)} do not match "
                f"(vocab_size={config.vocab_size}, d_model={config.d_model})"
            )
        self.config = replace(config, n_layer=n_layer, causal=True, type_vocab_size=0).validate()
        self.h = nn.ModuleList([DecoderBlock(self.config) for _ in range(n_layer)])
        self.h.apply(init_weights)
        self.embeddings = embeddings  # the encoder's (shared, already initialised)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.lm_head.weight = word  # tied output projection

    def forward(
        self,
        input_ids: torch.Tensor,
        memory: torch.Tensor,
        memory_mask: Optional[torch.Tensor] = None,
        cache: Optional[KVCache] = None,
    ) -> torch.Tensor:
        """Args:
            input_ids: ``(B, T)`` target-side tokens (with a cache: the positions after the cached ones).
            memory: ``(B, S, d_model)`` encoder states; ``memory_mask`` ``(B, S)`` its padding mask.
            cache: a :class:`KVCache` with ``n_layer`` layers (generation only).

        Returns:
            ``(B, T, vocab_size)`` next-token logits.
        """
        past = 0 if cache is None else len(cache)
        if past + input_ids.size(1) > self.config.max_seq_len:
            raise ValueError(f"target length {past + input_ids.size(1)} exceeds max_seq_len={self.config.max_seq_len}")
        pos = torch.arange(past, past + input_ids.size(1), device=input_ids.device)
        x = self.embeddings(input_ids, position_ids=pos)  # segment 0 if the table has segments
        for i, block in enumerate(self.h):
            x = block(x, memory, memory_mask, None if cache is None else cache[i])
        return self.lm_head(x)

    def new_cache(self) -> KVCache:
        return KVCache(len(self.h))
