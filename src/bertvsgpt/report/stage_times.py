"""Wall time of this run per stage group, from the MLflow runs every stage logs (:mod:`bertvsgpt.tracking`).

Each stage run is one top-level MLflow run tagged ``stage`` (per-seed fine-tuning runs are nested in
their stage's run and not counted again). For each run name (``pretrain-bert``, ``finetune-gpt-ner``,
...) the latest FINISHED run counts, from its start to its end, less its interruptions (:func:`active_seconds`, with
``events`` and ``resumes`` given): a run that was interrupted and resumed keeps its MLflow run, so it spans the
interruption, which is not work. Since :func:`bertvsgpt.tracking.stage_run` marks each reopening (metric
:data:`~bertvsgpt.tracking.RESUMED`), the silence that ends at a mark is left out whatever its length. Runs logged
before the mark existed have none, so every silence longer than :data:`IDLE_GAP_S` in which neither the run nor its
per-seed runs logged anything is left out too; that rule cannot tell an interruption from a stage working that long
without logging, and no stage does at the defaults. The runs are summed per stage group. A fine-tuning run that
reused results finished earlier with the same inputs (``tasks/registry.py``'s resume: every per-seed run,
or a stage run without per-seed runs such as ``finetune_labels``, logs a ``train_seconds`` longer than the
run itself lasted; a pre-training run that resumed a finished checkpoint logs the whole run's
``summary/train_seconds``) did not compute them: the latest run that
did counts instead when it logged the same training seconds in all (it computed the same results), so the table
states what the results cost, not how fast they were copied; a run that reused some of its seeds and trained others
adds the reused seeds' logged ``train_seconds``, and one without per-seed runs that reused some of its parts
(``finetune_labels`` after its task list changed) counts its logged ``train_seconds`` (:func:`reused_seconds`). The report
stage itself is still running when it reads them and is left out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ..tracking.run import RESUMED
from .labels import fmt_seconds, md_table

# (group, its stages), in pipeline order
STAGE_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("fetch + prepare", ("fetch", "prepare")),
    ("tokenizers", ("tokenizer",)),
    ("pre-training", ("pretrain",)),
    ("scratch", ("scratch",)),
    ("fine-tuning", ("finetune",)),
    ("label efficiency", ("finetune_labels",)),
    ("budget fine-tuning", ("finetune_budget",)),
    ("baselines", ("baselines",)),
    ("evaluate", ("evaluate",)),
)
EXCLUDED = ("report",)
PARENT_TAG = "mlflow.parentRunId"
PRETRAIN_SECONDS = "summary/train_seconds"  # what pipeline/pretrain.py logs (a resumed, finished run: the whole run's)
IDLE_GAP_S = 30 * 60  # a stretch longer than this with nothing logged: the run was interrupted and resumed later
# (every stage logs at least once per fine-tuning epoch, pre-training window or label fraction, minutes apart at the defaults)


@dataclass(frozen=True)
class StageTime:
    group: str
    stages: tuple[str, ...]
    runs: int  # stage runs counted
    seconds: float


def _group_of(stage: str) -> str:
    for group, stages in STAGE_GROUPS:
        if stage in stages:
            return group
    return "other"


def _seconds(info: Any) -> float:
    return max(0.0, (info.end_time - info.start_time) / 1000.0)


def _trained_vs_lasted(runs: Iterable[Any]) -> Iterator[tuple[str, str, bool, float, float]]:
    """``(owner, name, nested, trained, lasted)`` for every finished run that logged its training seconds: ``owner`` is
    the parent's id for a nested (per-seed) run, else the run's own; a logged time above ``lasted`` means it reused results."""
    for run in runs:
        parent = (run.data.tags or {}).get(PARENT_TAG)
        metrics = getattr(run.data, "metrics", None) or {}
        trained = metrics.get("train_seconds", metrics.get(PRETRAIN_SECONDS))
        if isinstance(trained, (int, float)) and run.info.start_time is not None and run.info.end_time:
            name = run.info.run_name or run.info.run_id
            yield parent or run.info.run_id, name, parent is not None, float(trained), _seconds(run.info)


def reused_runs(runs: Iterable[Any]) -> set[str]:
    """Ids of top-level runs that logged more ``train_seconds`` than they lasted, or whose every nested
    (per-seed) run did: their results were reused from an earlier run, not computed."""
    verdicts: dict[str, list[bool]] = {}
    for owner, _, _, trained, lasted in _trained_vs_lasted(runs):
        verdicts.setdefault(owner, []).append(trained > lasted)
    return {owner for owner, reused in verdicts.items() if reused and all(reused)}


def trained_totals(runs: Iterable[Any]) -> dict[str, float]:
    """Top-level run id -> the training seconds its results cost as logged: the sum over its nested (per-seed) runs
    where it has any, else its own ``train_seconds`` (``summary/train_seconds``)."""
    own: dict[str, float] = {}
    nested: dict[str, float] = {}
    for owner, _, is_nested, trained, _ in _trained_vs_lasted(runs):
        if is_nested:
            nested[owner] = nested.get(owner, 0.0) + trained
        else:
            own[owner] = trained
    return {**own, **nested}


def _same_seconds(a: float | None, b: float | None) -> bool:
    return a is not None and b is not None and abs(a - b) <= 1e-6 * max(abs(a), abs(b)) + 0.01


def reused_seconds(runs: Iterable[Any]) -> dict[str, float]:
    """Parent run id -> the training seconds its nested (per-seed) runs did not spend because they reused results
    finished earlier (each logs the original ``train_seconds``): what a stage run whose seeds were partly reused
    (seed 0 kept, seed 1 trained from a new pre-training run) adds to its own wall time to state what it cost. A
    reused seed whose result a nested run of the same name under the same parent computed (a stage run interrupted
    after seed 0 and resumed: seed 0's new run reuses what its first run, inside the same span, trained) adds nothing."""
    rows = list(_trained_vs_lasted(runs))
    computed = {(owner, name) for owner, name, nested, trained, lasted in rows if nested and trained <= lasted}
    with_nested = {owner for owner, _, nested, _, _ in rows if nested}
    out: dict[str, float] = {}
    for owner, name, nested, trained, lasted in rows:
        if nested and trained > lasted and (owner, name) not in computed:
            out[owner] = out.get(owner, 0.0) + trained - lasted
        elif not nested and owner not in with_nested and trained > lasted:
            # a run without per-seed runs (finetune_labels) that reused some or all of its parts: its logged
            # training seconds are what its results cost (the reused parts' original time and what it trained)
            out[owner] = trained - lasted
    return out


def latest_stage_runs(runs: Iterable[Any]) -> dict[str, Any]:
    """run name -> the FINISHED top-level stage run that counts for it (``runs``: ``mlflow.entities.Run`` objects):
    its latest run; if that one reused its results, the latest earlier run that computed the same results (the same
    logged training seconds in all), else the reuse itself (counted with :func:`reused_seconds`)."""
    runs = list(runs)
    reused, totals = reused_runs(runs), trained_totals(runs)
    by_name: dict[str, list[Any]] = {}
    for run in runs:
        info, tags = run.info, run.data.tags or {}
        stage = tags.get("stage")
        if stage is None or stage in EXCLUDED or PARENT_TAG in tags or info.status != "FINISHED" or info.start_time is None or not info.end_time:
            continue
        by_name.setdefault(info.run_name or tags.get("mlflow.runName") or info.run_id, []).append(run)
    latest: dict[str, Any] = {}
    for name, named in by_name.items():
        named.sort(key=lambda r: r.info.start_time)
        last = named[-1]
        if last.info.run_id in reused:
            same = [r for r in named if r.info.run_id not in reused and _same_seconds(totals.get(r.info.run_id), totals.get(last.info.run_id))]
            last = same[-1] if same else last  # what reused a different set of results (some computed anew) counts itself
        latest[name] = last
    return latest


def active_seconds(start: float, end: float, events: Iterable[float], resumes: Iterable[float] = ()) -> float:
    """Seconds from ``start`` to ``end`` less every gap between consecutive ``events`` (times in seconds at which
    the run logged something; ``start`` and ``end`` count as events) that is longer than :data:`IDLE_GAP_S` or ends
    at one of ``resumes`` (the times the run was reopened after an interruption)."""
    marks = {t for t in resumes if start <= t <= end}
    points = sorted({start, end, *marks, *(t for t in events if start <= t <= end)})
    return float(sum(b - a for a, b in zip(points, points[1:]) if b - a <= IDLE_GAP_S and b not in marks))


def mlflow_event_times(runs: Sequence[Any], client: Any = None) -> Callable[[Any], list[float]]:
    """``run -> the times (s) at which it or its nested runs started, ended or logged a metric value``, read from
    the tracking store (``client``: an ``mlflow.MlflowClient``, made when not given) for :func:`stage_times`."""
    if client is None:
        import mlflow

        client = mlflow.MlflowClient()
    children: dict[str, list[Any]] = {}
    for r in runs:
        parent = (r.data.tags or {}).get(PARENT_TAG)
        if parent:
            children.setdefault(parent, []).append(r)

    def events(run: Any) -> list[float]:
        out: list[float] = []
        for r in [run, *children.get(run.info.run_id, [])]:
            out += [t / 1000.0 for t in (r.info.start_time, r.info.end_time) if t]
            for key in (getattr(r.data, "metrics", None) or {}):
                out += [m.timestamp / 1000.0 for m in client.get_metric_history(r.info.run_id, key)]
        return out

    return events


def mlflow_resume_times(client: Any = None) -> Callable[[Any], list[float]]:
    """``run -> the times (s) at which it was reopened after an interruption`` (its :data:`RESUMED` values), read
    from the tracking store (``client`` as in :func:`mlflow_event_times`) for :func:`stage_times`."""
    if client is None:
        import mlflow

        client = mlflow.MlflowClient()

    def resumes(run: Any) -> list[float]:
        if RESUMED not in (getattr(run.data, "metrics", None) or {}):
            return []
        return [m.timestamp / 1000.0 for m in client.get_metric_history(run.info.run_id, RESUMED)]

    return resumes


def stage_times(runs: Iterable[Any], events: Callable[[Any], Iterable[float]] | None = None,
                resumes: Callable[[Any], Iterable[float]] | None = None) -> list[StageTime]:
    """Seconds per stage group (pipeline order; groups without a run left out). With ``events`` (run -> times in
    seconds at which it logged something; :func:`mlflow_event_times`), a run longer than :data:`IDLE_GAP_S` or one
    that was resumed (``resumes``: run -> the times it was reopened; :func:`mlflow_resume_times`) counts its
    :func:`active_seconds`."""
    seconds: dict[str, float] = {}
    count: dict[str, int] = {}
    stages: dict[str, set[str]] = {}
    runs = list(runs)
    saved = reused_seconds(runs)
    for run in latest_stage_runs(runs).values():
        stage = run.data.tags["stage"]
        group = _group_of(stage)
        lasted = _seconds(run.info)
        reopened = list(resumes(run)) if resumes is not None else []
        if events is not None and (lasted > IDLE_GAP_S or reopened):
            lasted = active_seconds(run.info.start_time / 1000.0, run.info.end_time / 1000.0, events(run), reopened)
        seconds[group] = seconds.get(group, 0.0) + lasted + saved.get(run.info.run_id, 0.0)
        count[group] = count.get(group, 0) + 1
        stages.setdefault(group, set()).add(stage)
    order = [g for g, _ in STAGE_GROUPS] + ["other"]
    return [StageTime(g, tuple(sorted(stages[g])), count[g], seconds[g]) for g in order if g in seconds]


def search_stage_runs(experiment: str) -> list[Any]:
    """Every FINISHED run of the MLflow experiment (the tracking URI already set), ``[]`` when it does not exist."""
    import mlflow

    exp = mlflow.get_experiment_by_name(experiment)
    if exp is None:
        return []
    return mlflow.search_runs(experiment_ids=[exp.experiment_id], filter_string="attributes.status = 'FINISHED'",
                              output_format="list")


def stage_times_section(times: Sequence[StageTime] | None) -> list[str]:
    """Markdown lines: the table with a total, or a note that no stage runs were found."""
    if not times:
        return ["_No finished stage runs found in the MLflow tracking store: wall times not available._", ""]
    total = sum(t.seconds for t in times)
    rows = [[t.group, ", ".join(t.stages), f"{t.runs:,}", fmt_seconds(t.seconds), f"{100 * t.seconds / total:.0f} %" if total else "—"]
            for t in times]
    rows.append(["**total**", "", f"{sum(t.runs for t in times):,}", f"**{fmt_seconds(total)}**", "100 %" if total else "—"])
    return ["Wall time of each stage group: the latest finished MLflow run of each stage run (tag `stage`; nested per-seed "
            "runs are inside their stage's run), summed, less its interruptions (an interrupted run resumed later spans "
            "them: the silence before each resume it marks, and any silence over "
            f"{IDLE_GAP_S // 60} min in which it logged nothing), a run "
            "that reused results finished earlier with the same inputs counts by the run that computed them (a run that "
            "reused some of its seeds adds their logged training time), and "
            "the report stage itself is not counted.", "",
            md_table(["stage group", "stages", "runs", "wall time", "share"], rows, align=["l", "l", "r", "r", "r"]), ""]
