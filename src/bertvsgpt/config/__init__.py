"""Typed params: the schema and the Hydra loader."""

from .load import load_params, to_flat_dict
from .schema import ConfigError, Params

__all__ = ["ConfigError", "Params", "load_params", "to_flat_dict"]
