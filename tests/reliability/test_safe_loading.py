"""Safe loading: a tampered checkpoint is refused, not executed; weights are exported as safetensors;
params YAML is loaded safely.

The tampered file is a real checkpoint with one more entry whose pickle payload runs
``touch <marker>`` when unpickled (``__reduce__`` -> ``os.system``). A control test shows the
payload is live (an unsafe load creates the marker); every other test asserts that the loader
raises and that the marker was not created.

Loaders in the code (``grep -rn "torch.load\\|ckpt_path" src pipeline``):

* ``tasks/trainer.py``: the best fine-tuning checkpoint, ``torch.load(..., weights_only=True)``;
* ``pretraining/run.py`` and ``tasks/trainer.py``: resuming from ``last.ckpt`` through Lightning's
  ``trainer.fit(ckpt_path=...)``, which calls ``torch.load`` with the ``weights_only`` it is given
  (default ``None``: PyTorch's default, ``True`` since 2.6 unless ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` is set);
* ``models/io.py``: pre-trained weights, ``safetensors.torch.load_model`` (no pickle at all);
* ``config/load.py``: params through Hydra/OmegaConf, whose YAML loader is a ``yaml.SafeLoader``.
"""

from __future__ import annotations

import ast
import os
import pickle
import shlex
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from bertvsgpt.config import ConfigError, load_params
from tests.reliability.workspace import ROOT, make_repo, one_line_error, run_stage, snapshot, stage_env

FORCE_UNSAFE = "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"  # PyTorch's switch back to unsafe loading when weights_only is not passed
PICKLE_SUFFIXES = {".ckpt", ".pt", ".pth", ".bin", ".pkl", ".pickle"}


class Payload:
    """Unpickling this runs ``touch <marker>``."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {shlex.quote(self.marker)}",))


def tamper(path: Path, marker: Path, base: dict | None = None) -> Path:
    """Write ``base`` (a real checkpoint's contents) plus a pickle payload to ``path`` with ``torch.save``."""
    torch.save({**(base or {"state_dict": {"w": torch.zeros(2)}}), "payload": Payload(marker)}, path)
    return path


@pytest.fixture(autouse=True)
def _no_unsafe_env(monkeypatch):
    monkeypatch.delenv(FORCE_UNSAFE, raising=False)
    monkeypatch.delenv("TORCH_FORCE_WEIGHTS_ONLY_LOAD", raising=False)


# --- the payload and torch.load itself -----------------------------------------------------------------


def test_the_payload_is_live_when_unpickled_unsafely(tmp_path):
    """Control: without weights_only the tampered file runs its payload (so the other tests mean something)."""
    marker = tmp_path / "pwned"
    ckpt = tamper(tmp_path / "last.ckpt", marker)
    torch.load(ckpt, map_location="cpu", weights_only=False)
    assert marker.exists()


@pytest.mark.parametrize("force_unsafe", [False, True], ids=["default", FORCE_UNSAFE])
def test_weights_only_load_refuses_the_payload(tmp_path, monkeypatch, force_unsafe):
    """``weights_only=True`` refuses the payload, even where the environment asks PyTorch for unsafe loads."""
    if force_unsafe:
        monkeypatch.setenv(FORCE_UNSAFE, "1")
    marker = tmp_path / "pwned"
    ckpt = tamper(tmp_path / "best.ckpt", marker)
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        torch.load(ckpt, map_location="cpu", weights_only=True)
    assert not marker.exists()


# --- every checkpoint load in the code is weights_only ----------------------------------------------


def _calls(*roots: Path):
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            tree = ast.parse(path.read_text(), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Call):
                    yield path.relative_to(ROOT), node


def _name(func: ast.expr) -> str:
    return ast.unparse(func)


def _weights_only_true(call: ast.Call) -> bool:
    return any(k.arg == "weights_only" and isinstance(k.value, ast.Constant) and k.value.value is True for k in call.keywords)


CODE = (ROOT / "src" / "bertvsgpt", ROOT / "pipeline")


def test_every_torch_load_passes_weights_only_true():
    loads = [(p, c) for p, c in _calls(*CODE) if _name(c.func) == "torch.load"]
    assert loads, "expected at least one torch.load (the best fine-tuning checkpoint)"
    unsafe = [f"{p}:{c.lineno}" for p, c in loads if not _weights_only_true(c)]
    assert unsafe == [], f"torch.load without weights_only=True: {unsafe}"


def test_no_other_unsafe_deserialiser_in_the_code():
    banned = {"pickle.load", "pickle.loads", "yaml.load", "yaml.unsafe_load", "yaml.full_load", "torch.jit.load",
              "joblib.load", "dill.load"}
    found = [f"{p}:{c.lineno} {_name(c.func)}" for p, c in _calls(*CODE) if _name(c.func) in banned]
    found += [f"{p}:{c.lineno} np.load(allow_pickle=True)" for p, c in _calls(*CODE)
              if _name(c.func).endswith(".load") and any(k.arg == "allow_pickle" and getattr(k.value, "value", False) for k in c.keywords)]
    assert found == []




def test_every_lightning_checkpoint_load_passes_weights_only_true():
    """``Trainer.fit/validate/test/predict(ckpt_path=...)`` and ``load_from_checkpoint`` load with torch.load:
    each must say ``weights_only=True`` itself instead of relying on PyTorch's default."""
    loads = [(p, c) for p, c in _calls(*CODE)
             if any(k.arg == "ckpt_path" and not (isinstance(k.value, ast.Constant) and k.value.value is None) for k in c.keywords)
             or _name(c.func).endswith("load_from_checkpoint")]
    assert loads, "expected the pre-training and fine-tuning resumes"
    unsafe = [f"{p}:{c.lineno} {_name(c.func)}" for p, c in loads if not _weights_only_true(c)]
    assert unsafe == [], f"checkpoint loads without weights_only=True: {unsafe}"


# --- a real pre-training run: resume refuses a tampered last.ckpt; exports are safetensors -----------


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    """A tiny BERT pre-trained in-process on the synthetic corpus, with its resume folder."""
    from bertvsgpt.data.fetch import fetch_all
    from bertvsgpt.data.prepare import prepare
    from bertvsgpt.pretraining.run import pretrain
    from bertvsgpt.tokenization.build import build_tokenizer

    tmp = tmp_path_factory.mktemp("safe")
    repo = make_repo(tmp)
    params = load_params(repo / "params.yaml")
    data = tmp / "data"
    fetch_all(params.used_sources(), params.data.sources, data / "raw")
    prepare(params, data / "raw", data / "prepared")
    tok = data / "tokenizers" / "bert"
    build_tokenizer("bert", params, data / "prepared" / "corpus.parquet", tok)
    threads, det = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(1)
    try:
        pretrain("bert", params, tok, data / "models" / "bert", data / "resume" / "bert", enable_progress_bar=False)
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(det)
    return SimpleNamespace(params=params, data=data, tokenizer=tok, model=data / "models" / "bert",
                           resume=data / "resume" / "bert")


def _resume_with_tampered_last(pretrained, tmp_path) -> tuple[Path, Path, BaseException | None]:
    from bertvsgpt.pretraining.run import pretrain

    resume = tmp_path / "resume"
    shutil.copytree(pretrained.resume, resume)
    last = resume / "last.ckpt"
    assert last.is_file() and (resume / "fingerprint.txt").is_file()
    marker = tmp_path / "pwned"
    tamper(last, marker, torch.load(last, map_location="cpu", weights_only=True))
    out = tmp_path / "model"
    threads, det = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    error = None
    try:
        pretrain("bert", pretrained.params, pretrained.tokenizer, out, resume, enable_progress_bar=False)
    except Exception as exc:  # noqa: BLE001 - inspected by the caller
        error = exc
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(det)
    return marker, out, error


def test_pretrain_resume_refuses_a_tampered_checkpoint(pretrained, tmp_path):
    marker, out, error = _resume_with_tampered_last(pretrained, tmp_path)
    assert not marker.exists(), "the checkpoint's payload ran"
    assert isinstance(error, pickle.UnpicklingError), repr(error)
    assert not out.exists()  # nothing exported from a refused resume


def test_pretrain_resume_refuses_a_tampered_checkpoint_whatever_the_environment(pretrained, tmp_path, monkeypatch):
    monkeypatch.setenv(FORCE_UNSAFE, "1")
    marker, _, error = _resume_with_tampered_last(pretrained, tmp_path)
    assert not marker.exists(), "the checkpoint's payload ran"
    assert isinstance(error, pickle.UnpicklingError), repr(error)


def test_pretrained_weights_are_exported_as_safetensors(pretrained):
    from safetensors import safe_open

    files = [p for p in pretrained.model.rglob("*") if p.is_file()]
    assert [p for p in files if p.suffix in PICKLE_SUFFIXES] == []
    weights = [p for p in files if p.suffix == ".safetensors"]
    assert pretrained.model / "model.safetensors" in weights
    assert len(weights) >= 2, "expected the budget checkpoints too"  # pretrain.checkpoint_fractions
    for w in weights:
        with safe_open(str(w), framework="pt") as f:
            assert len(list(f.keys())) > 0


# --- load_pretrained: safetensors only --------------------------------------------------------------


@pytest.fixture
def model_dir(pretrained, tmp_path) -> Path:
    d = tmp_path / "bert"
    shutil.copytree(pretrained.model, d, ignore=shutil.ignore_patterns("checkpoints"))
    return d


def test_load_pretrained_reads_the_exported_model(model_dir):
    from bertvsgpt.models import load_pretrained

    model, config = load_pretrained(model_dir)
    assert config.d_model == 32 and not model.training


def _corrupt(model_dir: Path, how: str, marker: Path) -> None:
    weights = model_dir / "model.safetensors"
    if how == "pickle":
        tamper(weights, marker, {"state_dict": {"w": torch.zeros(2)}})
    elif how == "truncated":
        weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    elif how == "empty":
        weights.write_bytes(b"")
    else:
        raise AssertionError(how)


@pytest.mark.parametrize("how", ["pickle", "truncated", "empty"])
def test_load_pretrained_refuses_a_non_safetensors_or_corrupted_file(model_dir, tmp_path, how):
    from bertvsgpt.models import load_pretrained

    marker = tmp_path / "pwned"
    _corrupt(model_dir, how, marker)
    with pytest.raises(Exception) as info:
        load_pretrained(model_dir)
    assert not marker.exists()
    assert "header" in str(info.value) or "safetensors" in str(info.value).lower(), repr(info.value)


@pytest.mark.parametrize("how", ["pickle", "truncated"])
def test_load_pretrained_error_names_the_file_in_one_line(model_dir, tmp_path, how):
    from bertvsgpt.models import load_pretrained

    _corrupt(model_dir, how, tmp_path / "pwned")
    with pytest.raises(Exception) as info:
        load_pretrained(model_dir)
    assert isinstance(info.value, (ValueError, RuntimeError, OSError)), repr(info.value)  # the CLI's one-line errors
    assert str(model_dir / "model.safetensors") in str(info.value) and "\n" not in str(info.value)


def test_fine_tuned_weights_are_exported_as_safetensors(pretrained, tmp_path):
    """A real (tiny) fine-tuning run as the finetune stage calls it, resume folder included."""
    import polars as pl

    from bertvsgpt.tasks.registry import finetune_task
    from bertvsgpt.tasks.options import RunOptions, TaskRun

    p = pretrained.params
    table = pl.read_parquet(pretrained.data / "prepared" / "tasks" / "sentiment.parquet")
    out = tmp_path / "finetune" / "bert" / "sentiment" / "seed_0"
    threads, det = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(1)
    try:
        finetune_task(pretrained.model, TaskRun(table, p.tasks["sentiment"], p.finetune, 0, out),
                      resume_dir=tmp_path / "resume" / "seed_0", options=RunOptions(precision="32-true", enable_progress_bar=False))
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(det)
    files = [f.relative_to(out).as_posix() for f in out.rglob("*") if f.is_file()]
    assert [f for f in files if Path(f).suffix in PICKLE_SUFFIXES] == [], files


# --- params YAML -------------------------------------------------------------------------------------


PYTHON_TAGS = [
    "!!python/object/apply:os.system [{cmd}]",
    "!!python/object/new:subprocess.check_output [[sh, -c, {cmd}]]",
    "!!python/name:os.system",
]


@pytest.mark.parametrize("tag", PYTHON_TAGS, ids=["object-apply", "object-new", "name"])
def test_params_yaml_with_a_python_tag_is_refused_not_executed(tmp_path, tag):
    marker = tmp_path / "pwned"
    text = (ROOT / "params.yaml").read_text()
    evil = tmp_path / "params.yaml"
    cmd = f'"touch {marker}"'
    evil.write_text(text.replace("\nseed: 42", f"\nseed: {tag.format(cmd=cmd)}", 1))
    assert evil.read_text() != text, "params.yaml has no 'seed: 42' line to replace"
    with pytest.raises(ConfigError) as info:
        load_params(evil)
    assert not marker.exists()
    msg = str(info.value)
    assert "\n" not in msg and "params.yaml" in msg, msg


def test_omegaconf_yaml_loader_is_safe():
    """The loader Hydra composes params.yaml with: a SafeLoader subclass (so no python/* constructors)."""
    import yaml
    from omegaconf._utils import get_yaml_loader

    assert issubclass(get_yaml_loader(), yaml.SafeLoader)


def test_stage_refuses_a_params_file_with_a_python_tag(tmp_path):
    """The real CLI: one-line error, non-zero exit, the payload not run, nothing written."""
    repo = make_repo(tmp_path)
    marker = tmp_path / "pwned"
    text = (repo / "params.yaml").read_text()
    evil = tmp_path / "evil.yaml"
    evil.write_text(text.replace("seed: 42", f'seed: !!python/object/apply:os.system ["touch {marker}"]', 1))
    before = snapshot(repo)
    proc, _ = run_stage(repo, stage_env(repo, BERTVSGPT_PARAMS=str(evil)), "fetch")
    line = one_line_error(proc)
    assert "evil.yaml" in line and "python/object/apply" in line, line
    assert not marker.exists()
    assert snapshot(repo) == before
