"""GPT pre-training model: left-to-right language modelling.

Radford et al., 2018, "Improving Language Understanding by Generative
Pre-Training", §3.1: a causal Transformer maximising
``sum_t log P(u_t | u_<t)``, with the output projection tied to the token
embedding matrix (``P(u) = softmax(h W_e^T)``).
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from .attention import KVCache
from .config import IGNORE_INDEX, ModelConfig
from .loss import linear_cross_entropy
from .transformer import Transformer



class GPTForPreTraining(nn.Module):
    """Causal Transformer + tied, bias-free LM head."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        if not config.causal:
            raise ValueError("causal=False is not valid for GPT (left-to-right LM)")
        if config.type_vocab_size != 0:
            raise ValueError(f"type_vocab_size={config.type_vocab_size} must be 0 for GPT (no segments)")
        self.config = config
        self.transformer = Transformer(config)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.lm_head.weight = self.transformer.embeddings.word_embeddings.weight  # weight tying

    def forward(
        self,
        input_ids: torch.Tensor,
        targets: Optional[torch.Tensor] = None,
        attention_mask: Optional[torch.Tensor] = None,
    ) -> dict[str, torch.Tensor]:
        """Args:
            input_ids: ``(B, T)``.
            targets: ``(B, T)`` next-token ids, already shifted by the caller
                (``targets[:, t] = input_ids[:, t + 1]``), ``-100`` = ignore.
            attention_mask: optional ``(B, T)`` padding mask (1 = real token).

        Returns:
            ``{"loss": ...}`` when ``targets`` is given, else ``{"logits": (B, T, V)}``.
        """
        hidden = self.transformer(input_ids, attention_mask=attention_mask)
        if targets is None:
            return {"logits": self.lm_head(hidden)}
        # = F.cross_entropy(self.lm_head(hidden).float(), targets), without the (B, T, V) logits
        return {"loss": linear_cross_entropy(hidden, self.lm_head.weight, targets, IGNORE_INDEX)}

    @torch.no_grad()
    def generate(
        self,
        idx: torch.Tensor,
        max_new_tokens: int,
        temperature: float = 1.0,
        top_k: Optional[int] = None,
        eos_token_id: Optional[int] = None,
        use_cache: bool = True,
    ) -> torch.Tensor:
        """Autoregressively extend ``idx`` ``(B, T)`` by up to ``max_new_tokens``.

        ``temperature <= 0`` means greedy decoding. Once a row has produced
        ``eos_token_id`` it is padded with that id; generation stops early when
        every row has finished. With ``use_cache`` each step feeds only the new
        token and attends to the cached keys/values; once the sequence outgrows
        ``max_seq_len`` positions the context window slides, so the (cropped)
        context is re-run every step from then on, exactly as without a cache.
        """
        finished = torch.zeros(idx.size(0), dtype=torch.bool, device=idx.device)
        cache = KVCache(self.config.n_layer) if use_cache else None
        context = idx[:, -self.config.max_seq_len :]  # what the next forward pass reads
        for _ in range(max_new_tokens):
            logits = self.lm_head(self.transformer(context, cache=cache)[:, -1, :]).float()
            if temperature <= 0:
                next_id = logits.argmax(-1, keepdim=True)
            else:
                logits = logits / temperature
                if top_k is not None:
                    kth = torch.topk(logits, min(top_k, logits.size(-1))).values[:, -1:]
                    logits = logits.masked_fill(logits < kth, float("-inf"))
                next_id = torch.multinomial(F.softmax(logits, dim=-1), num_samples=1)
            if eos_token_id is not None:
                next_id = next_id.masked_fill(finished[:, None], eos_token_id)
                finished |= next_id.squeeze(1) == eos_token_id
            idx = torch.cat([idx, next_id], dim=1)
            if eos_token_id is not None and bool(finished.all()):
                break
            if cache is not None and idx.size(1) > self.config.max_seq_len:
                cache = None  # no position left for the next token: slide the window from now on
            context = next_id if cache is not None else idx[:, -self.config.max_seq_len :]
        return idx

    def num_parameters(self, non_embedding: bool = True) -> int:
        """All (deduplicated) parameters; optionally without the embedding tables."""
        return self.transformer.num_parameters(non_embedding)
