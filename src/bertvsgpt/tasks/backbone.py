"""Where a fine-tuned model's weights come from: a pre-trained checkpoint, or random (scratch).

The model names of the pipeline are ``bert``, ``gpt``, ``bert-scratch`` and ``gpt-scratch``.
A scratch model is the same architecture, initialised exactly as for pre-training and then
fine-tuned with the same protocol, so the difference to its pre-trained twin is what
pre-training buys.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Optional, Union

from tokenizers import Tokenizer
from torch import nn

from ..models import BertForPreTraining, GPTForPreTraining, ModelConfig, load_config, load_pretrained
from .formatting import check_arch

PretrainedModel = Union[BertForPreTraining, GPTForPreTraining]

ARCH_CLASSES = {"bert": BertForPreTraining, "gpt": GPTForPreTraining}


def load_backbone(
    model_dir: Optional[Path], arch: str, model_config: Optional[ModelConfig] = None
) -> tuple[PretrainedModel, ModelConfig]:
    """The pre-training model (backbone plus its pre-training heads), in train mode.

    ``model_dir=None`` builds the scratch twin from ``model_config``; otherwise the saved
    architecture must be ``arch``. For a scratch model the pre-trained ``model_dir`` may still
    be given: only its ``config.json`` is read, so both twins have the same shape.
    """
    if model_dir is None:
        if model_config is None:
            raise ValueError("model_dir=None (scratch baseline) needs model_config")
        return ARCH_CLASSES[arch](model_config).train(), model_config
    saved_config, saved_arch = load_config(model_dir)
    if saved_arch != arch:
        raise ValueError(f"{model_dir} holds a '{saved_arch}' model, not '{arch}'")
    model, config = load_pretrained(model_dir)
    return model.train(), config


def backbone_of(model: PretrainedModel):
    """The shared :class:`~bertvsgpt.models.Transformer` inside a pre-training model."""
    model = getattr(model, "_orig_mod", model)
    return model.bert if isinstance(model, BertForPreTraining) else model.transformer


def check_fits(tokenizer: Tokenizer, config: ModelConfig, max_length: int) -> None:
    """The tokenizer's ids and the task's sequence length must fit the model."""
    if tokenizer.get_vocab_size() > config.vocab_size:
        raise ValueError(f"tokenizer has {tokenizer.get_vocab_size()} tokens but the model only {config.vocab_size}")
    if max_length > config.max_seq_len:
        raise ValueError(f"task max_length={max_length} exceeds the model's max_seq_len={config.max_seq_len}")


def set_dropout(model: nn.Module, p: float) -> None:
    """Every dropout of ``model`` (``nn.Dropout`` modules and attention's probability dropout) to ``p``."""
    for module in model.modules():
        if isinstance(module, nn.Dropout):
            module.p = p
        elif isinstance(getattr(module, "dropout", None), float):
            module.dropout = p


def load_for_task(
    model_dir: Optional[Path],
    arch: str,
    model_config: Optional[ModelConfig],
    tokenizer: Tokenizer,
    max_length: int,
    dropout: Optional[float] = None,
) -> tuple[PretrainedModel, ModelConfig]:
    """:func:`load_backbone`, checked against the task's tokenizer and sequence length.

    ``dropout`` (``finetune.dropout``) replaces the pre-training dropout for fine-tuning, as the
    cramming recipe does (no dropout while pre-training, 0.1 while fine-tuning); the returned
    config carries it, so heads and decoders built from it use it too. ``None`` keeps the saved one.
    """
    if dropout is not None and model_config is not None:
        model_config = dataclasses.replace(model_config, dropout=dropout)
    pretrained, config = load_backbone(model_dir, arch, model_config)
    check_fits(tokenizer, config, max_length)
    if dropout is not None:
        set_dropout(pretrained, dropout)
        config = dataclasses.replace(config, dropout=dropout)
    return pretrained, config


def check_backbone(backbone, arch: str) -> None:
    """``arch`` is known and matches the backbone's attention (causal for GPT, bidirectional for BERT)."""
    check_arch(arch)
    if (arch == "gpt") != bool(backbone.config.causal):
        raise ValueError(f"arch='{arch}' does not match the backbone (causal={backbone.config.causal})")


def unwrapped(model: nn.Module, expected: type, user: str):
    """``model`` without ``torch.compile``'s wrapper, which must be an ``expected`` (``user`` names who needs it)."""
    model = getattr(model, "_orig_mod", model)
    if not isinstance(model, expected):
        raise TypeError(f"{user} needs a {expected.__name__}, got {type(model).__name__}")
    return model


def backbone_for(model: PretrainedModel, arch: str):
    """The backbone of a pre-training model that must be of architecture ``arch``."""
    check_arch(arch)
    return backbone_of(unwrapped(model, ARCH_CLASSES[arch], f"arch='{arch}'"))
