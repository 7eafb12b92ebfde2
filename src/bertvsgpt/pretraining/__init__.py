"""Pre-training data (token store, BERT instances, datasets) and FLOP accounting."""

from .bert_instances import (
    TrainingInstance,
    create_instances,
    create_instances_from_document,
    mask_tokens,
    num_predictions,
    truncate_seq_pair,
)
from .datasets import BertPretrainingDataset, GPTPackedDataset, packed_token_count
from .flops import flops_per_token, measure_matmul_peak_flops
from .token_store import TokenStore, token_dtype, write_token_store

__all__ = [
    "BertPretrainingDataset",
    "GPTPackedDataset",
    "TokenStore",
    "TrainingInstance",
    "create_instances",
    "create_instances_from_document",
    "flops_per_token",
    "mask_tokens",
    "measure_matmul_peak_flops",
    "num_predictions",
    "packed_token_count",
    "token_dtype",
    "truncate_seq_pair",
    "write_token_store",
]
