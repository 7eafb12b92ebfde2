"""benchmarks/startup.py: each stage's stop point exists in its module, and a measurement reaches it."""

import importlib
import tempfile
from pathlib import Path

import pytest

from benchmarks import startup


@pytest.mark.parametrize("stage", sorted(startup.STAGES))
def test_every_stop_point_names_a_call_in_the_stage_module(stage: str) -> None:
    # a renamed work call would make the 'to work' column time the stage's work (or fail inside it)
    module = importlib.import_module(f"pipeline.{stage}")
    *owner, name = startup.STAGES[stage][1].split(".")
    target = getattr(module, owner[0]) if owner else module
    assert callable(getattr(target, name, None)), f"pipeline.{stage} has no callable {startup.STAGES[stage][1]}"


def test_to_work_stops_every_stage_at_its_stop_point_before_reading_any_input() -> None:
    # in an empty directory: a stage that ran past its stop point would fail on its missing inputs
    with tempfile.TemporaryDirectory() as tmp:
        startup.to_work_time("fetch", Path(tmp))  # creates the throwaway MLflow store, as main() does
        seconds = {stage: startup.to_work_time(stage, Path(tmp)) for stage in startup.STAGES}
    assert all(0 < s < 120 for s in seconds.values()), seconds


def test_an_unknown_stop_point_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(startup.STAGES, "scratch", (["model=bert"], "no_such_call"))
    with tempfile.TemporaryDirectory() as tmp, pytest.raises(RuntimeError, match="no no_such_call"):
        startup.to_work_time("scratch", Path(tmp))
