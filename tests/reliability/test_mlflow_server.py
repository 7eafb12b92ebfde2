"""Shared tracking: a real ``mlflow server`` (SQLite backend, proxied artifacts) on localhost, real stages
run against it through ``MLFLOW_TRACKING_URI``, the runs read back with ``mlflow.MlflowClient``; and a
tracking server that cannot be used stops a stage quickly with one line naming the URI.

The server is the venv's ``mlflow server`` in its own process group (killed as a group at the end),
without MLflow's job runner (``MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false``: it would start a pool of
worker processes this test does not need). Its start-up (imports) takes 10-50 s on a 2-core machine.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.reliability.workspace import BIN, git_init_commit, make_repo, one_line_error, run_stage, snapshot, stage_env

SERVER_START_TIMEOUT_S = 240
FAIL_FAST_S = 20.0  # a stage that cannot reach its tracking server must give up within this (start-up included)


def free_port() -> int:
    """A localhost port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(uri: str) -> bool:
    try:
        with urllib.request.urlopen(f"{uri}/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM the server's process group (uvicorn and its worker), then SIGKILL whatever is left."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # children that outlived the parent
    except ProcessLookupError:
        pass
    proc.wait(timeout=20)


@pytest.fixture
def mlflow_server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    uri = f"http://127.0.0.1:{port}"
    artifacts = tmp / "artifacts"
    log = tmp / "server.log"
    cmd = [str(BIN / "mlflow"), "server", "--backend-store-uri", f"sqlite:///{tmp / 'server.db'}",
           "--artifacts-destination", str(artifacts), "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", "MLFLOW_DISABLE_TELEMETRY": "true",
           "DO_NOT_TRACK": "true"}
    env.pop("MLFLOW_TRACKING_URI", None)
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=tmp, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    try:
        t0 = time.monotonic()
        while not _healthy(uri):
            if proc.poll() is not None:
                pytest.fail(f"mlflow server exited {proc.returncode}:\n{log.read_text()[-3000:]}")
            if time.monotonic() - t0 > SERVER_START_TIMEOUT_S:
                pytest.fail(f"mlflow server not up after {SERVER_START_TIMEOUT_S} s:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        print(f"mlflow server up in {time.monotonic() - t0:.1f} s")
        yield SimpleNamespace(uri=uri, artifacts=artifacts, log=log)
    finally:
        _stop(proc)


@pytest.mark.slow
def test_stages_log_to_a_shared_mlflow_server(mlflow_server, tmp_path):
    import mlflow

    repo = make_repo(tmp_path)
    head = git_init_commit(repo)
    env = stage_env(repo, MLFLOW_TRACKING_URI=mlflow_server.uri)
    for stage in ("fetch", "prepare"):
        proc, seconds = run_stage(repo, env, stage)
        assert proc.returncode == 0, f"{stage} failed:\n{proc.stderr[-3000:]}"
        print(f"{stage} against the server: {seconds:.1f} s")
    assert not (repo / "mlflow.db").exists() and not (repo / "mlruns").exists()  # nothing went to a local store

    client = mlflow.MlflowClient(tracking_uri=mlflow_server.uri)
    exp = client.get_experiment_by_name("bert-vs-gpt")
    assert exp is not None
    runs = {r.data.tags["stage"]: r for r in client.search_runs([exp.experiment_id])}
    assert set(runs) == {"fetch", "prepare"}
    for stage, run in runs.items():
        assert run.info.status == "FINISHED", stage
        assert run.info.run_name == stage
        assert run.data.tags["git_commit"] == head  # the copy is a clean checkout of that commit
        assert len(run.data.tags["data_checksum"]) == 16
        params = run.data.params
        assert len(params) > 100  # the whole resolved params, logged in several batches
        assert params["seed"] == "42" and params["model.d_model"] == "32"
        assert params["data.corpus"] == "['tiny_corpus']"
        assert params["tracking.tracking_uri"] == "sqlite:///mlflow.db"  # the env var won, not the params value

    # metrics and artifacts went through the server, artifacts into its --artifacts-destination
    assert runs["prepare"].data.metrics["corpus_documents"] > 0
    fetch_id = runs["fetch"].info.run_id
    assert "sources.json" in {a.path for a in client.list_artifacts(fetch_id)}
    served = json.loads(Path(client.download_artifacts(fetch_id, "sources.json", str(tmp_path))).read_text())
    on_disk = json.loads((repo / "data" / "raw" / "tiny_corpus" / "SOURCE.json").read_text())
    assert served["tiny_corpus"] == on_disk
    stored = list(mlflow_server.artifacts.rglob("sources.json"))
    assert len(stored) == 1 and fetch_id in stored[0].parts
    assert "cards" in {a.path for a in client.list_artifacts(runs["prepare"].info.run_id)}


def test_unreachable_server_fails_fast_with_one_line(tmp_path):
    repo = make_repo(tmp_path)
    uri = f"http://127.0.0.1:{free_port()}"
    before = snapshot(repo)
    proc, seconds = run_stage(repo, stage_env(repo, MLFLOW_TRACKING_URI=uri), "fetch", timeout=120)
    line = one_line_error(proc)
    assert uri in line and "unreachable" in line, line
    assert seconds < FAIL_FAST_S, f"took {seconds:.1f} s"
    assert snapshot(repo) == before  # no data fetched, no local tracking store created
    print(f"unreachable server: {seconds:.1f} s: {line}")


def test_server_that_never_answers_does_not_hang_the_stage(tmp_path):
    """The health probe (``check_reachable``: GET <uri>/health with a 5 s timeout) stops the stage before
    any MLflow request, instead of MLflow's 120 s x 7 retries."""
    repo = make_repo(tmp_path)
    with socket.socket() as silent:  # accepts TCP connections (kernel backlog) but never reads or replies
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        uri = f"http://127.0.0.1:{silent.getsockname()[1]}"
        env = stage_env(repo, MLFLOW_TRACKING_URI=uri)
        before = snapshot(repo)
        budget = 2 * FAIL_FAST_S
        try:
            proc, seconds = run_stage(repo, env, "fetch", timeout=budget)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the stage was still waiting for {uri} after {budget:.0f} s") from None
    line = one_line_error(proc)
    assert uri in line and "does not answer /health" in line, line
    assert seconds < FAIL_FAST_S, f"took {seconds:.1f} s"
    assert snapshot(repo) == before  # no data fetched, no local tracking store created
    print(f"silent server: {seconds:.1f} s: {line}")
