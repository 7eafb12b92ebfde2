"""Reading a checkpoint in transformers' ``save_pretrained`` layout: a folder, or a ``.zip`` of one.

Weights are read from safetensors only (``model.safetensors``, or the shards a
``model.safetensors.index.json`` lists); a checkpoint with only pickle weights (``pytorch_model.bin``)
is refused, as every checkpoint this pipeline loads is. Errors are one line naming the file.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

import torch

from .mapping import ConversionError

WEIGHTS = "model.safetensors"
WEIGHTS_INDEX = "model.safetensors.index.json"
PICKLE_WEIGHTS = ("pytorch_model.bin", "tf_model.h5", "flax_model.msgpack")


class CheckpointFiles:
    """The files of one checkpoint, read by name, whether it is a folder or a zip archive of one."""

    def __init__(self, path: str | Path, display: str | None = None) -> None:
        """``display``: how errors name the checkpoint (e.g. the user's source rather than a fetched copy)."""
        self.path = Path(path)
        self.display = display or str(self.path)
        if not self.path.exists():
            raise ConversionError(f"{self.display}: no such checkpoint (a folder or .zip in save_pretrained layout)")
        self._zip: dict[str, zipfile.ZipInfo] | None = None
        if self.path.is_file():
            if not zipfile.is_zipfile(self.path):
                raise ConversionError(f"{self.display}: not a folder or a .zip archive of a checkpoint")
            with zipfile.ZipFile(self.path) as zf:
                infos = [i for i in zf.infolist() if not i.is_dir()]
            # A checkpoint zipped with or without its folder: take the folder holding config.json.
            configs = sorted((PurePosixPath(i.filename) for i in infos if PurePosixPath(i.filename).name == "config.json"),
                             key=lambda p: len(p.parts))
            root = configs[0].parent if configs else PurePosixPath(".")
            self._zip = {}
            for info in infos:
                p = PurePosixPath(info.filename)
                if p.is_absolute() or ".." in p.parts:
                    raise ConversionError(f"{self.display}: archive member {info.filename!r} escapes the archive")
                if p.parent == root:
                    self._zip[p.name] = info

    def label(self, name: str) -> str:
        """How an error names one file of the checkpoint."""
        return f"{self.display}:{name}" if self._zip is not None else f"{self.display.rstrip('/')}/{name}"

    def exists(self, name: str) -> bool:
        return name in self._zip if self._zip is not None else (self.path / name).is_file()

    def read_bytes(self, name: str) -> bytes:
        if not self.exists(name):
            raise ConversionError(f"{self.label(name)}: missing")
        if self._zip is not None:
            with zipfile.ZipFile(self.path) as zf:
                return zf.read(self._zip[name])
        return (self.path / name).read_bytes()

    def read_json(self, name: str) -> dict[str, Any]:
        try:
            data = json.loads(self.read_bytes(name))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ConversionError(f"{self.label(name)}: not valid JSON ({exc})") from None
        if not isinstance(data, dict):
            raise ConversionError(f"{self.label(name)}: expected a JSON object")
        return data

    def config(self) -> dict[str, Any]:
        if not self.exists("config.json"):
            raise ConversionError(f"{self.label('config.json')}: missing (is this a save_pretrained folder?)")
        return self.read_json("config.json")

    def tokenizer_json(self) -> str:
        if not self.exists("tokenizer.json"):
            raise ConversionError(
                f"{self.label('tokenizer.json')}: missing; the checkpoint needs its fast tokenizer file "
                "(AutoTokenizer.from_pretrained(...).save_pretrained(dir) writes it)"
            )
        return self.read_bytes("tokenizer.json").decode("utf-8")

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Every tensor of the checkpoint (safetensors only; all shards of a sharded one)."""
        from safetensors import SafetensorError
        from safetensors.torch import load

        if self.exists(WEIGHTS):
            files = [WEIGHTS]
        elif self.exists(WEIGHTS_INDEX):
            weight_map = self.read_json(WEIGHTS_INDEX).get("weight_map", {})
            files = sorted(set(weight_map.values()))
        else:
            pickles = [n for n in PICKLE_WEIGHTS if self.exists(n)]
            found = f" (found only {pickles[0]}: pickle weights are never loaded here; re-save the model with " \
                    "transformers' save_pretrained, which writes model.safetensors)" if pickles else ""
            raise ConversionError(f"{self.label(WEIGHTS)}: missing{found}")
        tensors: dict[str, torch.Tensor] = {}
        for name in files:
            try:
                tensors.update(load(self.read_bytes(name)))
            except SafetensorError as exc:
                raise ConversionError(f"{self.label(name)}: not a valid safetensors file ({exc})") from None
        return {k: v.float() if v.is_floating_point() else v for k, v in tensors.items()}
