"""Tiny workspaces for running the real ``pipeline.pretrain`` / ``pipeline.finetune`` entry points.

A workspace is a temporary folder laid out like the repository root as DVC sees it when it runs a
stage: ``params.yaml`` (the repository's own, with a tiny model and budget), ``data/tokenizers/<arch>``
(a tokenizer and token store built once per test session from a synthetic corpus and copied into each
workspace, because the WordPiece trainer is not bit-reproducible, see the README), and, for
fine-tuning, ``data/models/<model>`` and ``data/prepared/tasks/<task>.parquet``. Stages run as
``python -m pipeline.<stage> ...`` subprocesses with the workspace as working directory, the
repository's ``pipeline/`` and ``src/`` on ``PYTHONPATH`` and an MLflow SQLite store in the workspace:
``workspace.run_stage(ws, workspace.stage_env(ws, code=CODE_ROOT), stage, ..., check=True)``.

Used by ``test_resume_kill.py``, ``test_determinism.py`` and ``test_ddp.py``.
"""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from tests.e2e_data import CORPUS_WORDS, write_prepared_corpus
from tests.reliability.workspace import stage_cmd, stage_env

ROOT = Path(__file__).resolve().parents[2]
CODE_ROOT = ROOT  # where the stages' pipeline/ and src/ are imported from

# Wall-clock and machine-dependent keys of metrics/pretrain/<arch>.json (= data/models/<arch>/summary.json)
# and columns of curve.csv. Everything else must be reproducible.
PRETRAIN_TIMING_KEYS = ("train_seconds", "tokens_per_second", "mfu", "peak_memory_mb", "peak_flops_per_device")
CURVE_TIMING_COLUMNS = ("tokens_per_second", "mfu")
# Wall-clock keys of a fine-tuning metrics.json.
FINETUNE_TIMING_KEYS = ("train_seconds",)

WORDS = [*CORPUS_WORDS,
         *"court harvest road writer nation history spring war vote committee defends remembers studies".split()]


def base_params(**overrides: Any) -> dict:
    """The repository's params.yaml with a tiny model, fp32 and the given dotted overrides."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["tokenizer"].update(vocab_size=300, min_frequency=1)
    params["model"].update(n_layer=1, n_head=2, d_model=32, d_ff=64, max_seq_len=32)
    params["pretrain"].update(seq_len=32, batch_size=4, precision="32-true", checkpoint_fractions=[0.5],
                              log_every_n_steps=1, accelerator="cpu", seeds=None)  # one pre-training run
    # eager: compiling costs ~30-60 s a process; tests/pretraining/test_run.py holds compiled runs to eager ones
    params["pretrain"]["compile"] = {"bert": False, "gpt": False}
    params["pretrain"]["bert"]["max_predictions_per_seq"] = 5
    params["finetune"]["min_steps"] = 0  # tiny runs: the epochs the test asks for, not the default's step floors
    for task in params["tasks"].values():
        task.pop("min_steps", None)
    params["budget"]["task"] = "sentiment"  # the task every tiny workspace fine-tunes
    for dotted, value in overrides.items():
        node = params
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node[key]
        assert leaf in node, f"params.yaml has no key {dotted}"
        node[leaf] = value
    return params


_TOKENIZERS: dict[tuple[str, int], Path] = {}


def tokenizer_dir(tmp_path_factory, arch: str, n_docs: int) -> Path:
    """``tokenizer`` stage output for ``arch`` on an ``n_docs`` synthetic corpus, built once per session."""
    key = (arch, n_docs)
    if key not in _TOKENIZERS:
        from bertvsgpt.config import load_params
        from bertvsgpt.tokenization.build import build_tokenizer

        root = tmp_path_factory.mktemp(f"tokenizer-{arch}-{n_docs}")
        (root / "params.yaml").write_text(yaml.safe_dump(base_params()))
        corpus = write_prepared_corpus(root / "corpus.parquet", n_docs, heldout_every=8, words=WORDS)
        build_tokenizer(arch, load_params(root / "params.yaml"), corpus, root / arch)
        _TOKENIZERS[key] = root / arch
    return _TOKENIZERS[key]


def make_workspace(path: Path, params: dict, tokenizers: dict[str, Path]) -> Path:
    """``path`` with ``params.yaml`` and a copy of each ``data/tokenizers/<arch>``."""
    path.mkdir(parents=True)
    (path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    for arch, src in tokenizers.items():
        shutil.copytree(src, path / "data" / "tokenizers" / arch)
    return path


def ckpt_step(path: Path) -> int | None:
    """``global_step`` of a Lightning checkpoint, or None while it is missing or half-written."""
    import torch

    try:
        return int(torch.load(path, map_location="cpu", weights_only=True)["global_step"])
    except Exception:  # noqa: BLE001 - absent, or caught mid-write
        return None


def start_and_kill(workspace: Path, stage: str, args: list[str], ckpt: Path, min_step: int, sig: int,
                   timeout: float = 240) -> tuple[subprocess.Popen, int, str]:
    """Start a stage, wait until ``ckpt`` holds a step >= ``min_step``, send ``sig``, wait for the exit.

    Returns the finished process, the checkpoint step seen just before the signal and its output."""
    log = workspace / f"killed-{signal.Signals(sig).name}.log"
    with log.open("w") as fh:
        proc = subprocess.Popen(stage_cmd(stage, *args), cwd=workspace, env=stage_env(workspace, code=CODE_ROOT),
                                stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        seen = None
        try:
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    raise AssertionError(f"the stage finished (exit {proc.returncode}) before it could be killed:\n"
                                         + log.read_text()[-3000:])
                if ckpt.exists():
                    seen = ckpt_step(ckpt)
                    if seen is not None and seen >= min_step:
                        break
                time.sleep(0.05)
            else:
                raise AssertionError(f"no checkpoint at step >= {min_step} within {timeout} s:\n" + log.read_text()[-3000:])
            proc.send_signal(sig)
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return proc, seen, log.read_text()


def task_table(n_train: int = 96, n_eval: int = 24, seed: int = 0) -> pl.DataFrame:
    """A small classification table in the prepare stage's layout (id, split, text, label)."""
    rng = random.Random(seed)
    rows = []
    for split, n in (("train", n_train), ("dev", n_eval), ("test", n_eval)):
        for _ in range(n):
            words = [rng.choice(WORDS) for _ in range(rng.randint(4, 12))]
            label = "pos" if {"great", "new", "quiet"} & set(words) else "neg"
            rows.append({"id": f"ex{len(rows)}", "split": split, "text": " ".join(words), "label": label})
    return pl.DataFrame(rows)


def mlflow_runs(workspace: Path, stage: str) -> list:
    """The workspace's MLflow runs of ``stage``, oldest first."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{workspace / 'mlflow.db'}")
    exp = client.get_experiment_by_name("bert-vs-gpt")
    runs = client.search_runs([exp.experiment_id], filter_string=f"tags.stage = '{stage}'", max_results=100)
    return sorted(runs, key=lambda r: r.info.start_time)


def pretrain_runs(workspace: Path, tokens_per_step: int) -> list[dict]:
    """The workspace's MLflow runs of one pre-training run each (nested in the stage's run), oldest first: status and the global steps trained in each,
    in the order they were logged (per-step ``compute/tokens_seen``), split into ``segments`` wherever the
    next step is not the previous one + 1: a run continued after a kill holds the killed process's steps
    ``1..s`` and the re-run's ``k+1..N`` (one segment when ``s == k``)."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{workspace / 'mlflow.db'}")
    # the curve is in each pre-training run's own MLflow run, nested in the stage's (tag pretrain_seed)
    runs = [r for r in mlflow_runs(workspace, "pretrain") if "pretrain_seed" in r.data.tags]
    out = []
    for run in runs:
        history = sorted(client.get_metric_history(run.info.run_id, "compute/tokens_seen"), key=lambda m: (m.timestamp, m.step))
        segments: list[list[int]] = []
        for step in (int(round(m.value)) // tokens_per_step for m in history):
            if segments and segments[-1][-1] == step:
                continue
            if not segments or step != segments[-1][-1] + 1:
                segments.append([])
            segments[-1].append(step)
        out.append({"run_id": run.info.run_id, "status": run.info.status, "segments": segments})
    return out


def files(root: Path) -> dict[str, bytes]:
    """Every file below ``root`` (relative posix path -> bytes)."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def without(d: dict, keys) -> dict:
    return {k: v for k, v in d.items() if k not in keys}
