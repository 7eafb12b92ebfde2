"""Where a published checkpoint comes from: a pinned source (fetched like the data sources) or a hub id.

A hub id is resolved through huggingface_hub's local cache only, unless ``allow_download`` is set
(the default run and the tests never download from a hub).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..config.schema import PublishedConfig
from .mapping import ConversionError

HUB_FILES = ["config.json", "model.safetensors", "model.safetensors.index.json", "model-*.safetensors", "tokenizer.json"]


def _from_hub(name: str, cfg: PublishedConfig) -> tuple[Path, dict[str, Any]]:
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise ConversionError(
            f"published.{name}.hub: hub ids need the huggingface_hub package (pip install huggingface_hub), "
            "or give the checkpoint as a source (a local folder or a registry package)"
        ) from None
    try:
        folder = snapshot_download(cfg.hub, allow_patterns=HUB_FILES, local_files_only=not cfg.allow_download)
    except Exception as exc:  # noqa: BLE001 - huggingface_hub raises many types; the first line says which
        why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        hint = "" if cfg.allow_download else f" (not in the local cache; published.{name}.allow_download: true downloads it)"
        raise ConversionError(f"published.{name}.hub: cannot resolve '{cfg.hub}'{hint}: {why}") from None
    return Path(folder), {"hub": cfg.hub, "revision_folder": Path(folder).name}


def display_name(cfg: PublishedConfig) -> str:
    """How errors name the checkpoint: the user's source (a local path, ``package==version/member``) or hub id."""
    if cfg.hub is not None:
        return f"hub:{cfg.hub}"
    assert cfg.source is not None
    return f"{cfg.source.spec.rstrip('/')}/{cfg.path}" if cfg.path else cfg.source.spec


def resolve_checkpoint(name: str, cfg: PublishedConfig, scratch: Path) -> tuple[Path, dict[str, Any]]:
    """The checkpoint's folder or zip (fetched into ``scratch`` for a source) and its provenance record."""
    if cfg.hub is not None:
        return _from_hub(name, cfg)
    from ..data.fetch import fetch_source

    assert cfg.source is not None  # the schema requires one of source and hub
    record = fetch_source(name, cfg.source, scratch)
    path = scratch / name / cfg.path if cfg.path else scratch / name
    if not path.exists():
        raise ConversionError(f"published.{name}.path: '{cfg.path}' is not among the fetched files ({', '.join(record.get('members', [])[:5])})")
    return path, {"source": record}
