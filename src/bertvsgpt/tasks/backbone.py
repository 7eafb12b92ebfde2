"""Where a fine-tuned model's weights come from: a pre-trained checkpoint, or random (scratch).

The model names of the pipeline are ``bert``, ``gpt``, ``bert-scratch`` and ``gpt-scratch``.
A scratch model is the same architecture, initialised exactly as for pre-training and then
fine-tuned with the same protocol, so the difference to its pre-trained twin is what
pre-training buys.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Union

from ..models import BertForPreTraining, GPTForPreTraining, ModelConfig, load_config, load_pretrained

PretrainedModel = Union[BertForPreTraining, GPTForPreTraining]

SCRATCH_SUFFIX = "-scratch"


def split_model_name(name: str) -> tuple[str, bool]:
    """``"gpt-scratch"`` -> ``("gpt", False)``; ``"bert"`` -> ``("bert", True)`` (arch, pretrained)."""
    arch, scratch = (name[: -len(SCRATCH_SUFFIX)], True) if name.endswith(SCRATCH_SUFFIX) else (name, False)
    if arch not in ("bert", "gpt"):
        raise ValueError(f"unknown model '{name}' (known: bert, gpt, bert-scratch, gpt-scratch)")
    return arch, not scratch


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
        cls = BertForPreTraining if arch == "bert" else GPTForPreTraining
        return cls(model_config).train(), model_config
    saved_config, saved_arch = load_config(model_dir)
    if saved_arch != arch:
        raise ValueError(f"{model_dir} holds a '{saved_arch}' model, not '{arch}'")
    model, config = load_pretrained(model_dir)
    return model.train(), config


def backbone_of(model: PretrainedModel):
    """The shared :class:`~bertvsgpt.models.Transformer` inside a pre-training model."""
    model = getattr(model, "_orig_mod", model)
    return model.bert if isinstance(model, BertForPreTraining) else model.transformer
