"""Fine-tuning killed mid-way (SIGKILL) continues from its last epoch and ends bitwise equal.

The real stage entry point, ``python -m pipeline.finetune model=gpt task=sentiment`` (what ``dvc repro``
runs), fine-tunes a tiny "pre-trained" GPT for ``EPOCHS`` epochs in a temporary workspace
(``tiny_stage``: params, tokenizer, task table). With a resume folder (``pipeline/finetune.py``:
``data/resume/finetune-<model>-<task>/seed_<s>``, a DVC ``persist`` output) ``registry.finetune_task``
trains in ``training/`` (``trainer.fit_and_predict``: ``fingerprint.txt``, Lightning's ``last.ckpt``
saved at the end of every validated epoch, ``best-<epoch>.ckpt``); once the run is done it empties the folder
(``resume.clear_resume_dir``: ``fingerprint.txt`` and ``mlflow_run.json`` stay) and keeps a copy of the
outputs in ``result/``.

The test waits until ``last.ckpt`` holds epoch >= 1 (``global_step >= 2 x STEPS_PER_EPOCH``), sends
SIGKILL, checks the process left no final output, runs the same command again and compares with an
uninterrupted run in a second workspace (started in the background at the same time: the two
workspaces share nothing, and each stage runs on one thread, so the overlap changes no number).
Fine-tuning dropout is on (``finetune.dropout`` 0.1): the resumed run must restore the RNG state too.

How far each process got is read from the MLflow store (``MLFLOW_TRACKING_URI=sqlite:///<ws>/mlflow.db``):
Lightning logs ``val_score`` once per epoch (after that epoch's validation) into the seed's run, which the
re-run reopens; entries timestamped after the kill are the re-run's. A re-run that started from scratch
would validate all ``EPOCHS`` epochs again.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from tests.reliability import tiny_stage as ts
from tests.reliability.workspace import run_stage, stage_cmd, stage_env

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

ARCH = MODEL = "gpt"
TASK = "sentiment"
SEED = 0
N_DOCS = 60  # the tokenizer's synthetic corpus (tiny_stage.tokenizer_dir)
N_TRAIN, N_EVAL = 384, 48
BATCH = 16
STEPS_PER_EPOCH = N_TRAIN // BATCH  # 24
EPOCHS = 6
# last.ckpt at the end of epoch e (0-based) holds global_step (e + 1) x STEPS_PER_EPOCH: kill once epoch >= 1.
# Each epoch takes a fraction of a second, so the stage is caught well before its last epoch (EPOCHS - 1).
KILL_AFTER = 2 * STEPS_PER_EPOCH

OUT = Path("data") / "finetune" / MODEL / TASK / f"seed_{SEED}"
RESUME = Path("data") / "resume" / f"finetune-{MODEL}-{TASK}" / f"seed_{SEED}"
ARGS = [f"model={MODEL}", f"task={TASK}"]


def val_step(epoch: int) -> int:
    """The MLflow step of epoch ``epoch``'s ``val_score``: Lightning logs it at the 0-based index of the
    epoch's last training batch, ``global_step - 1``."""
    return (epoch + 1) * STEPS_PER_EPOCH - 1


def params() -> dict:
    raw = ts.base_params(**{
        "finetune.seeds": [SEED], "finetune.max_epochs": EPOCHS, "finetune.batch_size": BATCH,
        "finetune.patience": EPOCHS,  # no early stop: every run trains all EPOCHS epochs
        "finetune.precision": "32-true", "finetune.accelerator": "cpu", "tasks.sentiment.max_length": 24,
    })
    assert raw["finetune"]["dropout"] > 0, "resume must replay the dropout masks"
    return raw


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    """``data/models/gpt`` as pre-training leaves it (``model.safetensors``, ``config.json``, ``tokenizer.json``).

    tiny_stage has no helper for a pre-trained model, and pre-training one would cost a stage run: the
    weights are a seeded random initialisation saved the way ``pretraining/run.py`` saves them, which
    exercises the same load path (as ``tests/tasks/test_classification.py`` does). Built once and copied
    into both workspaces, so they hold the same bytes."""
    import torch

    from bertvsgpt.config import load_params
    from bertvsgpt.models import GPTForPreTraining, save_pretrained
    from bertvsgpt.pretraining.scratch import model_config
    from bertvsgpt.tokenization.special import PAD_TOKEN
    from bertvsgpt.tokenization.train import load_tokenizer

    tokenizer_dir = ts.tokenizer_dir(tmp_path_factory, ARCH, N_DOCS)
    root = tmp_path_factory.mktemp("pretrained")
    (root / "params.yaml").write_text(yaml.safe_dump(params()))
    tokenizer = load_tokenizer(tokenizer_dir)
    cfg = model_config(ARCH, load_params(root / "params.yaml"), tokenizer.get_vocab_size(),
                       tokenizer.token_to_id(PAD_TOKEN[ARCH])).validate()
    torch.manual_seed(0)
    out = save_pretrained(GPTForPreTraining(cfg), cfg, root / MODEL)
    shutil.copy2(tokenizer_dir / "tokenizer.json", out / "tokenizer.json")
    return out


def workspace(tmp_path_factory, name: str, model: Path) -> Path:
    """A stage workspace: params.yaml, data/models/<MODEL> and data/prepared/tasks/<TASK>.parquet."""
    ws = ts.make_workspace(tmp_path_factory.mktemp(name) / "ws", params(), {})
    shutil.copytree(model, ws / "data" / "models" / MODEL)
    tasks = ws / "data" / "prepared" / "tasks"
    tasks.mkdir(parents=True)
    ts.task_table(n_train=N_TRAIN, n_eval=N_EVAL).write_parquet(tasks / f"{TASK}.parquet")
    return ws


def epoch_of(ckpt: Path) -> tuple[int, int]:
    """(``epoch``, ``global_step``) of a Lightning checkpoint."""
    import torch

    state = torch.load(ckpt, map_location="cpu", weights_only=True)
    return int(state["epoch"]), int(state["global_step"])


def val_score_log(ws: Path) -> list[tuple[int, int, float]]:
    """(timestamp in ms, step, value) of every ``val_score`` the workspace's seed run logged, oldest first."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{ws / 'mlflow.db'}")
    run = next(r for r in ts.mlflow_runs(ws, "finetune") if r.info.run_name == f"seed-{SEED}")
    return sorted((m.timestamp, m.step, m.value) for m in client.get_metric_history(run.info.run_id, "val_score"))


def outputs(ws: Path) -> SimpleNamespace:
    return SimpleNamespace(
        metrics=json.loads((ws / OUT / "metrics.json").read_text()),
        predictions=(ws / OUT / "predictions.parquet").read_bytes(),
        val_scores=val_score_log(ws),
        runs=sorted((r.info.run_name, r.info.status) for r in ts.mlflow_runs(ws, "finetune")),
    )


@pytest.fixture(scope="module")
def uninterrupted_proc(tmp_path_factory, model_dir):
    """The uninterrupted run, started in the background (collected by ``reference``)."""
    ws = workspace(tmp_path_factory, "uninterrupted", model_dir)
    log = (ws.parent / "stage.log").open("w")
    proc = subprocess.Popen(stage_cmd("finetune", *ARGS), cwd=ws, env=stage_env(ws, code=ts.CODE_ROOT),
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    yield SimpleNamespace(ws=ws, proc=proc, t0=time.perf_counter())
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    log.close()


@pytest.fixture(scope="module")
def killed(tmp_path_factory, model_dir, uninterrupted_proc):
    """SIGKILL the stage once last.ckpt is at epoch >= 1, then run the same command again."""
    ws = workspace(tmp_path_factory, "killed", model_dir)
    last = ws / RESUME / "training" / "last.ckpt"
    t0 = time.perf_counter()
    proc, seen, log = ts.start_and_kill(ws, "finetune", ARGS, last, KILL_AFTER, signal.SIGKILL)
    killed_at_ms = time.time() * 1000
    epoch, step = epoch_of(last)
    res = SimpleNamespace(
        ws=ws, returncode=proc.returncode, seen=seen, killed_log=log, ckpt_epoch=epoch, ckpt_step=step,
        resume_files=sorted(p.relative_to(ws / RESUME).as_posix() for p in (ws / RESUME).rglob("*")),
        out_files=sorted(p.name for p in (ws / OUT).iterdir()) if (ws / OUT).exists() else [],
        val_scores_before=val_score_log(ws),
    )
    t1 = time.perf_counter()
    res.rerun, _ = run_stage(ws, stage_env(ws, code=ts.CODE_ROOT), "finetune", *ARGS, check=True)
    print(f"finetune@{MODEL}-{TASK}: killed run {t1 - t0:.1f} s (epoch {epoch}), re-run {time.perf_counter() - t1:.1f} s")
    res.out = outputs(ws)
    res.rerun_val_steps = [s for t, s, _ in res.out.val_scores if t > killed_at_ms]
    res.resume_files_after = sorted(p.relative_to(ws / RESUME).as_posix() for p in (ws / RESUME).rglob("*"))
    return res


@pytest.fixture(scope="module")
def reference(uninterrupted_proc, killed):
    """The uninterrupted run's outputs (``killed`` first: both stages run side by side)."""
    ref = uninterrupted_proc
    rc = ref.proc.wait(timeout=240)
    log = (ref.ws.parent / "stage.log").read_text()
    assert rc == 0, f"the uninterrupted stage exited {rc}:\n{log[-4000:]}"
    print(f"uninterrupted finetune@{MODEL}-{TASK}: {time.perf_counter() - ref.t0:.1f} s")
    return outputs(ref.ws)


def test_killed_run_stops_mid_training_and_leaves_only_its_resume_state(killed):
    assert killed.returncode == -signal.SIGKILL
    # killed after an epoch >= 1 and before the last one: there is something to resume and something left to train
    assert 1 <= killed.ckpt_epoch <= EPOCHS - 2, killed.ckpt_epoch
    assert killed.ckpt_step == (killed.ckpt_epoch + 1) * STEPS_PER_EPOCH
    # no final output: no metrics, no predictions, no best weights, and no finished result to reuse
    assert "metrics.json" not in killed.out_files, killed.killed_log[-3000:]
    assert not {"predictions.parquet", "checkpoints"} & set(killed.out_files), killed.out_files
    assert "result" not in killed.resume_files, killed.resume_files
    # the training state survived: the resumable checkpoint, the best epoch so far and the fingerprint
    assert {"training/last.ckpt", "training/fingerprint.txt"} <= set(killed.resume_files), killed.resume_files
    assert any(f.startswith("training/best-") for f in killed.resume_files), killed.resume_files


def test_rerun_resumes_after_the_checkpointed_epoch_instead_of_restarting(killed):
    k = killed.ckpt_epoch
    assert f"resuming from {RESUME / 'training' / 'last.ckpt'}" in killed.rerun.stderr
    assert "continuing the interrupted MLflow run" in killed.rerun.stderr
    # the killed process validated epochs 0..k (maybe k+1, whose checkpoint the kill beat), never more
    before = [s for _, s, _ in killed.val_scores_before]
    assert before[: k + 1] == [val_step(e) for e in range(k + 1)] and len(before) <= k + 2, before
    # the re-run validated exactly the epochs after the checkpoint: from scratch it would validate all EPOCHS
    assert killed.rerun_val_steps == [val_step(e) for e in range(k + 1, EPOCHS)], (k, killed.rerun_val_steps)


def test_resumed_run_ends_bitwise_equal_to_the_uninterrupted_run(killed, reference):
    assert killed.out.predictions == reference.predictions
    got, ref = (ts.without(r.metrics, ts.FINETUNE_TIMING_KEYS) for r in (killed.out, reference))
    assert got == ref
    assert ref["epochs_run"] == EPOCHS and ref["steps_per_epoch"] == STEPS_PER_EPOCH and ref["n_train"] == N_TRAIN


def test_resumed_run_continues_the_uninterrupted_dev_curve(killed, reference):
    """Every epoch's dev score, the killed process's up to the checkpoint and the re-run's after it, is the
    uninterrupted run's, bit for bit (the epochs after the resume depend on the restored weights, optimizer,
    schedule, data order and RNG state)."""
    ref = {step: value for _, step, value in reference.val_scores}
    assert list(ref) == [val_step(e) for e in range(EPOCHS)]
    got = {step: value for _, step, value in killed.out.val_scores}  # oldest first: the re-run's value wins
    assert got == ref


def test_resumed_run_finishes_like_an_uninterrupted_one(killed, reference):
    # the reopened MLflow runs (the stage's and the seed's) are finished, one of each, as without a kill
    assert killed.out.runs == reference.runs == [(f"finetune-{MODEL}-{TASK}", "FINISHED"), (f"seed-{SEED}", "FINISHED")]
    # the training state is gone; the finished result (reused by a later run) and the fingerprint stay
    files = set(killed.resume_files_after)
    assert not any(f.startswith("training") for f in files), sorted(files)
    assert {"fingerprint.txt", "result/metrics.json", "result/predictions.parquet"} <= files, sorted(files)
    assert (killed.ws / RESUME / "result" / "predictions.parquet").read_bytes() == reference.predictions
