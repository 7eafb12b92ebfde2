"""What every ``pipeline/<stage>.py`` shares: argument parsing, params loading, one-line errors.

A stage is called as ``python -m pipeline.<stage> [model=gpt] [task=sentiment] [hydra.override=...]``.
``model=``/``task=`` select the stage's item (DVC foreach/matrix); everything else is a Hydra override
of ``params.yaml``. Errors print ``error: <message>`` on one line and exit with status 2.
"""

from __future__ import annotations

import logging
import pickle
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .config import ConfigError, Params, load_params
from .config.schema import ARCHS
from .allocator import keep_freed_memory

log = logging.getLogger("bertvsgpt")


class StageError(RuntimeError):
    """A stage cannot run with the given inputs; the message says why."""


@dataclass
class StageArgs:
    params: Params
    item: dict[str, str] = field(default_factory=dict)
    overrides: list[str] = field(default_factory=list)


def parse_args(argv: Sequence[str], item_keys: Sequence[str] = ()) -> tuple[dict[str, str], list[str]]:
    """Split ``argv`` into the stage's own ``key=value`` items and Hydra overrides."""
    item: dict[str, str] = {}
    overrides: list[str] = []
    for arg in argv:
        key, sep, value = arg.partition("=")
        if sep and key in item_keys:
            item[key] = value
        else:
            overrides.append(arg)
    missing = [k for k in item_keys if k not in item]
    if missing:
        raise ConfigError(f"{missing[0]}: missing argument, pass {missing[0]}=<name>")
    return item, overrides


# Stages whose ``model=`` item is an architecture (they build it or export it), not a fine-tuning model name.
ARCH_STAGES = ("tokenizer", "pretrain", "scratch", "finetune_budget", "export")


def stage_name(main: Callable) -> str:
    """``pipeline/<stage>.py``'s stage name, from the file that defines its ``main``."""
    return Path(getattr(getattr(main, "__code__", None), "co_filename", "") or "").stem


def check_item(item: dict[str, str], params: Params, stage: str = "") -> None:
    """The stage's item names a model the stage takes (an architecture for the stages that build one)
    and a configured task."""
    if "model" in item and stage in ARCH_STAGES and item["model"] not in ARCHS:
        raise ConfigError(
            f"model: stage {stage} takes an architecture, not '{item['model']}' (accepted: {', '.join(ARCHS)})"
        )
    if "model" in item and stage == "published" and item["model"] not in params.published:
        raise ConfigError(f"model: '{item['model']}' is not a published checkpoint in params.yaml published "
                          f"(configured: {', '.join(params.published) or 'none'})")
    if "model" in item and item["model"] not in params.model_names():
        raise ConfigError(f"model: unknown model '{item['model']}' (known: {', '.join(params.model_names())})")
    if "task" in item and item["task"] not in params.tasks:
        raise ConfigError(f"task: unknown task '{item['task']}' (configured in params.yaml tasks: {', '.join(params.tasks)})")


def run_stage(main: Callable[[StageArgs], None], item_keys: Sequence[str] = (), argv: Sequence[str] | None = None) -> None:
    logging.basicConfig(
        level=os.environ.get("BERTVSGPT_LOG", "INFO"), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        item, overrides = parse_args(sys.argv[1:] if argv is None else argv, item_keys)
        params = load_params(os.environ.get("BERTVSGPT_PARAMS", "params.yaml"), overrides)
        check_item(item, params, stage_name(main))
        keep_freed_memory()  # every stage: large CPU temporaries are reused, not page-faulted in again per step
        main(StageArgs(params=params, item=item, overrides=overrides))
    except SystemExit as exc:
        if type(exc).__name__ == "SIGTERMException":  # Lightning's, a SystemExit with code None
            print("error: terminated by SIGTERM; run the stage again to resume from its last checkpoint", file=sys.stderr)
            sys.exit(143)
        raise
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        sys.exit(130)
    except (ConfigError, StageError, FileNotFoundError, ValueError, RuntimeError, OSError, pickle.UnpicklingError) as exc:
        if os.environ.get("BERTVSGPT_TRACEBACK"):
            raise
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"error: {msg}", file=sys.stderr)
        sys.exit(2)
