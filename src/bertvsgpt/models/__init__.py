"""BERT- and GPT-style Transformer models sharing one backbone.

The names below are loaded on first use (PEP 562): ``from bertvsgpt.models import ModelConfig`` (or
``bertvsgpt.models.config``) does not import torch, so a stage that only writes a model's shape
(``pipeline/scratch.py``) starts without it.
"""

from typing import Any

__all__ = [
    "MLP",
    "BertForPreTraining",
    "BertMLMHead",
    "BertPooler",
    "Block",
    "CrossAttention",
    "DecoderBlock",
    "Embeddings",
    "GPTForPreTraining",
    "KVCache",
    "LayerKV",
    "ModelConfig",
    "MultiHeadSelfAttention",
    "Transformer",
    "TransformerDecoder",
    "architecture_of",
    "beam_search",
    "gather_positions",
    "init_weights",
    "load_config",
    "load_pretrained",
    "make_attention_mask",
    "save_pretrained",
]


def __getattr__(name: str) -> Any:
    if name == "ModelConfig":
        from .config import ModelConfig

        return ModelConfig
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from .attention import KVCache, LayerKV, MultiHeadSelfAttention, make_attention_mask
    from .bert import BertForPreTraining, BertMLMHead, BertPooler, gather_positions
    from .config import ModelConfig
    from .decoder import CrossAttention, DecoderBlock, TransformerDecoder
    from .generation import beam_search
    from .gpt import GPTForPreTraining
    from .io import architecture_of, load_config, load_pretrained, save_pretrained
    from .transformer import MLP, Block, Embeddings, Transformer, init_weights

    exports = locals()
    globals().update({k: exports[k] for k in __all__})  # later look-ups skip this function
    return exports[name]
