"""BERT pre-training model: masked LM + next sentence prediction.

Devlin et al., 2019, "BERT: Pre-training of Deep Bidirectional Transformers
for Language Understanding", §3.1 and Appendix A. The MLM head follows the
reference implementation (google-research/bert ``get_masked_lm_output``):
hidden states are first *gathered* at the masked positions, then transformed
by dense + GELU + LayerNorm and projected onto the vocabulary with the
(tied) input embedding matrix plus an output-only bias. Gathering first means
the expensive vocabulary projection is only computed for the ~15% of
positions that carry a label. In training that projection and its
cross-entropy run fused (``loss.linear_cross_entropy``: same value and
gradients, no (B, P, V) logits kept for the backward pass).
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from .config import IGNORE_INDEX, ModelConfig
from .loss import linear_cross_entropy
from .transformer import Transformer, gelu, init_weights



class BertPooler(nn.Module):
    """dense + tanh applied to the hidden state of the first token ([CLS])."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.d_model, config.d_model)
        self.activation = nn.Tanh()

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.activation(self.dense(hidden[:, 0]))


class BertMLMHead(nn.Module):
    """Transform (dense + GELU + LayerNorm) then the tied vocabulary decoder.

    ``decoder.weight`` is the same ``Parameter`` as the word embedding table;
    ``bias`` is the head's own per-token output bias.
    """

    def __init__(self, config: ModelConfig, word_embeddings: nn.Embedding) -> None:
        super().__init__()
        self.dense = nn.Linear(config.d_model, config.d_model)
        self.gelu = gelu(config)
        self.LayerNorm = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.decoder = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.decoder.weight = word_embeddings.weight  # weight tying
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))

    def transform(self, hidden: torch.Tensor) -> torch.Tensor:
        """dense + GELU + LayerNorm: the features the vocabulary decoder reads."""
        return self.LayerNorm(self.gelu(self.dense(hidden)))

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        """``(..., d_model) -> (..., vocab_size)`` logits."""
        return self.decoder(self.transform(hidden)) + self.bias


def gather_positions(hidden: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """Select ``hidden[b, positions[b, p]]`` -> ``(B, P, d_model)``."""
    index = positions.unsqueeze(-1).expand(-1, -1, hidden.size(-1))
    return torch.gather(hidden, 1, index)


class BertForPreTraining(nn.Module):
    """Bidirectional Transformer with the MLM and NSP pre-training heads."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        if config.causal:
            raise ValueError("causal=True is not valid for BERT (bidirectional encoder)")
        if config.type_vocab_size < 2:
            raise ValueError(f"type_vocab_size={config.type_vocab_size} must be >= 2 for BERT (segments A/B)")
        self.config = config
        self.bert = Transformer(config)
        self.pooler = BertPooler(config)
        self.cls_mlm = BertMLMHead(config, self.bert.embeddings.word_embeddings)
        self.cls_nsp = nn.Linear(config.d_model, 2)
        # The decoder weight is the (already initialised) embedding table.
        for module in (self.pooler, self.cls_mlm.dense, self.cls_mlm.LayerNorm, self.cls_nsp):
            module.apply(init_weights)

    def forward(
        self,
        input_ids: torch.Tensor,
        token_type_ids: Optional[torch.Tensor],
        attention_mask: Optional[torch.Tensor],
        masked_positions: torch.Tensor,
        masked_labels: torch.Tensor,
        nsp_labels: Optional[torch.Tensor] = None,
    ) -> dict[str, torch.Tensor]:
        """Args:
            input_ids, token_type_ids, attention_mask: ``(B, T)``.
            masked_positions: ``(B, P)`` long, positions of the predictions
                (padding slots may point anywhere, e.g. 0).
            masked_labels: ``(B, P)`` long original token ids, ``-100`` for
                padding slots.
            nsp_labels: ``(B,)`` long, 0 = IsNext, 1 = NotNext (random B), or
                ``None`` to skip the NSP objective.

        Returns:
            dict with ``loss`` (= mlm_loss [+ nsp_loss]), ``mlm_loss``,
            ``nsp_loss`` (only when ``nsp_labels`` is given) and the count
            tensors ``mlm_correct``, ``mlm_count``, ``nsp_correct``,
            ``nsp_count`` for accuracy metrics.
        """
        hidden = self.bert(input_ids, token_type_ids, attention_mask)

        # Masked LM: gather first, project to the vocabulary only at masked slots, fused with the loss
        # (= F.cross_entropy(self.cls_mlm(gathered).float(), masked_labels), argmax accuracy counted inside).
        features = self.cls_mlm.transform(gather_positions(hidden, masked_positions))  # (B, P, d_model)
        mlm_loss, mlm_correct = linear_cross_entropy(
            features, self.cls_mlm.decoder.weight, masked_labels, IGNORE_INDEX,
            bias=self.cls_mlm.bias, return_correct=True,
        )
        out: dict[str, torch.Tensor] = {
            "mlm_loss": mlm_loss,
            "mlm_correct": mlm_correct,
            "mlm_count": (masked_labels != IGNORE_INDEX).sum(),
        }
        loss = mlm_loss

        if nsp_labels is not None:
            nsp_logits = self.cls_nsp(self.pooler(hidden)).float()  # (B, 2)
            nsp_loss = F.cross_entropy(nsp_logits, nsp_labels)
            out["nsp_loss"] = nsp_loss
            out["nsp_correct"] = (nsp_logits.argmax(-1) == nsp_labels).sum()
            out["nsp_count"] = torch.tensor(nsp_labels.numel(), device=hidden.device)
            loss = loss + nsp_loss
        else:
            zero = torch.zeros((), dtype=torch.long, device=hidden.device)
            out["nsp_correct"] = zero
            out["nsp_count"] = zero
        out["loss"] = loss
        return out

    def num_parameters(self, non_embedding: bool = True) -> int:
        """All (deduplicated) parameters; optionally without the embedding tables."""
        n = sum(p.numel() for p in self.parameters())
        if non_embedding:
            emb = self.bert.num_parameters(False) - self.bert.num_parameters(True)
            n -= emb
        return n
