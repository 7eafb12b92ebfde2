"""BERT- and GPT-style Transformer models sharing one backbone."""

from .attention import MultiHeadSelfAttention, make_attention_mask
from .bert import BertForPreTraining, BertMLMHead, BertPooler, gather_positions
from .config import ModelConfig
from .gpt import GPTForPreTraining
from .io import architecture_of, load_config, load_pretrained, save_pretrained
from .transformer import MLP, Block, Embeddings, Transformer, init_weights

__all__ = [
    "MLP",
    "BertForPreTraining",
    "BertMLMHead",
    "BertPooler",
    "Block",
    "Embeddings",
    "GPTForPreTraining",
    "ModelConfig",
    "MultiHeadSelfAttention",
    "Transformer",
    "architecture_of",
    "gather_positions",
    "init_weights",
    "load_config",
    "load_pretrained",
    "make_attention_mask",
    "save_pretrained",
]
