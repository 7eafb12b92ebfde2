"""A throw-away copy of the repository with tiny local data, for tests that run real stages.

``make_repo`` copies ``dvc.yaml``, ``pipeline/`` and ``src/`` into a temporary folder and writes a
``params.yaml`` that points every source at the synthetic data of :mod:`tests.e2e_data`, with a tiny
model and token budget. By default only BERT is pre-trained and only ``sentiment`` is fine-tuned, so
every stage is cheap (``dvc repro pretrain@bert``, i.e. fetch, prepare, tokenizer@bert and
pretrain@bert, takes about a minute on 2 busy cores, most of it interpreter start-up and imports).
Used by ``test_bad_inputs.py``, ``test_safe_loading.py``, ``test_mlflow_server.py``, ``test_dvc_remote.py`` and
``tests/hf/test_published_e2e.py``; ``stage_env``/``run_stage`` also by ``tiny_stage`` and its tests, with ``code=``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

from tests.e2e_data import write_corpus, write_task_sources

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the venv's bin: python, dvc, mlflow

# source written by tests/e2e_data.py for each task in params.yaml, and lengths that fit max_seq_len=64
TASK_SOURCES = {
    "sentiment": ("tiny_reviews", {"max_length": 24}),
    "news": ("tiny_news", {"max_length": 32}),
    "intent": ("tiny_intent", {"max_length": 24}),
    "ner": ("tiny_ner", {"max_length": 32, "entity_view": "all"}),
    "qa": ("tiny_qa", {"max_length": 48, "doc_stride": 16}),
    "commonsense": ("tiny_commonsense", {"max_length": 40}),
    "mt": ("tiny_mt", {"max_length": 56, "max_target_length": 20, "decoder_layers": 1, "max_dev_generate": 8}),
}
GIT_ID = ["-c", "user.name=reliability-test", "-c", "user.email=test@example.invalid", "-c", "commit.gpgsign=false"]


def tiny_params(data_dir: Path, archs: tuple[str, ...] = ("bert",), tasks: tuple[str, ...] = ("sentiment",)) -> dict:
    """params.yaml on the synthetic data: every task configured, only ``tasks`` fine-tuned."""
    sources = write_task_sources(data_dir)
    write_corpus(data_dir / "corpus.txt")
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["data"]["corpus"] = ["tiny_corpus"]
    params["data"]["sources"] = {
        "tiny_corpus": {"client": "local", "spec": str(data_dir / "corpus.txt"), "format": "text", "licence": "synthetic"},
        **sources,
    }
    params["data"]["heldout_fraction"] = 0.1
    params["tasks"] = {t: params["tasks"][t] for t in TASK_SOURCES}  # the seven English tasks (not the zh preset's)
    for task, (source, sizes) in TASK_SOURCES.items():
        params["tasks"][task].update(source=source, dev_fraction=0.15, test_fraction=0.15, **sizes)
    params["tokenizer"].update(vocab_size=400, min_frequency=1)
    params["model"].update(n_layer=1, n_head=2, d_model=32, d_ff=64, max_seq_len=64, dropout=0.0)
    params["pretrain"].update(max_tokens=2048, batch_size=8, seq_len=32, precision="32-true", log_every_n_steps=2,
                              models=list(archs), seeds=None)  # one pre-training run (one fine-tuning seed)
    params["pretrain"]["bert"]["max_predictions_per_seq"] = 5
    params["finetune"]["min_steps"] = 0
    for task in params["tasks"].values():
        task.pop("min_steps", None)
    params["budget"]["task"] = "sentiment"
    models = [m for a in archs for m in (a, f"{a}-scratch")]
    params["finetune"].update(models=models, tasks=list(tasks), seeds=[0], max_epochs=1, batch_size=16, lr=0.001,
                              precision="32-true")
    params["evaluate"].update(max_heldout_tokens=1000, max_new_tokens=3)
    params["published"] = {}  # nothing to fetch from a registry; a test adds its own local checkpoint
    return params


def stage_env(cwd: Path, *, code: Path | None = None, **extra: str) -> dict[str, str]:
    """The environment a stage runs in, ``cwd`` its working directory: none of the caller's tracking server,
    ``BERTVSGPT_PARAMS`` or ``BERTVSGPT_TRACEBACK``, no telemetry, one thread; then ``extra``.

    ``code=None``: ``cwd`` is a repository copy (:func:`make_repo`): the venv first on PATH, the copy's src/
    importable, no ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD``, no tracking server unless ``extra`` sets one, WARNING logs.
    ``code=<a repository root>``: ``cwd`` is a bare stage workspace (``tiny_stage``): that root's pipeline/ and
    src/ importable, an MLflow SQLite store in ``cwd``, INFO logs (the tests read them), unbuffered output (a
    killed stage's log is complete), one MKL thread too."""
    env = {**os.environ}
    for key in ("MLFLOW_TRACKING_URI", "BERTVSGPT_TRACEBACK", "BERTVSGPT_PARAMS", "PYTHONPATH"):
        env.pop(key, None)
    env.update(MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true", OMP_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1")
    if code is None:
        env.pop("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", None)
        env.update(PATH=f"{BIN}:{os.environ.get('PATH', '')}", PYTHONPATH=str(cwd / "src"), BERTVSGPT_LOG="WARNING")
    else:
        env.update(PYTHONPATH=f"{code}{os.pathsep}{code / 'src'}", MLFLOW_TRACKING_URI=f"sqlite:///{cwd / 'mlflow.db'}",
                   BERTVSGPT_LOG="INFO", PYTHONUNBUFFERED="1", MKL_NUM_THREADS="1")
    env.update(extra)
    return env


def make_repo(tmp: Path, archs: tuple[str, ...] = ("bert",), tasks: tuple[str, ...] = ("sentiment",),
              params_overrides: dict | None = None) -> Path:
    """``tmp/repo``: dvc.yaml, pipeline/, src/, the real .gitignore and a tiny params.yaml (data in ``tmp/inputs``)."""
    data_dir = tmp / "inputs"
    data_dir.mkdir(parents=True)
    repo = tmp / "repo"
    repo.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for name in ("dvc.yaml", "pipeline", "src", ".gitignore"):
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, repo / name, ignore=ignore)
        else:
            shutil.copy(src, repo / name)
    params = tiny_params(data_dir, archs, tasks)
    for dotted, value in (params_overrides or {}).items():
        node = params
        *parents, leaf = dotted.split(".")
        for k in parents:
            node = node[k]
        node[leaf] = value
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return repo


def run(cmd: list[str], cwd: Path, env: dict, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess:
    """Run ``cmd``; on ``check`` a non-zero exit fails the test with the tail of its output."""
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    if check:
        assert proc.returncode == 0, f"{cmd} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *GIT_ID, *args], cwd=repo, check=True, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL).stdout.strip()


def git_init_commit(repo: Path, message: str = "init") -> str:
    """``git init`` + commit everything; return HEAD."""
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


# --------------------------------------------------------------------------------------------
# running one stage the way DVC does, and judging how it failed


def stage_cmd(stage: str, *args: str) -> list[str]:
    return [sys.executable, "-m", f"pipeline.{stage}", *args]


def run_stage(cwd: Path, env: dict, stage: str, *args: str, timeout: float = 300,
              check: bool = False) -> tuple[subprocess.CompletedProcess, float]:
    """``python -m pipeline.<stage> args...`` in ``cwd``; returns the finished process and its wall time.
    On ``check`` a non-zero exit fails the test with the tail of its output."""
    t0 = time.monotonic()
    proc = subprocess.run(stage_cmd(stage, *args), cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    seconds = time.monotonic() - t0
    if check:
        assert proc.returncode == 0, (
            f"pipeline.{stage} {' '.join(args)} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-4000:]}"
        )
    return proc, seconds


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    """The stage failed with exactly one ``error: ...`` line, the last thing on stderr, and no traceback
    (log lines before it are allowed). Returns that line."""
    assert proc.returncode != 0, f"expected a failure, got exit 0:\n{proc.stderr[-2000:]}"
    assert "Traceback" not in proc.stderr, proc.stderr[-4000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, f"expected one 'error:' line, got {len(errors)}:\n{proc.stderr[-4000:]}"
    assert proc.stderr.rstrip().splitlines()[-1] == errors[0], proc.stderr[-4000:]
    return errors[0]


def snapshot(root: Path) -> set[str]:
    """Every file and folder below ``root`` (relative paths)."""
    return {p.relative_to(root).as_posix() for p in Path(root).rglob("*")}
