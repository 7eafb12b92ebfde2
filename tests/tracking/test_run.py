"""MLflow tracking: the reachability check, the tracking URI, the data checksum and the stage run."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bertvsgpt.config import load_params, to_flat_dict
from bertvsgpt.tracking import RESUMED, TrackingError, check_reachable, data_checksum, git_commit, lightning_logger, stage_run, tracking_uri

PARAMS_YAML = Path(__file__).resolve().parents[2] / "params.yaml"


def closed_port() -> int:
    """A localhost port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def params():
    return load_params(PARAMS_YAML)


# --- check_reachable --------------------------------------------------------------------------


def test_unreachable_server_fails_fast_naming_the_uri():
    uri = f"http://127.0.0.1:{closed_port()}"
    t0 = time.monotonic()
    with pytest.raises(TrackingError) as info:
        check_reachable(uri)
    assert time.monotonic() - t0 < 6.0
    assert uri in str(info.value)
    assert "MLFLOW_TRACKING_URI" in str(info.value)
    assert isinstance(info.value, RuntimeError)


def test_healthy_server_passes_and_a_silent_one_fails_fast():
    import http.server
    import threading
    import time

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200 if self.path == "/health" else 404)
            self.end_headers()
            self.wfile.write(b"OK")

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert check_reachable(f"http://127.0.0.1:{server.server_address[1]}", timeout=2.0) is None
    finally:
        server.shutdown()
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        t0 = time.monotonic()
        with pytest.raises(TrackingError, match="does not answer /health"):
            check_reachable(f"http://127.0.0.1:{silent.getsockname()[1]}", timeout=1.0)
        assert time.monotonic() - t0 < 5


@pytest.mark.parametrize("uri", ["sqlite:///mlflow.db", "sqlite:////no/such/dir/x.db", "file:///tmp/mlruns", "./mlruns"])
def test_non_http_uris_are_not_probed(uri):
    assert check_reachable(uri) is None


# --- tracking_uri -----------------------------------------------------------------------------


def test_tracking_uri_from_params_without_env(monkeypatch, params):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert tracking_uri(params) == params.tracking.tracking_uri == "sqlite:///mlflow.db"


def test_tracking_uri_env_overrides_params(monkeypatch, params):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://tracking.example:5000")
    assert tracking_uri(params) == "http://tracking.example:5000"


def test_tracking_uri_empty_env_falls_back_to_params(monkeypatch, params):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "")
    assert tracking_uri(params) == "sqlite:///mlflow.db"


# --- data_checksum ----------------------------------------------------------------------------


def test_data_checksum_stable_and_content_sensitive(tmp_path):
    d = tmp_path / "data"
    (d / "sub").mkdir(parents=True)
    (d / "a.txt").write_text("alpha")
    (d / "sub" / "b.bin").write_bytes(b"\x00\x01")
    f = tmp_path / "single.txt"
    f.write_text("one")

    first = data_checksum([d, f])
    assert re.fullmatch(r"[0-9a-f]{16}", first)
    assert data_checksum([d, f]) == first
    assert data_checksum([f, d]) == first  # order of the inputs does not matter
    assert data_checksum([str(d), str(f)]) == first

    (d / "sub" / "b.bin").write_bytes(b"\x00\x02")  # nested file changed
    second = data_checksum([d, f])
    assert second != first
    f.write_text("two")  # a single-file input changed
    third = data_checksum([d, f])
    assert third not in (first, second)
    (d / "sub" / "b.bin").write_bytes(b"\x00\x01")
    f.write_text("one")  # back to the original content -> the original checksum
    assert data_checksum([d, f]) == first


def test_data_checksum_sees_added_files_and_skips_missing_inputs(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    (d / "a.txt").write_text("alpha")
    before = data_checksum([d])
    assert data_checksum([d, tmp_path / "missing"]) == before
    (d / "new.txt").write_text("")
    assert data_checksum([d]) != before
    assert data_checksum([]) == data_checksum([tmp_path / "missing"])


# --- stage_run --------------------------------------------------------------------------------


@pytest.fixture
def git_repo(tmp_path, monkeypatch):
    """A throw-away git repository as the working directory (git_commit reads the cwd's repo)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    run = lambda *a: subprocess.run(["git", *a], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()  # noqa: E731
    run("init", "-q")
    (repo / "f.txt").write_text("x")
    run("add", "f.txt")
    run("-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false", "commit", "-q", "-m", "init")
    monkeypatch.chdir(repo)
    return repo, run("rev-parse", "HEAD")


@pytest.fixture
def mlflow_state():
    import mlflow

    uri = mlflow.get_tracking_uri()
    yield mlflow
    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.set_tracking_uri(uri)


def test_git_commit_reads_head_and_marks_dirty(git_repo):
    repo, head = git_repo
    assert git_commit() == head
    (repo / "f.txt").write_text("changed")
    assert git_commit() == head + "-dirty"


def test_stage_run_records_tags_and_flat_params(tmp_path, monkeypatch, git_repo, mlflow_state):
    mlflow = mlflow_state
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    repo, head = git_repo
    db = tmp_path / "store" / "mlflow.db"
    db.parent.mkdir()
    uri = f"sqlite:///{db}"
    p = load_params(PARAMS_YAML, [f"tracking.tracking_uri='{uri}'", "tracking.experiment=unit-test", "model.n_layer=3"])
    assert p.tracking.tracking_uri == uri
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    (inputs / "x.txt").write_text("data")

    with stage_run(p, "pretrain", run_name="pretrain-bert", inputs=[inputs], tags={"model": "bert"}) as run:
        assert mlflow.active_run().info.run_id == run.info.run_id
        run_id = run.info.run_id
    assert mlflow.active_run() is None
    assert db.is_file()

    client = mlflow.MlflowClient(tracking_uri=uri)
    rec = client.get_run(run_id)
    assert client.get_experiment(rec.info.experiment_id).name == "unit-test"
    # MLflow 3.x's UI opens a model-training experiment on its runs table (not the GenAI traces view)
    assert client.get_experiment(rec.info.experiment_id).tags["mlflow.experimentKind"] == "custom_model_development"
    assert rec.info.run_name == "pretrain-bert"
    assert rec.info.status == "FINISHED"
    tags = rec.data.tags
    assert tags["stage"] == "pretrain"
    assert tags["git_commit"] == head
    assert tags["data_checksum"] == data_checksum([inputs])
    assert tags["model"] == "bert"

    logged = rec.data.params
    flat = to_flat_dict(p)
    assert len(flat) > 100  # more than one log_params batch
    assert set(logged) == set(flat)
    assert logged["model.n_layer"] == "3"
    assert logged["tracking.tracking_uri"] == uri
    assert logged["pretrain.lr"] == str(p.pretrain.lr)
    assert logged["data.max_docs_per_source"] == "null"  # None is logged as "null"
    assert logged["finetune.models"] == str(list(p.finetune.models))


def test_stage_run_marks_an_existing_experiment_as_model_training(tmp_path, monkeypatch, mlflow_state):
    """An experiment made before the tag existed (or by hand) is tagged when a stage opens it."""
    mlflow = mlflow_state
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = mlflow.MlflowClient(tracking_uri=uri)
    exp_id = client.create_experiment("old-experiment")
    assert "mlflow.experimentKind" not in client.get_experiment(exp_id).tags
    p = load_params(PARAMS_YAML, [f"tracking.tracking_uri='{uri}'", "tracking.experiment=old-experiment"])
    with stage_run(p, "fetch") as run:
        assert run.info.experiment_id == exp_id
    assert client.get_experiment(exp_id).tags["mlflow.experimentKind"] == "custom_model_development"


def test_stage_run_nested_logs_no_params_and_ends_on_error(tmp_path, monkeypatch, git_repo, mlflow_state):
    mlflow = mlflow_state
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    uri = f"sqlite:///{tmp_path / 'n.db'}"
    p = load_params(PARAMS_YAML, [f"tracking.tracking_uri='{uri}'"])
    with stage_run(p, "finetune") as parent:
        with pytest.raises(KeyError):
            with stage_run(p, "finetune", run_name="seed-0", tags={"seed": "0"}, nested=True) as child:
                child_id = child.info.run_id
                raise KeyError("boom")
    client = mlflow.MlflowClient(tracking_uri=uri)
    rec = client.get_run(child_id)
    assert rec.data.params == {}
    assert rec.data.tags["seed"] == "0" and rec.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert rec.info.status == "FAILED"
    assert client.get_run(parent.info.run_id).data.params["seed"] == "42"


def test_stage_run_with_unreachable_server_raises_before_starting(monkeypatch, params, mlflow_state):
    uri = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    with pytest.raises(TrackingError, match=re.escape(uri)):
        with stage_run(params, "evaluate"):
            pytest.fail("the body must not run")
    assert mlflow_state.active_run() is None


# --- interrupted runs are continued -------------------------------------------------------------

KILLED_STAGE = """
import os, sys
from bertvsgpt.config import load_params
from bertvsgpt.tracking import stage_run
p = load_params(sys.argv[1], [f"tracking.tracking_uri='{sys.argv[2]}'"])
with stage_run(p, "pretrain", run_name="pretrain-gpt", resume_dir=sys.argv[3]) as run:
    import mlflow
    mlflow.log_metric("loss", 5.0, step=1)
    print(run.info.run_id, flush=True)
    os._exit(9)  # as SIGKILL: no handler, no end_run
"""


def test_a_killed_stage_run_is_continued_not_duplicated(tmp_path, monkeypatch, mlflow_state):
    """SIGKILL leaves an MLflow run RUNNING; the stage's next run with the same params reopens it
    (one run holds the whole curve), a finished run is never reopened, other params start a new run."""
    mlflow = mlflow_state
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    uri, resume = f"sqlite:///{tmp_path / 'k.db'}", tmp_path / "resume"
    proc = subprocess.run([sys.executable, "-c", KILLED_STAGE, str(PARAMS_YAML), uri, str(resume)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 9, proc.stderr[-2000:]
    killed_id = proc.stdout.split()[-1]
    client = mlflow.MlflowClient(tracking_uri=uri)
    assert client.get_run(killed_id).info.status == "RUNNING"

    p = load_params(PARAMS_YAML, [f"tracking.tracking_uri='{uri}'"])
    with stage_run(p, "pretrain", run_name="pretrain-gpt", resume_dir=resume) as run:
        mlflow.log_metric("loss", 4.0, step=2)
    assert run.info.run_id == killed_id
    rec = client.get_run(killed_id)
    assert rec.info.status == "FINISHED"
    assert [(m.step, m.value) for m in client.get_metric_history(killed_id, "loss")] == [(1, 5.0), (2, 4.0)]
    # the reopening is marked between the two parts of the curve (the report's stage table drops the silence before it)
    (mark,) = client.get_metric_history(killed_id, RESUMED)
    loss = client.get_metric_history(killed_id, "loss")
    assert loss[0].timestamp <= mark.timestamp <= loss[1].timestamp
    assert rec.data.params["seed"] == "42"

    with stage_run(p, "pretrain", run_name="pretrain-gpt", resume_dir=resume) as again:
        pass
    assert again.info.run_id != killed_id  # it had finished
    assert client.get_metric_history(again.info.run_id, RESUMED) == []  # a new run is not a resume
    changed = load_params(PARAMS_YAML, [f"tracking.tracking_uri='{uri}'", "seed=7"])
    with pytest.raises(KeyError):  # an unfinished (FAILED) run of other params ...
        with stage_run(changed, "pretrain", run_name="pretrain-gpt", resume_dir=resume) as failed:
            raise KeyError("boom")
    with stage_run(p, "pretrain", run_name="pretrain-gpt", resume_dir=resume) as other:
        pass
    assert other.info.run_id not in (failed.info.run_id, again.info.run_id)  # ... is not reopened by these
    assert client.get_run(failed.info.run_id).info.status == "FAILED"


def test_a_stage_run_that_fails_with_an_error_leaves_no_run_record(tmp_path, monkeypatch, mlflow_state):
    """Bad input or a bug: nothing to resume, so the resume dir keeps no record (and no run is reopened)."""
    from bertvsgpt.tracking.run import RUN_RECORD

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    p = load_params(PARAMS_YAML, [f"tracking.tracking_uri='sqlite:///{tmp_path / 'e.db'}'"])
    resume = tmp_path / "resume"
    with pytest.raises(ValueError):
        with stage_run(p, "prepare", resume_dir=resume) as failed:
            assert (resume / RUN_RECORD).is_file()
            raise ValueError("bad input")
    assert not (resume / RUN_RECORD).exists()
    with stage_run(p, "prepare", resume_dir=resume) as run:
        pass
    assert run.info.run_id != failed.info.run_id


def test_ranks_above_zero_do_not_track(tmp_path, monkeypatch, mlflow_state):
    """Under DDP every rank runs the stage script; a rank > 0 gets no run, no logger and no store,
    even with an unreachable server configured (it never talks to MLflow)."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("RANK", "1")
    p = load_params(PARAMS_YAML)
    resume = tmp_path / "resume"
    with stage_run(p, "finetune", run_name="finetune-gpt-sentiment", resume_dir=resume) as run:
        assert run is None and mlflow_state.active_run() is None
        with stage_run(p, "finetune", run_name="seed-0", nested=True, resume_dir=resume / "seed_0") as child:
            assert child is None
        assert lightning_logger(p, child) is None
    assert not resume.exists()  # no run record either
    monkeypatch.setenv("RANK", "0")
    with pytest.raises(TrackingError):  # rank 0 does track: the same store is refused
        with stage_run(p, "finetune"):
            pass
