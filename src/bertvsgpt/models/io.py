"""Saving / loading pre-trained models as ``model.safetensors`` + ``config.json``.

``safetensors.torch.save_model`` de-duplicates tied parameters (the word
embedding table shared with the MLM decoder / LM head) and ``load_model``
restores the tie.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Union

import torch
from safetensors import SafetensorError
from safetensors.torch import load_model, save_model
from torch import nn

from .bert import BertForPreTraining
from .config import ModelConfig
from .gpt import GPTForPreTraining

WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "config.json"

PretrainedModel = Union[BertForPreTraining, GPTForPreTraining]

_ARCHITECTURES: dict[str, type[nn.Module]] = {"bert": BertForPreTraining, "gpt": GPTForPreTraining}


def architecture_of(model: nn.Module) -> str:
    """``"bert"`` or ``"gpt"`` for a (possibly ``torch.compile``-wrapped) model."""
    model = getattr(model, "_orig_mod", model)
    for name, cls in _ARCHITECTURES.items():
        if isinstance(model, cls):
            return name
    raise TypeError(f"unsupported model type {type(model).__name__}")


def save_pretrained(model: nn.Module, config: ModelConfig, directory: Union[str, os.PathLike]) -> Path:
    """Write ``model.safetensors`` and ``config.json`` into ``directory``.

    Each file is written to a temporary name first and moved into place with
    ``os.replace`` so a crash never leaves a truncated file behind.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model = getattr(model, "_orig_mod", model)  # unwrap torch.compile
    cfg = dict(config.to_dict(), architecture=architecture_of(model))

    tmp_weights = directory / f".{WEIGHTS_NAME}.tmp-{os.getpid()}"
    save_model(model, str(tmp_weights))
    os.replace(tmp_weights, directory / WEIGHTS_NAME)

    tmp_config = directory / f".{CONFIG_NAME}.tmp-{os.getpid()}"
    tmp_config.write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n")
    os.replace(tmp_config, directory / CONFIG_NAME)
    return directory


def load_config(directory: Union[str, os.PathLike]) -> tuple[ModelConfig, str]:
    """Read ``config.json`` -> (config, architecture)."""
    d = json.loads((Path(directory) / CONFIG_NAME).read_text())
    arch = d.get("architecture")
    if arch not in _ARCHITECTURES:
        raise ValueError(f"config.json: architecture={arch!r} must be one of {sorted(_ARCHITECTURES)}")
    return ModelConfig.from_dict(d).validate(), arch


def load_pretrained(
    directory: Union[str, os.PathLike], device: Union[str, torch.device] = "cpu"
) -> tuple[PretrainedModel, ModelConfig]:
    """Rebuild the right model class from ``config.json`` and load its weights.

    The model is returned in eval mode on ``device``.
    """
    config, arch = load_config(directory)
    model = _ARCHITECTURES[arch](config)
    path = Path(directory) / WEIGHTS_NAME
    try:
        load_model(model, str(path), strict=True, device=str(device))
    except SafetensorError as exc:
        raise ValueError(f"{path}: not a valid safetensors file ({exc})") from None
    model.to(device).eval()
    return model, config  # type: ignore[return-value]
