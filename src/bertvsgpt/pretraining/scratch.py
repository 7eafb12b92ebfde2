"""The model shape a pre-training run builds, and the scratch twin's directory (that shape, no weights).

Nothing heavy is imported here (no torch, no Lightning), so ``pipeline/scratch.py`` starts in about a
second; :mod:`.run` (pre-training itself) uses :func:`model_config` from here.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ..config import Params
from ..io import atomic_path, write_json
from ..models.config import ModelConfig
from ..tokenization.special import BERT_PAD, GPT_PAD
from ..tokenization.train import load_tokenizer


def model_config(arch: str, params: Params, vocab_size: int, pad_id: int) -> ModelConfig:
    m = params.model
    return ModelConfig(
        vocab_size=vocab_size,
        n_layer=m.n_layer,
        n_head=m.n_head,
        d_model=m.d_model,
        d_ff=m.d_ff,
        max_seq_len=m.max_seq_len,
        dropout=m.dropout,
        norm=getattr(m.norm, arch),
        type_vocab_size=2 if arch == "bert" else 0,
        causal=arch == "gpt",
        pad_token_id=pad_id,
    )


def write_scratch_model(arch: str, params: Params, tokenizer_dir: Path, out_dir: Path) -> ModelConfig:
    """The scratch twin's directory: ``config.json`` (the pre-trained model's exact shape) and the
    tokenizer, but no weights: fine-tuning initialises it at random, as pre-training would."""
    tokenizer = load_tokenizer(Path(tokenizer_dir))
    pad_id = tokenizer.token_to_id(BERT_PAD if arch == "bert" else GPT_PAD)
    cfg = model_config(arch, params, tokenizer.get_vocab_size(), pad_id).validate()
    with atomic_path(Path(out_dir)) as tmp:
        tmp.mkdir(parents=True)
        write_json(tmp / "config.json", dict(cfg.to_dict(), architecture=arch, scratch=True))
        shutil.copy2(Path(tokenizer_dir) / "tokenizer.json", tmp / "tokenizer.json")
    return cfg
