"""Load ``params.yaml`` through Hydra's compose API into the typed :class:`Params` schema.

No Hydra app is started, so no ``outputs/`` folders are written and no logging is reconfigured.
Errors of any kind (unknown key, wrong type, impossible value, bad override) become one
:class:`ConfigError` whose message starts with the dotted key.
"""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path
from typing import Sequence

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.errors import HydraException
import yaml
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from .schema import ConfigError, Params, TaskConfig, task_config_class

DEFAULT_PARAMS = "params.yaml"


def _omegaconf_message(exc: OmegaConfBaseException) -> str:
    key = getattr(exc, "full_key", None) or "params"
    msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"{key}: {msg}"


def load_params(path: str | Path = DEFAULT_PARAMS, overrides: Sequence[str] = ()) -> Params:
    """Compose ``path`` with Hydra ``overrides`` and return the validated :class:`Params`."""
    path = Path(path).resolve()
    if not path.is_file():
        raise ConfigError(f"params file not found: {path}")
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(path.parent), version_base=None):
            raw = compose(config_name=path.stem, overrides=list(overrides))
    except HydraException as exc:
        text = str(exc)
        key = re.search(r"override '([^']+)'", text)
        if key:
            raise ConfigError(f"{key.group(1)}: no such key in {path.name} (check the spelling)") from None
        raise ConfigError(f"override: {text.splitlines()[0]}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path.name}{where}: invalid YAML ({getattr(exc, 'problem', exc)})") from None
    finally:
        GlobalHydra.instance().clear()
    schema = OmegaConf.structured(Params)
    try:
        merged = OmegaConf.merge(schema, raw)
        for name in list(merged.tasks):
            merged.tasks[name] = _typed_task(str(name), merged.tasks[name])
        params: Params = OmegaConf.to_object(merged)  # type: ignore[assignment]
    except OmegaConfBaseException as exc:
        raise ConfigError(_omegaconf_message(exc)) from None
    return params.validate()


def _typed_task(name: str, node: object) -> DictConfig:
    """``tasks.<name>`` merged into the config class of its ``type`` (a tagged union): a setting
    that class lacks is an error naming the key and the settings the kind has."""
    key = f"tasks.{name}"
    if not isinstance(node, DictConfig):
        raise ConfigError(f"{key}: must be a mapping of task settings, got {node!r}")
    cls = task_config_class(str(node.get("type", TaskConfig.type)))
    known = [f.name for f in fields(cls)]
    for k in node:
        if k not in known:
            raise ConfigError(f"{key}.{k}: not a setting of a '{node.get('type', TaskConfig.type)}' task (its settings: {', '.join(known)})")
    try:
        return OmegaConf.merge(OmegaConf.structured(cls), node)  # type: ignore[return-value]
    except OmegaConfBaseException as exc:
        raise ConfigError(f"{key}.{_omegaconf_message(exc)}") from None


def to_flat_dict(params: Params) -> dict[str, object]:
    """Dotted-key view of the params, for MLflow's ``log_params``."""
    container = OmegaConf.to_container(OmegaConf.structured(params), resolve=True)
    out: dict[str, object] = {}

    def walk(prefix: str, node: object) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        else:
            out[prefix] = node

    walk("", container)
    return out
