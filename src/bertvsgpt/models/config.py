"""Model hyper-parameters shared by the BERT and GPT variants.

Both BERT (Devlin et al., 2019, "BERT: Pre-training of Deep Bidirectional
Transformers for Language Understanding") and GPT-1 (Radford et al., 2018,
"Improving Language Understanding by Generative Pre-Training") are a stack of
post-LayerNorm Transformer encoder blocks (Vaswani et al., 2017). They differ
only in the attention mask (bidirectional vs. causal), the optional segment
embedding table and the pre-training heads, so one config describes both.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Optional

IGNORE_INDEX = -100  # the label a loss skips (PyTorch's cross_entropy default): padding, unmasked and non-target positions


NORMS = ("post", "pre")
ACTIVATIONS = ("gelu", "gelu_tanh")  # exact erf GELU; its tanh approximation (GPT-1/GPT-2 code, "gelu_new")


@dataclass
class ModelConfig:
    """Hyper-parameters of the shared Transformer backbone.

    Attributes:
        vocab_size: number of token ids.
        n_layer: number of Transformer blocks.
        n_head: number of attention heads; must divide ``d_model``.
        d_model: hidden size.
        d_ff: inner size of the position-wise feed-forward network.
        max_seq_len: number of learned position embeddings.
        dropout: dropout on embeddings, attention probabilities and residuals.
        type_vocab_size: size of the segment (token type) table; 0 disables it
            (GPT), 2 for BERT's sentence A / sentence B.
        causal: ``True`` for a left-to-right language model (GPT).
        layer_norm_eps: LayerNorm epsilon (BERT uses 1e-12).
        pad_token_id: id of the padding token.
        norm: ``"post"`` -- the papers' post-LN block ``LN(x + f(x))`` with a LayerNorm on
            the embeddings; ``"pre"`` -- the pre-LN block ``x + f(LN(x))`` of GPT-2 with a
            final LayerNorm and none on the embeddings (Xiong et al., 2020: trains without
            the long warm-up post-LN needs). The same choice applies to both models.
        activation: the feed-forward (and BERT MLM transform) GELU: ``"gelu"``, the exact erf form
            BERT uses, or ``"gelu_tanh"``, the tanh approximation of GPT-1 and GPT-2's code
            (transformers' ``gelu_new``). Only imported checkpoints set it; ours use ``"gelu"``.
        embedding_norm: LayerNorm on the summed embeddings; ``None`` follows ``norm`` (post: yes,
            pre: no). ``False`` with ``norm: post`` is GPT-1's layout (imported ``openai-gpt``).
    """

    vocab_size: int
    n_layer: int = 4
    n_head: int = 4
    d_model: int = 256
    d_ff: int = 1024
    max_seq_len: int = 128
    dropout: float = 0.1
    type_vocab_size: int = 0
    causal: bool = False
    layer_norm_eps: float = 1e-12
    pad_token_id: int = 0
    norm: str = "post"
    activation: str = "gelu"
    embedding_norm: Optional[bool] = None

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_head

    @property
    def normalises_embeddings(self) -> bool:
        """Whether the summed embeddings go through a LayerNorm (``embedding_norm``, else by ``norm``)."""
        return self.norm == "post" if self.embedding_norm is None else self.embedding_norm

    def validate(self) -> "ModelConfig":
        """Raise ``ValueError`` naming the offending field; return ``self``."""
        positive = ("vocab_size", "n_layer", "n_head", "d_model", "d_ff", "max_seq_len")
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name}={value!r} must be a positive integer")
        if self.d_model % self.n_head != 0:
            raise ValueError(f"n_head={self.n_head} does not divide d_model={self.d_model}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout={self.dropout} must be in [0, 1)")
        if not isinstance(self.type_vocab_size, int) or self.type_vocab_size < 0:
            raise ValueError(f"type_vocab_size={self.type_vocab_size!r} must be a non-negative integer")
        if self.norm not in NORMS:
            raise ValueError(f"norm={self.norm!r} must be one of {NORMS}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation={self.activation!r} must be one of {ACTIVATIONS}")
        if self.layer_norm_eps <= 0:
            raise ValueError(f"layer_norm_eps={self.layer_norm_eps} must be > 0")
        if not 0 <= self.pad_token_id < self.vocab_size:
            raise ValueError(
                f"pad_token_id={self.pad_token_id} must be in [0, vocab_size={self.vocab_size})"
            )
        return self

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable dict of all fields."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ModelConfig":
        """Build from a dict, ignoring unknown keys (e.g. ``"architecture"``)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})
