"""The MLflow UI in a real browser: ``mlflow server`` on a store the stages logged to, the experiment's
runs page in headless Chromium lists the stage runs by name.

The stages tag their experiment ``mlflow.experimentKind=custom_model_development`` (model training).
Measured with MLflow 3.17.2: its UI no longer reads that tag for the landing view (a hard-wired
feature flag makes the global "GenAI / Model training" switch decide: ``?workflowType=`` in the URL,
else the browser's stored choice, else GenAI), so a bare ``#/experiments/<id>`` still opens on the
GenAI overview; ``?workflowType=machine_learning`` (or one click on "Model training") opens the
runs table, which is what this test loads. Skips where no Chromium is installed.
"""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from bertvsgpt.config import load_params
from bertvsgpt.tracking import stage_run
from tests.reliability.test_mlflow_server import SERVER_START_TIMEOUT_S, _healthy, _stop, free_port
from tests.reliability.workspace import BIN, ROOT
from tests.report.chromium import find_chromium, page_text

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (apt-get install chromium)")


@pytest.fixture
def logged_store(tmp_path, monkeypatch):
    """A sqlite store holding the runs of two stages, as ``stage_run`` logs them."""
    import mlflow

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    p = load_params(ROOT / "params.yaml", [f"tracking.tracking_uri='{uri}'"])
    previous = mlflow.get_tracking_uri()
    try:
        for stage in ("fetch", "prepare"):
            with stage_run(p, stage):
                pass
    finally:
        mlflow.set_tracking_uri(previous)
    exp = mlflow.MlflowClient(uri).get_experiment_by_name(p.tracking.experiment)
    return uri, exp


def test_mlflow_runs_page_lists_the_stage_runs(logged_store, tmp_path):
    uri, exp = logged_store
    assert exp.tags["mlflow.experimentKind"] == "custom_model_development"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", "MLFLOW_DISABLE_TELEMETRY": "true",
           "DO_NOT_TRACK": "true"}
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(BIN / "mlflow"), "server", "--backend-store-uri", uri, "--host", "127.0.0.1",
                                 "--port", str(port), "--workers", "1"], cwd=tmp_path, env=env, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        t0 = time.monotonic()
        while not _healthy(base):
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() - t0 < SERVER_START_TIMEOUT_S, log.read_text()[-3000:]
            time.sleep(0.5)
        url = f"{base}/#/experiments/{exp.experiment_id}?workflowType=machine_learning"
        text = page_text(url, CHROMIUM, needles=("2 matching runs", "Run Name", "fetch", "prepare"), timeout=90)
    finally:
        _stop(proc)
    lines = [line.strip() for line in text.splitlines()]
    assert "2 matching runs" in lines, text[-3000:]
    assert "Run Name" in lines and "fetch" in lines and "prepare" in lines, text[-3000:]
