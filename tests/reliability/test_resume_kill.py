"""Pre-training killed mid-way (SIGTERM, SIGKILL) continues from its last checkpoint.

The real stage entry point, ``python -m pipeline.pretrain model=<arch>`` (what ``dvc repro`` runs),
pre-trains a tiny model for ``STEPS`` optimizer steps in a temporary workspace. ``run.py`` keeps a
resumable Lightning checkpoint, ``data/resume/pretrain-<arch>/seed-<seed>/last.ckpt`` (a DVC ``persist`` output),
written every ``max(1, total_steps // 10)`` steps = ``INTERVAL``. The test waits until that checkpoint
is at step >= ``KILL_AFTER``, sends the signal, checks the process is gone and left no final output,
runs the same command again and compares with an uninterrupted run in a second workspace.

How far each process got is read from the MLflow store (``MLFLOW_TRACKING_URI=sqlite:///<tmp>``):
every step logs ``compute/tokens_seen`` (``log_every_n_steps=1``), so the killed run's last logged step
``s``, the checkpoint step ``k`` and the resumed run's steps give the recomputed work ``max(s, k) - k``
(the step in flight when the signal lands is lost too, and is not counted).

The re-run resumes from ``k`` (never from scratch), recomputes at most one interval, trains exactly
the remaining steps and ends bitwise equal to the uninterrupted run (``test_resumed_run_is_bitwise_identical``:
the sampler's order depends only on (seed, epoch) and skips the batches already seen, and the RNG
states travel in the checkpoint); a SIGTERM'd stage exits 143 with one ``error:`` line.
"""

from __future__ import annotations

import json
import math
import signal
import time
from pathlib import Path
from types import SimpleNamespace

import polars as pl
import pytest
import yaml

from tests.reliability import tiny_stage as ts
from tests.reliability.workspace import run_stage, stage_env

# Every test but the dvc.yaml check is slow: three stage subprocesses per model and signal.

BATCH, SEQ = 4, 32
TOKENS_PER_STEP = BATCH * SEQ
STEPS = 300  # a few hundred tiny steps (about 6 epochs of the GPT windows, 7 of the BERT instances)
INTERVAL = max(1, STEPS // 10)  # run.py: ModelCheckpoint(every_n_train_steps=max(1, total_steps // 10))
KILL_AFTER = 2 * INTERVAL  # signal once last.ckpt is at step >= 60 (mid-epoch for both models)
N_DOCS = 60
# While resume is not bitwise (other batches and dropout masks after step k, see the xfail below) the
# resumed run's mean loss over the last interval differs from the uninterrupted run's: measured 0.14 %
# (GPT) and 0.56 % (BERT) for k = 60, while single-step losses differ by up to 2.6 %. 5 % on the
# 30-step mean leaves room for other kill points; a resume that restarted the weights, the optimizer
# or the LR schedule would be far outside it.
LOSS_RTOL = 0.05
SIGNALS = {"SIGTERM": signal.SIGTERM, "SIGKILL": signal.SIGKILL}


def params() -> dict:
    # dropout on (0.1): resume must replay the dropout masks too (the default pre-trains without dropout)
    return ts.base_params(**{"pretrain.max_tokens": STEPS * TOKENS_PER_STEP, "pretrain.batch_size": BATCH,
                             "pretrain.seq_len": SEQ, "pretrain.log_every_n_steps": 1, "model.dropout": 0.1})


def outputs(ws: Path, arch: str) -> SimpleNamespace:
    model = ws / "data" / "models" / arch
    return SimpleNamespace(
        summary=json.loads((ws / "metrics" / "pretrain" / f"{arch}.json").read_text()),
        curve=pl.read_csv(ws / "plots" / "pretrain" / f"{arch}.csv"),
        weights=(model / "model.safetensors").read_bytes(),
        model_files=ts.files(model),
    )


# Each model once and each signal once (both signals on both models would double the suite's slowest file;
# the resume path does not depend on which signal stopped the process).
CASES = [("gpt", "SIGTERM"), ("bert", "SIGKILL")]


@pytest.fixture(scope="module")
def references():
    """arch -> outputs of an uninterrupted run, filled on first use (one run per model)."""
    return {}


@pytest.fixture(scope="module", params=CASES, ids=[f"{a}-{s}" for a, s in CASES])
def killed(request, tmp_path_factory):
    """Start the stage, signal it once last.ckpt is at step >= KILL_AFTER, then run the same command again."""
    arch, name = request.param
    sig = SIGNALS[name]
    tokenizer = ts.tokenizer_dir(tmp_path_factory, arch, N_DOCS)
    ws = ts.make_workspace(tmp_path_factory.mktemp(f"killed-{arch}-{name}") / "ws", params(), {arch: tokenizer})
    seed = yaml.safe_load((ws / "params.yaml").read_text())["seed"]  # one pre-training run (pretrain.seeds: null)
    resume = ws / "data" / "resume" / f"pretrain-{arch}" / f"seed-{seed}"
    t0 = time.perf_counter()
    proc, seen, log = ts.start_and_kill(ws, "pretrain", [f"model={arch}"], resume / "last.ckpt", KILL_AFTER, sig)
    res = SimpleNamespace(
        arch=arch, signal=name, ws=ws, returncode=proc.returncode, seen=seen, killed_log=log,
        ckpt_step=ts.ckpt_step(resume / "last.ckpt"),
        resume_files=sorted(p.name for p in resume.iterdir()),
        models_after_kill=(ws / "data" / "models" / arch).exists(),
        metrics_after_kill=(ws / "metrics" / "pretrain" / f"{arch}.json").exists(),
    )
    t1 = time.perf_counter()
    res.rerun, _ = run_stage(ws, stage_env(ws, code=ts.CODE_ROOT), "pretrain", f"model={arch}", check=True)
    print(f"pretrain@{arch} {name}: killed run {t1 - t0:.1f} s, re-run {time.perf_counter() - t1:.1f} s")
    res.out = outputs(ws, arch)
    res.runs = ts.pretrain_runs(ws, TOKENS_PER_STEP)
    return res


@pytest.fixture(scope="module")
def reference(tmp_path_factory, references, killed):
    """An uninterrupted run of the same command, in its own workspace."""
    arch = killed.arch
    if arch not in references:
        tokenizer = ts.tokenizer_dir(tmp_path_factory, arch, N_DOCS)
        ws = ts.make_workspace(tmp_path_factory.mktemp(f"uninterrupted-{arch}") / "ws", params(), {arch: tokenizer})
        t0 = time.perf_counter()
        run_stage(ws, stage_env(ws, code=ts.CODE_ROOT), "pretrain", f"model={arch}", check=True)
        print(f"uninterrupted pretrain@{arch}: {time.perf_counter() - t0:.1f} s")
        references[arch] = outputs(ws, arch)
    return references[arch]


def test_resume_dir_is_a_persistent_dvc_output():
    """``dvc repro`` must not delete the checkpoint folder before it re-runs a killed stage."""
    stage = yaml.safe_load((ts.ROOT / "dvc.yaml").read_text())["stages"]["pretrain"]
    assert stage["do"]["cmd"] == "python -m pipeline.pretrain model=${item}"
    resume = [o for o in stage["do"]["outs"] if isinstance(o, dict) and "data/resume/pretrain-${item}" in o]
    assert resume, stage["do"]["outs"]
    assert resume[0]["data/resume/pretrain-${item}"].get("persist") is True


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_killed_run_stops_and_leaves_only_its_checkpoint(killed):
    if killed.signal == "SIGKILL":
        assert killed.returncode == -signal.SIGKILL
    # the stage stopped before the end: no final weights, metrics or plots were written ...
    assert not killed.models_after_kill and not killed.metrics_after_kill, killed.killed_log[-2000:]
    # ... and the resumable checkpoint survived the kill, at a checkpoint-interval step mid-way
    assert killed.ckpt_step is not None, "last.ckpt is unreadable after the kill"
    assert KILL_AFTER <= killed.ckpt_step < STEPS and killed.ckpt_step % INTERVAL == 0, killed.ckpt_step
    assert "last.ckpt" in killed.resume_files and "fingerprint.txt" in killed.resume_files


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_rerun_resumes_from_the_checkpoint_and_recomputes_at_most_one_interval(killed):
    assert "resuming from" in killed.rerun.stderr
    assert "continuing the interrupted MLflow run" in killed.rerun.stderr
    # one MLflow run: the re-run reopened the one the kill left FAILED (SIGTERM) or RUNNING (SIGKILL)
    assert [r["status"] for r in killed.runs] == ["FINISHED"], killed.runs
    segments, k = killed.runs[0]["segments"], killed.ckpt_step
    # the killed process logged steps 1..s, the re-run exactly k+1..STEPS (it resumed, it did not restart)
    if len(segments) == 1:  # s == k: the curve continues seamlessly
        assert segments[0] == list(range(1, STEPS + 1)), segments
        s = k
    else:
        first, second = segments
        s = max(first)
        assert first == list(range(1, s + 1))
        assert second == list(range(k + 1, STEPS + 1)), (k, second[:3])
    # Lightning saves a step's checkpoint before it logs the step, so a kill in between leaves s = k - 1;
    # the steps done after the checkpoint, recomputed by the re-run, are max(s, k) - k
    assert s >= k - 1, (s, k)
    recomputed = max(s, k) - k
    assert recomputed <= INTERVAL, f"recomputed {recomputed} steps (killed at {s}, checkpoint {k})"


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_resumed_run_has_the_uninterrupted_counts_and_history(killed, reference):
    got, ref = killed.out.summary, reference.summary
    # counts are exact: steps, tokens, FLOPs, epochs, parameters, world size
    exact = ("steps", "tokens_seen", "train_flops", "flops_per_token", "epochs", "parameters",
             "parameters_non_embedding", "train_sequences", "world_size", "precision", "arch")
    assert {k: got[k] for k in exact} == {k: ref[k] for k in exact}
    assert got["steps"] == STEPS and got["tokens_seen"] == STEPS * TOKENS_PER_STEP
    # the curve has one row per step, and the rows up to the checkpoint are the restored history, bit for bit
    assert killed.out.curve.get_column("step").to_list() == list(range(1, STEPS + 1))
    k = killed.ckpt_step
    cols = [c for c in reference.curve.columns if c not in ts.CURVE_TIMING_COLUMNS]
    assert "loss" in cols and "tokens_seen" in cols
    before = pl.col("step") <= k
    assert killed.out.curve.filter(before).select(cols).equals(reference.curve.filter(before).select(cols))
    # the loss after the resume stays on the uninterrupted trajectory (within LOSS_RTOL, see above)
    last = pl.col("step") > STEPS - INTERVAL
    got_loss = killed.out.curve.filter(last).get_column("loss").mean()
    ref_loss = reference.curve.filter(last).get_column("loss").mean()
    assert math.isfinite(got["final_train_loss"])
    assert got_loss == pytest.approx(ref_loss, rel=LOSS_RTOL), (
        f"mean loss of the last {INTERVAL} steps: resumed {got_loss:.4f}, uninterrupted {ref_loss:.4f}"
    )


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_resumed_run_is_bitwise_identical(killed, reference):
    """On one CPU thread with ``deterministic=True`` nothing but the data order and RNG state can differ."""
    got, ref = killed.out, reference
    def untimed(summary: dict) -> dict:  # the stage's summary and each pre-training run's (``runs``) without timings
        runs = {k: ts.without(v, ts.PRETRAIN_TIMING_KEYS) for k, v in summary.get("runs", {}).items()}
        return {**ts.without(summary, ts.PRETRAIN_TIMING_KEYS), "runs": runs}

    assert untimed(got.summary) == untimed(ref.summary)
    cols = [c for c in ref.curve.columns if c not in ts.CURVE_TIMING_COLUMNS]
    assert got.curve.select(cols).equals(ref.curve.select(cols))
    assert got.weights == ref.weights
    same_files = {p for p in ref.model_files if p not in ("summary.json", "curve.csv")}
    assert {p: got.model_files.get(p) for p in same_files} == {p: ref.model_files[p] for p in same_files}


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_sigterm_exits_with_a_failure_status(killed):
    """143 (128 + SIGTERM, what a shell reports for a process it terminated) and one ``error:`` line that says
    how to go on (bertvsgpt.cli.run_stage), not a traceback."""
    if killed.signal != "SIGTERM":
        pytest.skip("SIGKILL: the status is always -9")
    assert killed.returncode == 143, f"a SIGTERM'd stage exited {killed.returncode}:\n{killed.killed_log[-3000:]}"
    errors = [line for line in killed.killed_log.splitlines() if line.startswith("error:")]
    assert errors == ["error: terminated by SIGTERM; run the stage again to resume from its last checkpoint"], errors
    assert "Traceback (most recent call last)" not in killed.killed_log, killed.killed_log[-3000:]
