"""One MLflow run per stage run: resolved params, tags (git commit, stage, data checksum), artifacts.

The tracking store is ``tracking.tracking_uri`` from params (default ``sqlite:///mlflow.db``, what
``mlflow ui`` opens); the ``MLFLOW_TRACKING_URI`` environment variable overrides it, e.g. to point
at a shared ``mlflow server``. An unreachable server fails fast with one line instead of hanging; so
does one that accepts connections but does not answer ``/health`` within 5 s.

The experiment is tagged ``mlflow.experimentKind=custom_model_development`` (a model-training
experiment). MLflow 3.17's UI does not use that tag for its landing view any more (its global
"GenAI / Model training" switch decides, GenAI by default): open
the address ``mlflow ui`` prints followed by ``#/experiments/<id>?workflowType=machine_learning``, or click "Model training"
once, to see the runs table (``tests/report/test_mlflow_ui_chromium.py``).

A stage run that was interrupted (killed, SIGTERM, Ctrl-C) is continued, not duplicated: with a
``resume_dir`` the run's id is kept in ``resume_dir/mlflow_run.json``, and the next run of the stage
with the same params and store reopens that run when it did not finish, so a resumed training's
curve continues in the run that holds its first part (and no run is left ``RUNNING`` forever). A reopened run
logs :data:`RESUMED` (value 1) at the moment it is reopened, so the report's stage table
(:mod:`bertvsgpt.report.stage_times`) can leave the interruption out of the stage's wall time, however short.
Only interruptions keep the record: a stage that fails with an error (bad input, a bug) has nothing
to resume and removes it.

Under DDP every rank runs the stage's script; only global rank 0 tracks: on the other ranks
:func:`stage_run` yields ``None`` without touching MLflow and :func:`lightning_logger` gives no logger.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import socket
import urllib.request
import subprocess
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from urllib.parse import urlparse

from ..config import Params, to_flat_dict
from ..distributed import is_global_zero
from ..io import write_json

RUN_RECORD = "mlflow_run.json"  # in a stage's resume dir: the run an interrupted process left unfinished
RESUMED = "stage/resumed"  # metric a reopened run logs when it is reopened (one value per resume)

log = logging.getLogger(__name__)


class TrackingError(RuntimeError):
    """The MLflow tracking store cannot be used."""


def tracking_uri(params: Params) -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or params.tracking.tracking_uri


def check_reachable(uri: str, timeout: float = 5.0) -> None:
    """Raise :class:`TrackingError` when an http(s) tracking server does not accept connections."""
    parsed = urlparse(uri)
    if parsed.scheme not in ("http", "https"):
        return
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    hint = "start it, or unset MLFLOW_TRACKING_URI to use the local sqlite:///mlflow.db store"
    try:
        with socket.create_connection((parsed.hostname, port), timeout=timeout):
            pass
    except OSError as exc:
        raise TrackingError(f"MLflow tracking server {uri} is unreachable ({exc.strerror or exc}); {hint}") from None
    try:  # accepting connections is not enough: a hung server would stall every request
        with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout) as resp:
            resp.read(64)
    except (OSError, ValueError) as exc:
        raise TrackingError(f"MLflow tracking server {uri} does not answer /health within {timeout:g} s ({exc}); {hint}") from None


EXPERIMENT_KIND_TAG = "mlflow.experimentKind"  # read by MLflow 3.x's UI to pick the experiment's landing view
EXPERIMENT_KIND = "custom_model_development"  # "model training": the runs table, not the GenAI traces view


def mark_model_training(experiment: "object") -> None:
    """Tag the stage's experiment as a model-training one, so ``mlflow ui`` opens it on the runs table."""
    if (getattr(experiment, "tags", None) or {}).get(EXPERIMENT_KIND_TAG) == EXPERIMENT_KIND:
        return
    from mlflow import MlflowClient

    MlflowClient().set_experiment_tag(experiment.experiment_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
        return out + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def data_checksum(paths: Iterable[str | Path]) -> str:
    """A short sha256 over the contents of the given files/directories (sorted, so stable)."""
    h = hashlib.sha256()
    for root in sorted(Path(p) for p in paths):
        files = sorted(f for f in root.rglob("*") if f.is_file()) if root.is_dir() else [root]
        for f in files:
            if not f.exists():
                continue
            h.update(str(f.as_posix()).encode())
            with f.open("rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
    return h.hexdigest()[:16]


@contextlib.contextmanager
def stage_run(
    params: Params,
    stage: str,
    run_name: str | None = None,
    inputs: Iterable[str | Path] = (),
    tags: Mapping[str, str] | None = None,
    nested: bool = False,
    resume_dir: str | Path | None = None,
) -> Iterator["object"]:
    """Open an MLflow run for a stage; yields the active ``mlflow.ActiveRun`` (``None`` on DDP ranks > 0).

    ``resume_dir``: where the stage keeps its resumable state; an unfinished run recorded there
    (same store, experiment, run name and params) is reopened instead of starting a new one.
    """
    if not is_global_zero():  # rank 0 holds the stage's run; the other ranks only train
        yield None
        return
    import mlflow

    uri = tracking_uri(params)
    check_reachable(uri)
    # a slow server fails the stage in about a minute, not after MLflow's default 7 x 120 s retries
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    mlflow.set_tracking_uri(uri)
    experiment = mlflow.set_experiment(params.tracking.experiment)
    mark_model_training(experiment)
    all_tags = {"stage": stage, "git_commit": git_commit(), "data_checksum": data_checksum(inputs)}
    all_tags.update(tags or {})
    flat = {k: ("null" if v is None else v) for k, v in to_flat_dict(params).items()}
    # MLflow caps a param value at 6000 chars and a batch at 100 params
    items = [(k, str(v)[:500]) for k, v in flat.items()]
    identity = {
        "tracking_uri": uri,
        "experiment_id": experiment.experiment_id,
        "run_name": run_name or stage,
        "params": hashlib.sha256(json.dumps(items).encode()).hexdigest()[:16],
    }
    record = Path(resume_dir) / RUN_RECORD if resume_dir is not None else None
    run_id = unfinished_run(record, identity)
    if run_id is not None:
        log.info("continuing the interrupted MLflow run %s (%s)", run_id, identity["run_name"])
    with mlflow.start_run(run_id=run_id, run_name=run_name or stage, nested=nested, tags=all_tags) as run:
        if record is not None:
            write_json(record, {**identity, "run_id": run.info.run_id})
        if run_id is not None:
            mlflow.log_metric(RESUMED, 1.0)
        if not nested and run_id is None:
            for i in range(0, len(items), 100):
                mlflow.log_params(dict(items[i : i + 100]))
        try:
            yield run
        except Exception:  # not KeyboardInterrupt/SystemExit (SIGTERM): an error leaves no record
            if record is not None:
                record.unlink(missing_ok=True)
            raise


def unfinished_run(record: Path | None, identity: Mapping[str, str]) -> str | None:
    """The run id kept in ``record`` if that run exists with the same identity and did not finish."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    if record is None or not record.is_file():
        return None
    try:
        kept = json.loads(record.read_text())
    except (OSError, ValueError):
        return None
    if any(kept.get(k) != v for k, v in identity.items()):
        return None
    try:
        info = MlflowClient(identity["tracking_uri"]).get_run(kept["run_id"]).info
    except (MlflowException, KeyError):
        return None
    return kept["run_id"] if info.status != "FINISHED" and info.lifecycle_stage == "active" else None


def lightning_logger(params: Params, run: "object"):
    """Lightning's MLflow logger attached to the stage's already-open run (per-step metrics);
    ``None`` (no logger) for the ``None`` run of a DDP rank > 0."""
    if run is None:
        return None
    from lightning.pytorch.loggers import MLFlowLogger

    return MLFlowLogger(
        experiment_name=params.tracking.experiment,
        tracking_uri=tracking_uri(params),
        run_id=run.info.run_id,
        log_model=False,
    )
