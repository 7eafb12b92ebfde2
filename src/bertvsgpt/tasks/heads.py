"""The task heads on the shared backbone, one module for every kind: sequence classifiers (classification,
multiple choice), the token classifier (tagging) and the span extractor (extractive QA). The
translators, which add a decoder rather than a head, are in ``translation.py``.

Sequence classification. BERT (Devlin et al., 2019, §4.1): ``logits = W · dropout(pooler(h))`` where the
pooler is dense + tanh on the final ``[CLS]`` state and is itself pre-trained by next sentence prediction.
GPT (Radford et al., 2018, §3.2): ``logits = W_y · dropout(h_l^m)``, the last layer's state at the
final input token, which the formatting makes the ``<|extract|>`` token. With right padding this
is the last real token, ``attention_mask.sum(1) - 1``. ``pooling="mean"`` replaces both with the mean
of the last layer's states over the real tokens (no pooler): the sentence representation of
Sentence-BERT (Reimers & Gurevych, 2019), which does not depend on what the pre-training objective
taught one position.

Token classification: dropout + linear over the last layer's state at every position. Span extraction
(BERT §4.2): one linear layer ``d_model -> 2``, start and end logits per token.

The "scratch" baseline is the same architecture with random weights (``SequenceClassifier.from_config``,
or any head on :func:`~bertvsgpt.tasks.backbone.load_backbone`'s fresh model).
"""

from __future__ import annotations

from typing import Any, Optional

import torch
from torch import nn

from ..models import BertForPreTraining, BertPooler, GPTForPreTraining, ModelConfig, Transformer, init_weights
from .backbone import backbone_for, check_backbone, load_backbone
from .formatting import check_arch

POOLINGS = ("token", "mean")


def last_token_positions(attention_mask: Optional[torch.Tensor], batch: int, seq_len: int, device) -> torch.Tensor:
    """Index of the last real token of each (right-padded) row."""
    if attention_mask is None:
        return torch.full((batch,), seq_len - 1, dtype=torch.long, device=device)
    lengths = attention_mask.long().sum(dim=1)
    if bool((lengths == 0).any()):
        raise ValueError("a row of attention_mask has no real token")
    return lengths - 1


class TaskHead(nn.Module):
    """A head on the shared backbone: holds ``backbone`` (its ``config``) and the ``arch`` it was trained as."""

    def __init__(self, backbone: Transformer, arch: str) -> None:
        super().__init__()
        check_backbone(backbone, arch)
        self.arch = arch
        self.config: ModelConfig = backbone.config
        self.backbone = backbone

    def hidden(
        self,
        input_ids: torch.Tensor,
        token_type_ids: Optional[torch.Tensor] = None,
        attention_mask: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """The backbone's ``(B, T, d_model)`` states (GPT has no segment table: type ids are ignored)."""
        return self.backbone(input_ids, token_type_ids if self.arch == "bert" else None, attention_mask)

    def forward(self, input_ids: torch.Tensor, token_type_ids: Optional[torch.Tensor] = None,
                attention_mask: Optional[torch.Tensor] = None) -> Any:
        """The head's output (:meth:`head`: logits) on the backbone's states of a batch."""
        return self.head(self.hidden(input_ids, token_type_ids, attention_mask), attention_mask)

    def head(self, hidden: torch.Tensor, attention_mask: Optional[torch.Tensor] = None) -> Any:
        raise NotImplementedError

    def add_classifier(self, n_labels: int, dropout: float) -> None:
        """Dropout, then ``classifier``: a linear layer ``d_model -> n_labels`` initialised as the backbone is."""
        self.n_labels = n_labels
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(self.config.d_model, n_labels)
        init_weights(self.classifier)


class SequenceClassifier(TaskHead):
    """Backbone + (BERT: pooler) + dropout + linear classification head."""

    def __init__(
        self,
        backbone: Transformer,
        arch: str,
        n_labels: int,
        dropout: float = 0.1,
        pooler: Optional[BertPooler] = None,
        pooling: str = "token",
    ) -> None:
        super().__init__(backbone, arch)
        if pooling not in POOLINGS:
            raise ValueError(f"pooling='{pooling}' is not one of {POOLINGS}")
        if n_labels < 1:
            raise ValueError(f"n_labels={n_labels} must be >= 1 (1 = one score per sequence, for multiple choice)")
        if arch == "bert" and pooler is None and pooling == "token":
            raise ValueError("a BERT classifier needs the pooler")
        if arch == "gpt" and pooler is not None:
            raise ValueError("a GPT classifier reads the extract token; it has no pooler")
        self.pooling = pooling
        self.pooler = pooler
        self.add_classifier(n_labels, dropout)

    @classmethod
    def from_pretrained(
        cls,
        model: BertForPreTraining | GPTForPreTraining,
        arch: str,
        n_labels: int,
        dropout: float = 0.1,
        pooling: str = "token",
    ) -> "SequenceClassifier":
        """Take the backbone (and BERT's pooler, for token pooling) of a pre-training model; its LM heads are dropped."""
        backbone = backbone_for(model, arch)
        pooler = getattr(model, "_orig_mod", model).pooler if arch == "bert" and pooling == "token" else None
        return cls(backbone, arch, n_labels, dropout, pooler=pooler, pooling=pooling)

    @classmethod
    def from_config(
        cls, config: ModelConfig, arch: str, n_labels: int, dropout: float = 0.1, pooling: str = "token"
    ) -> "SequenceClassifier":
        """The scratch baseline: the same architecture, randomly initialised as for pre-training."""
        check_arch(arch)
        return cls.from_pretrained(load_backbone(None, arch, config)[0], arch, n_labels, dropout, pooling)

    def pool(self, hidden: torch.Tensor, attention_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """The ``(B, d_model)`` sequence representation: BERT's pooled [CLS], GPT's extract-token state, or
        (``pooling="mean"``) the mean state of the real tokens."""
        if self.pooling == "mean":
            if attention_mask is None:
                return hidden.mean(dim=1)
            weights = attention_mask.to(hidden.dtype).unsqueeze(-1)
            return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)
        if self.arch == "bert":
            return self.pooler(hidden)  # type: ignore[misc]
        pos = last_token_positions(attention_mask, hidden.size(0), hidden.size(1), hidden.device)
        return hidden[torch.arange(hidden.size(0), device=hidden.device), pos]

    def classify(self, hidden: torch.Tensor, attention_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``(B, n_labels)`` logits from the backbone's states."""
        return self.classifier(self.dropout(self.pool(hidden, attention_mask)))

    head = classify


class TokenClassifier(TaskHead):
    """Backbone + dropout + linear tag classifier at every position (both architectures)."""

    def __init__(self, backbone: Transformer, arch: str, n_labels: int, dropout: float = 0.1) -> None:
        super().__init__(backbone, arch)
        if n_labels < 2:
            raise ValueError(f"n_labels={n_labels} must be >= 2")
        self.add_classifier(n_labels, dropout)

    @classmethod
    def from_pretrained(
        cls, model: BertForPreTraining | GPTForPreTraining, arch: str, n_labels: int, dropout: float = 0.1
    ) -> "TokenClassifier":
        """Take the backbone of a pre-training model; its pre-training heads (and BERT's pooler) are dropped."""
        return cls(backbone_for(model, arch), arch, n_labels, dropout)

    def hidden(self, input_ids: torch.Tensor, attention_mask: Optional[torch.Tensor] = None) -> torch.Tensor:  # type: ignore[override]
        """The backbone's ``(B, T, d_model)`` states (one segment: BERT's type ids are all 0)."""
        return self.backbone(input_ids, None, attention_mask)

    def classify(self, hidden: torch.Tensor) -> torch.Tensor:
        """``(B, T, n_labels)`` logits from the backbone's states."""
        return self.classifier(self.dropout(hidden))

    def forward(self, input_ids: torch.Tensor, attention_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.classify(self.hidden(input_ids, attention_mask))


class SpanExtractor(TaskHead):
    """Backbone + one linear layer ``d_model -> 2``: start and end logits per token (BERT §4.2)."""

    def __init__(self, backbone: Transformer, arch: str) -> None:
        super().__init__(backbone, arch)
        self.qa_outputs = nn.Linear(self.config.d_model, 2)
        init_weights(self.qa_outputs)

    @classmethod
    def from_pretrained(cls, model: BertForPreTraining | GPTForPreTraining, arch: str) -> "SpanExtractor":
        """The span extractor on a pre-training model's backbone (its pre-training heads are dropped)."""
        return cls(backbone_for(model, arch), arch)

    def span_logits(
        self, hidden: torch.Tensor, attention_mask: Optional[torch.Tensor] = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(start, end)`` float32 logits, each ``(B, T)``; padding positions get the lowest float."""
        logits = self.qa_outputs(hidden).float()
        if attention_mask is not None:
            logits = logits.masked_fill((attention_mask == 0)[..., None], torch.finfo(logits.dtype).min)
        return logits[..., 0], logits[..., 1]

    head = span_logits
