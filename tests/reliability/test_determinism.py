"""The same params and data give identical metrics and identical output files, twice.

Pre-training (``bertvsgpt.pretraining.run.pretrain``, what ``pipeline/pretrain.py`` calls) and a
classification fine-tune (``bertvsgpt.tasks.registry.finetune_task``, what ``pipeline/finetune.py``
calls) each run twice in this process, the second time into the very same paths after the first
run's outputs were moved aside (what ``dvc repro --force`` does), with dropout on (0.1, the
params.yaml default) and one CPU thread. Every output file must be byte-identical, except for
values that measure the machine rather than the run:

==============================  ==================================================================
output                          excluded (why)
==============================  ==================================================================
``summary.json`` (= metrics/    ``PRETRAIN_TIMING_KEYS``: ``train_seconds``, ``tokens_per_second``,
pretrain/<arch>.json)           ``mfu`` (wall clock), ``peak_memory_mb`` (process RSS),
                                ``peak_flops_per_device`` (a timed matmul on this machine)
``curve.csv`` (= plots/...)     ``CURVE_TIMING_COLUMNS``: ``tokens_per_second``, ``mfu``
``data/resume/.../last.ckpt``   compared by content (weights, optimizer state, step), not bytes: it
                                carries the compute accounting's wall-clock state for resuming
fine-tuning ``metrics.json``    ``FINETUNE_TIMING_KEYS``: ``train_seconds``
==============================  ==================================================================

The fine-tune starts from the model the first pre-training run wrote, so the chain pre-train ->
fine-tune is covered end to end.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import polars as pl
import pytest
import torch
import yaml

from bertvsgpt.config import load_params
from bertvsgpt.pretraining.run import pretrain
from bertvsgpt.tasks.registry import finetune_task
from bertvsgpt.tasks.options import RunOptions, TaskRun
from tests.reliability import tiny_stage as ts

STEPS = 40
N_DOCS = 60


@pytest.fixture(scope="module", autouse=True)
def _one_thread_and_global_state():
    """One intra-op thread; undo the global switches Lightning's deterministic=True flips."""
    n, det = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
    torch.use_deterministic_algorithms(det)


@pytest.fixture(scope="module")
def params(tmp_path_factory):
    raw = ts.base_params(**{
        "pretrain.max_tokens": STEPS * 4 * 32,
        "pretrain.log_every_n_steps": 5,
        "pretrain.checkpoint_fractions": [0.25, 0.5],
        "finetune.max_epochs": 2,
        "finetune.batch_size": 16,
        "finetune.seeds": [0],
        "finetune.precision": "32-true",
        "tasks.sentiment.max_length": 24,
        "model.dropout": 0.1,  # determinism must hold with dropout on (the default pre-trains without)
    })
    assert raw["model"]["dropout"] > 0 and raw["finetune"]["dropout"] > 0
    path = tmp_path_factory.mktemp("determinism-params") / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    return load_params(path)


def move_aside(root: Path, name: str) -> Path:
    target = root.parent / f"{root.name}-{name}"
    shutil.move(root, target)
    return target


@pytest.fixture(scope="module", params=["gpt", "bert"])
def twice(request, tmp_path_factory, params):
    """Pre-train twice, then fine-tune the first run's model twice, each time into the same paths."""
    arch = request.param
    tok = ts.tokenizer_dir(tmp_path_factory, arch, N_DOCS)
    base = tmp_path_factory.mktemp(f"determinism-{arch}")
    ws = base / "ws"
    res = SimpleNamespace(arch=arch, pre=[], ft=[])
    for i in (1, 2):
        summary = pretrain(arch, params, tok, ws / "data" / "models" / arch, ws / "data" / "resume" / f"pretrain-{arch}",
                           enable_progress_bar=False)
        res.pre.append(SimpleNamespace(summary=summary, root=move_aside(ws, f"pretrain{i}")))
    model_dir = res.pre[0].root / "data" / "models" / arch
    table = ts.task_table()
    for i in (1, 2):
        run = TaskRun(table, params.tasks["sentiment"], params.finetune, 0, ws / "finetune" / "seed_0")
        metrics = finetune_task(model_dir, run, options=RunOptions(enable_progress_bar=False))
        res.ft.append(SimpleNamespace(metrics=metrics, root=move_aside(ws, f"finetune{i}") / "finetune" / "seed_0"))
    return res


def test_pretraining_twice_gives_identical_files(twice):
    a, b = (ts.files(r.root / "data" / "models" / twice.arch) for r in twice.pre)
    assert sorted(a) == sorted(b)
    assert {"model.safetensors", "config.json", "tokenizer.json", "summary.json", "curve.csv"} <= set(a)
    assert any(p.startswith("checkpoints/step_") for p in a)  # the budget checkpoints
    differing = sorted(p for p in a if a[p] != b[p])
    assert set(differing) <= {"summary.json", "curve.csv"}, f"files differ between identical runs: {differing}"
    assert "model.safetensors" not in differing


def test_pretraining_twice_gives_identical_metrics(twice):
    one, two = twice.pre
    ref = ts.without(one.summary, ts.PRETRAIN_TIMING_KEYS)
    assert ts.without(two.summary, ts.PRETRAIN_TIMING_KEYS) == ref
    assert ref["steps"] == STEPS and ref["final_train_loss"] > 0
    for run in (one, two):  # the file on disk is the returned summary
        on_disk = json.loads((run.root / "data" / "models" / twice.arch / "summary.json").read_text())
        assert on_disk == json.loads(json.dumps(run.summary))
    curves = [pl.read_csv(r.root / "data" / "models" / twice.arch / "curve.csv") for r in (one, two)]
    cols = [c for c in curves[0].columns if c not in ts.CURVE_TIMING_COLUMNS]
    assert {"step", "loss", "tokens_seen"} <= set(cols)
    assert curves[0].select(cols).equals(curves[1].select(cols))


def test_pretraining_twice_leaves_identical_resume_state(twice):
    resume = [r.root / "data" / "resume" / f"pretrain-{twice.arch}" for r in twice.pre]
    budget = [ts.files(d / "budget") for d in resume]
    assert budget[0] and budget[0] == budget[1]
    assert (resume[0] / "fingerprint.txt").read_text() == (resume[1] / "fingerprint.txt").read_text()
    ck = [torch.load(d / "last.ckpt", map_location="cpu", weights_only=True) for d in resume]
    assert ck[0]["global_step"] == ck[1]["global_step"] == STEPS
    assert ck[0]["state_dict"].keys() == ck[1]["state_dict"].keys()
    for k, v in ck[0]["state_dict"].items():
        assert torch.equal(v, ck[1]["state_dict"][k]), k
    for (sa, sb) in zip(ck[0]["optimizer_states"], ck[1]["optimizer_states"]):
        assert sa["param_groups"] == sb["param_groups"]
        for i, st in sa["state"].items():
            for name, v in st.items():
                assert torch.equal(torch.as_tensor(v), torch.as_tensor(sb["state"][i][name])), (i, name)


def test_finetuning_twice_gives_identical_predictions_and_metrics(twice):
    one, two = twice.ft
    assert ts.without(one.metrics, ts.FINETUNE_TIMING_KEYS) == ts.without(two.metrics, ts.FINETUNE_TIMING_KEYS)
    for run in (one, two):
        on_disk = json.loads((run.root / "metrics.json").read_text())
        assert on_disk == json.loads(json.dumps(run.metrics, default=str))
    pa, pb = (pl.read_parquet(r.root / "predictions.parquet") for r in (one, two))
    assert pa.height == one.metrics["n_test"] > 0
    assert pa.equals(pb)
    assert (one.root / "predictions.parquet").read_bytes() == (two.root / "predictions.parquet").read_bytes()


def test_finetuning_twice_gives_identical_files(twice):
    a, b = (ts.files(r.root) for r in twice.ft)
    assert sorted(a) == sorted(b)
    assert {"metrics.json", "predictions.parquet"} <= set(a)
    assert any(p.startswith("checkpoints/best-") for p in a), sorted(a)  # the best-dev weights
    differing = sorted(p for p in a if a[p] != b[p])
    assert differing in ([], ["metrics.json"]), f"files differ between identical runs: {differing}"
