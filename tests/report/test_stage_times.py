"""Wall time per stage group from the MLflow stage runs: which runs count, the groups, the section with and without runs."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest

from bertvsgpt.report import render_report
from bertvsgpt.report.stage_times import (IDLE_GAP_S, StageTime, active_seconds, latest_stage_runs, mlflow_event_times,
                                          mlflow_resume_times, stage_times, stage_times_section)
from bertvsgpt.tracking import RESUMED


def run(name: str, stage: str | None, start_s: float, end_s: float | None, status: str = "FINISHED", parent: str | None = None,
        run_id: str | None = None, train_seconds: float | None = None):
    tags = {} if stage is None else {"stage": stage}
    if parent:
        tags["mlflow.parentRunId"] = parent
    info = SimpleNamespace(run_id=run_id or f"{name}@{start_s}", run_name=name, status=status, start_time=int(start_s * 1000),
                           end_time=None if end_s is None else int(end_s * 1000))
    metrics = {} if train_seconds is None else {"train_seconds": train_seconds}
    return SimpleNamespace(info=info, data=SimpleNamespace(tags=tags, metrics=metrics))


RUNS = [
    run("fetch", "fetch", 0, 30), run("prepare", "prepare", 30, 90),
    run("tokenizer-bert", "tokenizer", 90, 100), run("tokenizer-gpt", "tokenizer", 100, 110),
    run("pretrain-bert", "pretrain", 110, 400, status="KILLED"),  # interrupted: not counted ...
    run("pretrain-bert", "pretrain", 500, 800),  # ... its finished rerun is
    run("pretrain-bert", "pretrain", 200, 300),  # an older finished run of the same name: the latest counts
    run("pretrain-gpt", "pretrain", 800, 1200),
    run("finetune-bert-sentiment", "finetune", 1200, 1300),
    run("seed-0", "finetune", 1210, 1250, parent="x"), run("seed-1", "finetune", 1250, 1290, parent="x"),  # nested: inside
    run("finetune-labels-bert", "finetune_labels", 1300, 1360),
    run("evaluate", "evaluate", 1360, 1400),
    run("report", "report", 1400, 1410),  # the report itself: left out
    run("pretrain-gpt", "pretrain", 1500, None, status="RUNNING"),  # still running: not counted
    run("untagged", None, 0, 5000),  # not a stage run
    run("custom", "mystery", 0, 10),
]


def test_latest_finished_top_level_run_per_name():
    latest = latest_stage_runs(RUNS)
    assert set(latest) == {"fetch", "prepare", "tokenizer-bert", "tokenizer-gpt", "pretrain-bert", "pretrain-gpt",
                           "finetune-bert-sentiment", "finetune-labels-bert", "evaluate", "custom"}
    assert latest["pretrain-bert"].info.start_time == 500_000 and latest["pretrain-gpt"].info.end_time == 1_200_000


def test_a_run_that_reused_its_results_counts_by_the_run_that_computed_them():
    """A re-run whose seeds reused finished results (each logs the original train_seconds, longer than the seed run
    lasted) is not what the results cost: the earlier run that trained counts; with no such run, the reuse does."""
    computed = [run("finetune-bert-ner", "finetune", 0, 700, run_id="A"),
                run("seed-0", "finetune", 10, 350, parent="A", train_seconds=300), run("seed-1", "finetune", 350, 690, parent="A", train_seconds=310)]
    reused = [run("finetune-bert-ner", "finetune", 5000, 5015, run_id="B"),
              run("seed-0", "finetune", 5005, 5007, parent="B", train_seconds=300), run("seed-1", "finetune", 5008, 5010, parent="B", train_seconds=310)]
    assert latest_stage_runs(computed + reused)["finetune-bert-ner"].info.run_id == "A"
    assert stage_times(computed + reused)[0].seconds == 700
    assert latest_stage_runs(reused)["finetune-bert-ner"].info.run_id == "B"  # nothing else known: the reuse counts
    retrained = [run("finetune-bert-ner", "finetune", 6000, 6800, run_id="C"),
                 run("seed-0", "finetune", 6010, 6400, parent="C", train_seconds=300)]  # trained again (lasted longer)
    assert latest_stage_runs(computed + reused + retrained)["finetune-bert-ner"].info.run_id == "C"
    # a stage run without per-seed runs (finetune_labels) logs its own train_seconds
    labels = [run("finetune-labels-bert", "finetune_labels", 0, 400, run_id="L1", train_seconds=350),
              run("finetune-labels-bert", "finetune_labels", 900, 902, run_id="L2", train_seconds=350)]
    assert latest_stage_runs(labels)["finetune-labels-bert"].info.run_id == "L1"
    # a pre-training run that resumed a finished checkpoint logs the whole run's summary/train_seconds
    first, resumed = run("pretrain-bert", "pretrain", 0, 740, run_id="P1"), run("pretrain-bert", "pretrain", 900, 930, run_id="P2")
    first.data.metrics["summary/train_seconds"] = resumed.data.metrics["summary/train_seconds"] = 737.0
    assert latest_stage_runs([first, resumed])["pretrain-bert"].info.run_id == "P1"


def test_a_run_that_reused_some_seeds_adds_their_training_time():
    """Seed 0 reused (logged 300 s of training, lasted 2 s), seed 1 trained (310 s logged, lasted 320 s): the stage run
    lasted 330 s and its results cost 330 + (300 - 2) s; the trained seed adds nothing."""
    partly = [run("finetune-bert-ner", "finetune", 0, 330, run_id="P"),
              run("seed-0", "finetune", 1, 3, parent="P", train_seconds=300), run("seed-1", "finetune", 5, 325, parent="P", train_seconds=310)]
    assert latest_stage_runs(partly)["finetune-bert-ner"].info.run_id == "P"
    assert stage_times(partly)[0].seconds == pytest.approx(330 + 298)
    reused = [run("finetune-bert-ner", "finetune", 5000, 5015, run_id="B"),
              run("seed-0", "finetune", 5005, 5007, parent="B", train_seconds=300), run("seed-1", "finetune", 5008, 5010, parent="B", train_seconds=310)]
    assert stage_times(reused)[0].seconds == pytest.approx(15 + 298 + 308)  # nothing else known: the logged times count


def test_a_run_without_seeds_that_reused_part_of_its_results_counts_their_training_time():
    """``finetune_labels`` after its task list changed: two tasks reused (their original 300 s logged in the stage's
    train_seconds), one trained anew (40 s), the stage lasted 60 s. The earlier run computed other results (a task
    since dropped, 700 s logged), so it does not stand in: the new run counts its logged 340 s, not the old 800 s."""
    old = run("finetune-labels-bert", "finetune_labels", 0, 800, run_id="L1", train_seconds=700)
    new = run("finetune-labels-bert", "finetune_labels", 5000, 5060, run_id="L2", train_seconds=340)
    assert latest_stage_runs([old, new])["finetune-labels-bert"].info.run_id == "L2"
    assert stage_times([old, new])[0].seconds == pytest.approx(340)
    again = run("finetune-labels-bert", "finetune_labels", 9000, 9002, run_id="L3", train_seconds=340)  # all reused now
    assert stage_times([old, new, again])[0].seconds == pytest.approx(340)  # L2 computed the same results: L2 counts
    assert stage_times([new])[0].seconds == pytest.approx(340)


def test_groups_in_pipeline_order_with_their_seconds():
    times = stage_times(RUNS)
    assert [(t.group, t.runs, t.seconds) for t in times] == [
        ("fetch + prepare", 2, 90.0), ("tokenizers", 2, 20.0), ("pre-training", 2, 700.0), ("fine-tuning", 1, 100.0),
        ("label efficiency", 1, 60.0), ("evaluate", 1, 40.0), ("other", 1, 10.0)]
    assert times[0].stages == ("fetch", "prepare")
    assert stage_times([]) == []


def test_section_with_runs_has_a_total():
    lines = "\n".join(stage_times_section([StageTime("pre-training", ("pretrain",), 2, 5400.0), StageTime("evaluate", ("evaluate",), 1, 600.0)]))
    assert "| pre-training | pretrain | 2 | 1.50 h | 90 % |" in lines
    assert "| evaluate | evaluate | 1 | 10.0 min | 10 % |" in lines
    assert "| **total** |  | 3 | **1.67 h** | 100 % |" in lines


def test_a_resumed_run_does_not_count_its_interruption():
    """A fine-tuning run killed 40 s in and resumed an hour later (the same MLflow run, so it spans the hour): its
    seed logged until the kill and again after the resume; the silence between is not counted, the work is."""
    gap = IDLE_GAP_S + 1800
    parent = run("finetune-bert-qa", "finetune", 0, 40 + gap + 100, run_id="Q")
    seed = run("seed-0", "finetune", 1, 40 + gap + 99, parent="Q")
    logged = {"Q": [], "seed-0@1": [10, 20, 30, 40, 40 + gap + 5, 40 + gap + 50, 40 + gap + 95]}
    events = lambda r: [t for x in (r, seed) if x is r or x.data.tags.get("mlflow.parentRunId") == r.info.run_id
                        for t in [x.info.start_time / 1000, x.info.end_time / 1000, *logged[x.info.run_id]]]
    assert stage_times([parent, seed], events=events)[0].seconds == pytest.approx(40 + 100 - 5)  # kill..resume+5 dropped
    assert stage_times([parent, seed])[0].seconds == pytest.approx(40 + gap + 100)  # without events: start to end
    # a long run that logs all along keeps its whole duration; a silence up to the limit is work (e.g. a slow epoch)
    long = run("pretrain-bert", "pretrain", 0, 3 * IDLE_GAP_S)
    assert stage_times([long], events=lambda r: [IDLE_GAP_S, 2 * IDLE_GAP_S])[0].seconds == 3 * IDLE_GAP_S
    assert active_seconds(0, 100, [50, 500]) == 100  # events outside the run are ignored


def test_the_silence_before_a_marked_resume_is_dropped_however_short():
    """A run killed after its last log at 20 s and reopened 10 min later (within IDLE_GAP_S, so the silence rule
    alone would count it): ``stage_run`` marks the reopening, and the silence that ends at the mark is not work."""
    assert active_seconds(0, 700, [10, 20, 650], resumes=[620]) == pytest.approx(20 + 80)
    assert active_seconds(0, 700, [10, 20, 650]) == 700  # unmarked: a 10-min silence counts as work
    assert active_seconds(0, 100, [10, 20], resumes=[500]) == 100  # a mark outside the run is ignored
    short = run("finetune-bert-ner", "finetune", 0, 700, run_id="N")
    marked = stage_times([short], events=lambda r: [10, 20, 650], resumes=lambda r: [620])
    assert marked[0].seconds == pytest.approx(100)
    assert stage_times([short], events=lambda r: [10, 20, 650], resumes=lambda r: [])[0].seconds == 700


def test_a_stage_resumed_an_hour_later_counts_its_work_once(tmp_path):
    """End to end on a sqlite store, as ``stage_run`` and the fine-tuning registry log it: seed 0 trains (38 s),
    seed 1 is killed 8 s in, an hour passes, the stage resumes in the same MLflow run: seed 1 carries on in its own
    run, seed 0 gets a new run that reuses its result (lasts 1 s, logs the original 38 s). What the results cost is
    the work before the kill and after the resume, with seed 0's training counted once. (That run was logged
    without the resume mark, as runs before it existed were; a second stage has the mark.)"""
    import mlflow

    from bertvsgpt.report.stage_times import search_stage_runs

    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    try:
        client = mlflow.MlflowClient()
        exp = client.create_experiment("e")
        t0, gap = 1_700_000_000, 3600

        def new(name, start, parent=None):
            tags = {"stage": "finetune", **({"mlflow.parentRunId": parent} if parent else {})}
            return client.create_run(exp, start_time=(t0 + start) * 1000, tags=tags, run_name=name).info.run_id

        def log(run_id, key, value, at):
            client.log_metric(run_id, key, value, timestamp=(t0 + at) * 1000)

        parent = new("finetune-bert-qa", 0)
        seed0 = new("seed-0", 1, parent)
        for at in (10, 20, 30, 40):
            log(seed0, "loss", 1.0, at)
        log(seed0, "train_seconds", 38.0, 40)
        client.set_terminated(seed0, end_time=(t0 + 41) * 1000)
        seed1 = new("seed-1", 42, parent)
        log(seed1, "loss", 1.0, 50)  # killed after this; the stage resumes an hour later
        seed0_again = new("seed-0", gap + 55, parent)
        log(seed0_again, "train_seconds", 38.0, gap + 55)
        client.set_terminated(seed0_again, end_time=(t0 + gap + 56) * 1000)
        for at in (gap + 60, gap + 100):
            log(seed1, "loss", 0.5, at)
        log(seed1, "train_seconds", 66.0, gap + 100)
        client.set_terminated(seed1, end_time=(t0 + gap + 101) * 1000)
        client.set_terminated(parent, end_time=(t0 + gap + 102) * 1000)
        # a second stage, interrupted for 10 min only: reopened by stage_run, which marks the moment (RESUMED)
        other = new("finetune-gpt-qa", 200)
        log(other, "loss", 1.0, 230)
        log(other, RESUMED, 1.0, 830)
        log(other, "loss", 0.5, 860)
        client.set_terminated(other, end_time=(t0 + 870) * 1000)
        runs = search_stage_runs("e")
        with_events = stage_times(runs, events=mlflow_event_times(runs), resumes=mlflow_resume_times())
        unmarked = stage_times(runs, events=mlflow_event_times(runs))
        without = stage_times(runs)
    finally:
        mlflow.set_tracking_uri(previous)
    assert [t.runs for t in with_events] == [2]
    # first stage: the hour from 50 s to 55 s after it dropped; second: 30 s before the kill, 40 s after the resume
    assert with_events[0].seconds == pytest.approx(50 + (102 - 55) + 30 + 40)
    assert unmarked[0].seconds == pytest.approx(50 + (102 - 55) + 670)  # the 10-min silence alone is not dropped
    assert without[0].seconds == pytest.approx(gap + 102 + 670)  # start to end, as before the events


@pytest.mark.parametrize("times", [None, []])
def test_section_without_runs_says_so(times):
    assert stage_times_section(times)[0].startswith("_No finished stage runs found in the MLflow tracking store")


def test_report_renders_the_section_with_and_without_runs(report, inputs, options, tmp_path):
    section = report.markdown.split("### Wall time per stage")[1]
    assert "_No finished stage runs found" in section  # the fixture run has no MLflow store
    with_runs = render_report(dataclasses.replace(inputs, stage_times=stage_times(RUNS)), tmp_path / "reports", options).markdown
    section = with_runs.split("### Wall time per stage")[1].split("\n### ")[0]
    assert "| fetch + prepare | fetch, prepare | 2 | 1.5 min | 9 % |" in section
    assert "| pre-training | pretrain | 2 | 11.7 min | 69 % |" in section
    assert "| **total** |  | 10 | **17.0 min** | 100 % |" in section
    assert "_No finished stage runs found" not in section
