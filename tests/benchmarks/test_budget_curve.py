"""benchmarks/budget_curve.py: the default run's results as curve points, the paired tests, the figure."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from benchmarks.budget_curve import import_default, paired_tests, plot


def _run(folder: Path, correct: list[int], seed: int = 0, score: float | None = None) -> None:
    folder.mkdir(parents=True)
    pl.DataFrame({"id": list(range(len(correct))), "correct": correct}).write_parquet(folder / "predictions.parquet")
    acc = sum(correct) / len(correct)
    (folder / "metrics.json").write_text(json.dumps({"primary_metric": "test_accuracy", "test_accuracy": acc if score is None else score,
                                                    "train_seconds": 1.0, "steps_run": 10, "seed": seed}))


class _Params:
    class pretrain:
        max_tokens = 4_000_000


def test_default_results_become_points_and_budgets_are_tested_against_scratch_and_default(tmp_path):
    default = tmp_path / "data" / "finetune"
    n = 200
    _run(default / "bert" / "intent" / "seed_0", [1] * 120 + [0] * 80)  # 4M: 60 %
    _run(default / "bert-scratch" / "intent" / "seed_0", [1] * 180 + [0] * 20)  # scratch: 90 %
    _run(default / "minilm" / "intent" / "seed_0", [1] * n)  # a published checkpoint: not a point of the curve
    out = tmp_path / "out"
    _run(out / "finetune" / "bert-16000000" / "intent" / "seed_0", [1] * 178 + [0] * 22)  # 16M: 89 %
    out.mkdir(exist_ok=True)
    scores = out / "scores.csv"
    done: set = set()
    import_default(default, _Params, scores, done)
    rows = list(csv.DictReader(scores.open()))
    assert {(r["model"], r["budget_tokens"], r["task"]) for r in rows} == {("bert-4000000", "4000000", "intent"), ("bert-0", "0", "intent")}
    assert done == {("bert-4000000", "intent", 0), ("bert-0", "intent", 0)}
    import_default(default, _Params, scores, done)  # already there: nothing appended twice
    assert len(list(csv.DictReader(scores.open()))) == 2

    tests = {(t["model"], t["against"]): t for t in paired_tests(out, default, 4_000_000, resamples=500)}
    assert set(tests) == {("bert-16000000", "bert-0"), ("bert-16000000", "bert-4000000"), ("bert-4000000", "bert-0")}
    assert abs(tests[("bert-4000000", "bert-0")]["delta"] + 0.30) < 1e-9 and tests[("bert-4000000", "bert-0")]["p_value"] < 0.01
    assert abs(tests[("bert-16000000", "bert-0")]["delta"] + 0.01) < 1e-9 and tests[("bert-16000000", "bert-0")]["p_value"] > 0.05

    _run(out / "finetune" / "bert-16000000" / "intent" / "seed_1", [1] * n, seed=1)
    scores_16 = {"model": "bert-16000000", "arch": "bert", "budget_tokens": 16_000_000, "task": "intent", "seed": 0,
                 "metric": "test_accuracy", "score": 0.89, "train_seconds": 1, "steps_run": 10}
    with scores.open("a", newline="") as f:
        csv.DictWriter(f, fieldnames=list(scores_16)).writerow(scores_16)
    figure = tmp_path / "curve.png"
    plot(scores, tmp_path / "no-baselines", figure)
    assert figure.stat().st_size > 10_000


def test_runs_resampled_widens_the_test_when_a_budgets_seeds_disagree(tmp_path):
    # fine-tuning seeds from two pre-training runs that disagree (100 % and 40 %) against a steady scratch twin (60 %):
    # over test examples alone the +10 points look certain; redrawing the seeds (the report's two-level bootstrap) does not
    out, default = tmp_path / "out", tmp_path / "data" / "finetune"
    _run(out / "finetune" / "bert-16000000" / "intent" / "seed_0", [1] * 200)
    _run(out / "finetune" / "bert-16000000" / "intent" / "seed_1", [1] * 80 + [0] * 120, seed=1)
    for s in (0, 1):
        _run(default / "bert-scratch" / "intent" / f"seed_{s}", [1] * 120 + [0] * 80, seed=s)
    examples_only, = paired_tests(out, default, 4_000_000, resamples=400)
    two_level, = paired_tests(out, default, 4_000_000, resamples=400, runs_resampled=True)
    assert abs(examples_only["delta"] - 0.10) < 1e-9 and two_level["delta"] == examples_only["delta"]
    assert examples_only["p_value"] < 0.01 < 0.2 < two_level["p_value"]


def test_models_from_links_finished_runs_and_refuses_missing_or_conflicting_ones(tmp_path):
    import pytest

    from benchmarks.budget_curve import link_pretrained

    src = tmp_path / "base"
    (src / "models" / "bert-100").mkdir(parents=True)
    (src / "models" / "bert-100" / "budget_summary.json").write_text("{}")
    (src / "models" / "gpt-100").mkdir(parents=True)  # unfinished: no summary
    out = tmp_path / "lever"
    link_pretrained(src, out, ["bert"], [100])
    assert (out / "models" / "bert-100").resolve() == (src / "models" / "bert-100").resolve()
    assert (out / "models" / "bert-100" / "budget_summary.json").is_file()  # what run() checks to skip pre-training
    link_pretrained(src, out, ["bert"], [100])  # idempotent
    with pytest.raises(SystemExit, match="gpt-100"):
        link_pretrained(src, out, ["gpt"], [100])
    (out / "models" / "gpt-100").mkdir()  # a run of its own in the way: never replaced
    (src / "models" / "gpt-100" / "budget_summary.json").write_text("{}")
    with pytest.raises(SystemExit, match="another pre-training run"):
        link_pretrained(src, out, ["gpt"], [100])


def _dev_run(sweep: Path, cell: str, correct: list[int], dev: float) -> Path:
    folder = sweep / "finetune" / cell
    _run(folder, correct)
    m = json.loads((folder / "metrics.json").read_text())
    (folder / "metrics.json").write_text(json.dumps({**m, "best_dev_score": dev}))
    return folder


def test_select_on_dev_links_each_cells_best_dev_run_and_tests_the_selection(tmp_path):
    import pytest

    from benchmarks.budget_curve import select_on_dev

    a, b, out = tmp_path / "default", tmp_path / "lr1e-3", tmp_path / "selected"
    # pre-trained: b wins on dev (and is worse on test: the test score never decides)
    _dev_run(a, "bert-100/intent/seed_0", [1] * 180 + [0] * 20, dev=0.80)
    b_pre = _dev_run(b, "bert-100/intent/seed_0", [1] * 150 + [0] * 50, dev=0.90)
    # scratch: a tie on dev goes to the earlier sweep
    a_scr = _dev_run(a, "bert-0/intent/seed_0", [1] * 100 + [0] * 100, dev=0.70)
    _dev_run(b, "bert-0/intent/seed_0", [1] * 200, dev=0.70)
    _dev_run(a, "bert-0/news/seed_0", [1] * 10, dev=0.99)  # only in one sweep: not a choice among the grid, left out
    gpt_only = tmp_path / "aux05"  # a lever only GPT has: a choice for GPT's cells, not BERT's
    _dev_run(a, "gpt-0/intent/seed_0", [1] * 100 + [0] * 100, dev=0.60)
    _dev_run(b, "gpt-0/intent/seed_0", [1] * 100 + [0] * 100, dev=0.65)
    _dev_run(gpt_only, "gpt-0/intent/seed_0", [1] * 100 + [0] * 100, dev=0.70)

    rows = select_on_dev([a, b, gpt_only], out)
    assert [(r["model"], r["task"], r["seed"], r["chosen"]) for r in rows] == [
        ("bert-0", "intent", 0, "default"), ("bert-100", "intent", 0, "lr1e-3"), ("gpt-0", "intent", 0, "aux05")]
    shutil.rmtree(out)
    rows = select_on_dev([a, b], out)
    assert [(r["model"], r["task"], r["seed"], r["chosen"]) for r in rows] == [
        ("bert-0", "intent", 0, "default"), ("bert-100", "intent", 0, "lr1e-3"), ("gpt-0", "intent", 0, "lr1e-3")]
    assert (out / "finetune/bert-100/intent/seed_0").resolve() == b_pre.resolve()
    assert (out / "finetune/bert-0/intent/seed_0").resolve() == a_scr.resolve()
    assert not (out / "finetune/bert-0/news").exists()
    assert [r["chosen"] for r in csv.DictReader((out / "selection.csv").open())] == ["default", "lr1e-3", "lr1e-3"]

    test, = paired_tests(out, None, 100, resamples=300)  # the selection's own runs: 75 % against 50 %
    assert (test["model"], test["against"]) == ("bert-100", "bert-0") and abs(test["delta"] - 0.25) < 1e-9

    _dev_run(a, "bert-0/intent/seed_1", [1] * 200, dev=0.5)
    _dev_run(b, "bert-0/intent/seed_1", [1] * 200, dev=0.6)
    json_path = a / "finetune/bert-100/intent/seed_0/metrics.json"  # a sweep re-scored: the link follows it
    json_path.write_text(json.dumps({**json.loads(json_path.read_text()), "best_dev_score": 0.95}))
    rows = select_on_dev([a, b], out)
    assert [(r["model"], r["seed"], r["chosen"]) for r in rows if r["model"].startswith("bert")] == [
        ("bert-0", 0, "default"), ("bert-0", 1, "lr1e-3"), ("bert-100", 0, "default")]
    assert (out / "finetune/bert-100/intent/seed_0").resolve() == json_path.parent.resolve()

    (out / "finetune/bert-0/intent/seed_0").unlink()
    (out / "finetune/bert-0/intent/seed_0").mkdir()  # a run of its own in the way: never replaced
    with pytest.raises(SystemExit, match="not a link"):
        select_on_dev([a, b], out)
    with pytest.raises(SystemExit, match="no finetune/"):
        select_on_dev([a, tmp_path / "missing"], tmp_path / "other")



_ORPHANING_PARENT = """
import os, time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from benchmarks.budget_curve import exit_with_parent

if __name__ == "__main__":
    pool = ProcessPoolExecutor(1, mp_context=get_context("spawn"), initializer=exit_with_parent, initargs=(os.getpid(), 0.1))
    worker = pool.submit(os.getpid).result()
    pool.submit(time.sleep, 600)  # a long job, as a pre-training run
    print(worker, flush=True)
    time.sleep(600)
"""


def _running(pid: int) -> bool:
    """Whether ``pid`` is alive and not a zombie (an orphan's exit is reaped by init, whenever init gets to it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states from /proc")
def test_workers_exit_when_the_budget_curve_process_is_killed(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "parent.py"
    script.write_text(_ORPHANING_PARENT)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(Path.cwd()), os.environ.get("PYTHONPATH")]))}
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env)
    worker = int(parent.stdout.readline())
    assert _running(worker)
    os.kill(parent.pid, signal.SIGKILL)  # no clean-up in the parent, as with kill -9 or the OOM killer
    parent.wait()
    deadline = time.monotonic() + 30
    while _running(worker) and time.monotonic() < deadline:
        time.sleep(0.2)
    if _running(worker):
        os.kill(worker, signal.SIGKILL)
        raise AssertionError("the orphaned worker kept running after its parent was killed")
