"""BERT- and GPT-style Transformer models sharing one backbone."""

from .attention import KVCache, LayerKV, MultiHeadSelfAttention, make_attention_mask
from .bert import BertForPreTraining, BertMLMHead, BertPooler, gather_positions
from .config import ModelConfig
from .decoder import CrossAttention, DecoderBlock, TransformerDecoder
from .generation import beam_search
from .gpt import GPTForPreTraining
from .io import architecture_of, load_config, load_pretrained, save_pretrained
from .transformer import MLP, Block, Embeddings, Transformer, init_weights

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
