"""A published transformers checkpoint -> a model of the comparison (``data/models/<name>``).

The converted folder has the layout of our own pre-trained models (``config.json``,
``model.safetensors``, ``tokenizer.json``), so the fine-tuning stages treat it exactly as they treat
``bert`` and ``gpt``, with the checkpoint's own tokenizer. ``published.json`` records where it came
from and what was added:

- BERT family (``model_type: bert``, e.g. ``bert-base-uncased``, MiniLM): the encoder is copied;
  parts of ``BertForPreTraining`` a bare ``BertModel`` lacks (pooler, MLM and NSP heads) are
  initialised as ours are at random (seeded) and listed; fine-tuning reads the pooler, never the
  pre-training heads.
- GPT family (``model_type: gpt2``, pre-LN, or ``openai-gpt``, GPT-1: post-LN without an embedding LayerNorm;
  exact or tanh GELU): the special tokens the GPT paper's input format
  needs (``<|start|>``, ``<|delim|>``, ``<|extract|>``, and a padding token) are added to the tokenizer
  and get new embedding rows, initialised N(0, 0.02), as GPT-1's fine-tuning adds them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from tokenizers import Tokenizer

from ..io import atomic_path, write_json
from ..models import BertForPreTraining, GPTForPreTraining, ModelConfig, save_pretrained
from ..tokenization.special import BERT_SPECIAL_TOKENS, GPT_PAD, GPT_SPECIAL_TOKENS
from .checkpoint import CheckpointFiles
from .mapping import ConversionError, hf_to_bert, hf_to_gpt, model_config_of

PUBLISHED_RECORD = "published.json"


def _tokenizer(files: CheckpointFiles) -> Tokenizer:
    """The checkpoint's tokenizer without the padding / truncation a saved pipeline may carry (MiniLM's
    pads every text to 128): the fine-tuning code pads and truncates itself, as for our tokenizers."""
    try:
        tokenizer = Tokenizer.from_str(files.tokenizer_json())
    except ConversionError:
        raise
    except Exception as exc:  # tokenizers raises its own Exception type
        raise ConversionError(f"{files.label('tokenizer.json')}: not a tokenizers file ({exc})") from None
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


def _check_vocab(tokenizer: Tokenizer, config: ModelConfig, files: CheckpointFiles) -> None:
    n = tokenizer.get_vocab_size(with_added_tokens=True)
    if n > config.vocab_size:
        raise ConversionError(
            f"{files.label('tokenizer.json')}: {n} tokens but config.json's vocab_size is {config.vocab_size} "
            "(mismatched vocabulary sizes)"
        )


def _grow_embeddings(state: dict[str, torch.Tensor], config: ModelConfig, vocab_size: int, seed: int) -> dict[str, torch.Tensor]:
    """New rows for added tokens, N(0, 0.02) as at initialisation (seeded)."""
    name = "transformer.embeddings.word_embeddings.weight"
    old = state[name]
    extra = torch.empty(vocab_size - old.size(0), old.size(1))
    extra.normal_(0.0, 0.02, generator=torch.Generator().manual_seed(seed))
    grown = torch.cat([old, extra], dim=0)
    return {**state, name: grown, "lm_head.weight": grown}


def convert_checkpoint(
    path: str | Path, seed: int = 0, display: str | None = None
) -> tuple[torch.nn.Module, ModelConfig, Tokenizer, dict[str, Any]]:
    """Read and convert a checkpoint: (our model, its config, its tokenizer, what was done).
    ``display`` is how errors name the checkpoint (default: ``path``)."""
    files = CheckpointFiles(path, display)
    hf = files.config()
    try:
        config, arch = model_config_of(hf)
    except ConversionError as exc:
        raise ConversionError(f"{files.label('config.json')}: {exc}") from None
    tokenizer = _tokenizer(files)
    theirs = files.state_dict()
    torch.manual_seed(seed)  # parts a bare encoder lacks are initialised as ours are
    notes: dict[str, Any] = {"family": arch, "model_type": hf.get("model_type"), "initialised": [], "added_tokens": []}
    if arch == "bert":
        missing = [t for t in BERT_SPECIAL_TOKENS if tokenizer.token_to_id(t) is None]
        if missing:
            raise ConversionError(f"{files.label('tokenizer.json')}: no {', '.join(missing)}: not a BERT vocabulary")
        _check_vocab(tokenizer, config, files)
        model: torch.nn.Module = BertForPreTraining(config)
        state, notes["initialised"] = hf_to_bert(theirs, model.state_dict(), config.n_layer, files.label("model.safetensors"))
    else:
        _check_vocab(tokenizer, config, files)
        model = GPTForPreTraining(config)
        state = hf_to_gpt(theirs, model.state_dict(), config.n_layer, files.label("model.safetensors"), layout=hf["model_type"])
        added = [t for t in GPT_SPECIAL_TOKENS if tokenizer.token_to_id(t) is None]
        if added:
            tokenizer.add_special_tokens(added)
            notes["added_tokens"] = added
        vocab = max(config.vocab_size, tokenizer.get_vocab_size(with_added_tokens=True))
        if vocab > config.vocab_size:
            state = _grow_embeddings(state, config, vocab, seed)
        config = ModelConfig.from_dict({**config.to_dict(), "vocab_size": vocab, "pad_token_id": tokenizer.token_to_id(GPT_PAD)})
        model = GPTForPreTraining(config)
    model.load_state_dict(state, strict=True)
    model.eval()
    notes["parameters"] = sum(p.numel() for p in model.parameters())
    notes["non_embedding_parameters"] = model.num_parameters(non_embedding=True)
    return model, config, tokenizer, notes


def import_checkpoint(
    path: str | Path, out_dir: str | Path, seed: int = 0, record: dict[str, Any] | None = None, display: str | None = None
) -> dict[str, Any]:
    """Convert the checkpoint at ``path`` into ``out_dir`` (written whole or not at all); return its record."""
    model, config, tokenizer, notes = convert_checkpoint(path, seed, display)
    out_dir = Path(out_dir)
    summary = {**(record or {}), **notes}
    with atomic_path(out_dir) as tmp:
        save_pretrained(model, config, tmp)
        tokenizer.save(str(Path(tmp) / "tokenizer.json"))
        write_json(Path(tmp) / PUBLISHED_RECORD, summary)
    return summary


def read_published_record(model_dir: str | Path) -> dict[str, Any] | None:
    """``published.json`` of a converted checkpoint, or ``None`` for one of our own models."""
    path = Path(model_dir) / PUBLISHED_RECORD
    return json.loads(path.read_text()) if path.is_file() else None

