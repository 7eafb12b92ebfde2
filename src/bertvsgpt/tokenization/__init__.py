"""Tokenizer training (WordPiece for BERT, byte-level BPE for GPT) and their special tokens."""

from .special import SPECIAL_TOKENS
from .train import load_tokenizer, train_byte_level_bpe, train_tokenizer, train_wordpiece

__all__ = ["SPECIAL_TOKENS", "load_tokenizer", "train_byte_level_bpe", "train_tokenizer", "train_wordpiece"]
