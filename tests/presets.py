"""The Makefile's named presets (``make quick``, ``make zh``): their ``dvc exp run -S`` overrides, as tests see them."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import yaml

MAKEFILE = Path(__file__).resolve().parents[1] / "Makefile"


def makefile_preset(variable: str) -> list[str]:
    """The ``key=value`` overrides of the Makefile variable ``variable`` (``QUICK``, ``ZH``), in order."""
    match = re.search(rf"^{variable} := (.*?)(?<!\\)\n", MAKEFILE.read_text(encoding="utf-8"), re.S | re.M)
    assert match, f"Makefile: no {variable} := ... preset"
    return [arg for arg in shlex.split(match.group(1).replace("\\\n", " ")) if arg != "-S"]


def apply_overrides(params: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """``params`` (a parsed params.yaml) with ``dotted.key=value`` overrides set in place, values read as
    YAML (``[a,b]`` is a list): what ``dvc exp run -S`` writes into params.yaml."""
    for override in overrides:
        key, _, value = override.partition("=")
        *parents, leaf = key.split(".")
        node = params
        for k in parents:
            node = node[k]
        node[leaf] = yaml.safe_load(value)
    return params
