"""The numbers behind the headline: per task, per group of tasks and overall, with paired tests.

Per task: each model's primary metric (mean ± std over seeds, from ``summary.csv``) and paired
bootstrap tests (:mod:`.significance`) of BERT vs GPT, of each pre-trained model vs its scratch
twin and of each published checkpoint (``inputs.published``) vs our pre-trained model of its family
(a BERT-family checkpoint vs BERT, a GPT-family one vs GPT); the classical baselines' scores (the ``baseline:<name>`` rows) and each pre-trained model
tested against every baseline on the same resamples. Per group (classification, token-level,
span/choice, generation) and overall: the mean over tasks of the primary metrics brought to
``[0, 1]``; the overall average is the mean over *tasks* (not over groups). The group test
resamples every task of the group independently, with the per-task replicates averaged resample
by resample.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from .inputs import ReportInputs
from .labels import BASELINE_PREFIX, GROUPS, PRETRAINED, TWINS, group_of, normalise, published_pairs
from .significance import PairedTest, Replicates, check_same_rows, compare, model_replicates, paired_test, resample_counts, supports

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Score:
    mean: float
    std: float
    n: int


@dataclass
class TaskResult:
    task: str
    kind: str
    metric: str
    scores: dict[str, Score]  # model -> primary metric over seeds
    tests: dict[tuple[str, str], PairedTest] = field(default_factory=dict)  # (a, b) -> a − b
    replicates: dict[str, Replicates] = field(default_factory=dict)
    n_examples: int | None = None
    note: str = ""  # why there is no test
    baselines: dict[str, Score] = field(default_factory=dict)  # baseline name -> primary metric (the reference first)
    reference: str | None = None  # the trivial baseline (majority, chance, ...) of the task
    baseline_tests: dict[tuple[str, str], PairedTest] = field(default_factory=dict)  # (model, baseline) -> model − baseline
    baseline_note: str = ""  # why the models are not tested against the baselines

    @property
    def group(self) -> str:
        return group_of(self.kind)

    def normalised(self, model: str) -> float | None:
        s = self.scores.get(model)
        return None if s is None else normalise(s.mean, self.metric)

    def above_trivial(self, model: str, alpha: float) -> bool | None:
        """Whether ``model`` scores significantly above the task's trivial baseline; ``None`` when untested."""
        t = self.baseline_tests.get((model, self.reference)) if self.reference else None
        return None if t is None else t.significant(alpha) and t.delta > 0

    def none_above_trivial(self, models: tuple[str, ...], alpha: float) -> bool:
        """True when every one of ``models`` was tested against the trivial baseline and none is significantly
        above it: a difference between them then separates models that did not learn the task."""
        return all(self.above_trivial(m, alpha) is False for m in models)


@dataclass
class GroupResult:
    name: str  # a group of GROUPS, or "overall"
    tasks: list[str]
    means: dict[str, float]  # model -> mean over tasks of the normalised primary metric
    n_tasks: dict[str, int]  # model -> tasks it has a score for
    test: PairedTest | None = None  # BERT − GPT (normalised)


def comparison_pairs(models: list[str], published: Mapping[str, Mapping[str, Any]] | None = None) -> list[tuple[str, str]]:
    """BERT vs GPT, then each pre-trained model vs its scratch twin, then each published checkpoint vs our
    pre-trained model of its family (``published``: name -> record; :func:`.labels.published_pairs`), those present."""
    pairs = [("bert", "gpt")] + [(m, t) for m, t in TWINS.items()]
    return [(a, b) for a, b in pairs if a in models and b in models] + published_pairs(models, published or {})


def _scores(summary: pl.DataFrame, task: str, metric: str) -> dict[str, Score]:
    rows = summary.filter((pl.col("task") == task) & (pl.col("metric") == metric))
    return {r["model"]: Score(float(r["mean"]), float(r["std"] or 0.0), int(r["n"])) for r in rows.iter_rows(named=True)}


def task_seed(seed: int, task: str) -> int:
    """The bootstrap seed of a task: fixed by the run's seed and the task's name, whatever else is configured."""
    return (seed * 1_000_003 + zlib.crc32(task.encode())) % 2**32


def seed_draws(seed: int, model: str) -> np.random.Generator:
    """The generator that resamples one model's seeds (:func:`.significance.model_replicates`), the same on every
    task: fine-tuning seed i starts from pre-training run i on every task, so a resample that draws run i draws it
    for all of them, and a group's or the overall test keeps a run's luck shared across its tasks (drawn per task,
    it averaged out and the intervals came out too narrow). Fixed by the run's seed and the model, so adding a model
    or a task changes no other model's draws."""
    return np.random.default_rng([seed % 2**32, zlib.crc32(model.encode())])


def _baseline_scores(inputs: ReportInputs, task: str, scores: dict[str, Score]) -> tuple[dict[str, Score], str | None]:
    """The task's baseline scores (the order of ``inputs.baselines``, then any other) and its reference baseline."""
    found = {m.removeprefix(BASELINE_PREFIX): s for m, s in scores.items() if m.startswith(BASELINE_PREFIX)}
    listed = [b.name for b in inputs.baselines.get(task, [])]
    order = [b for b in listed if b in found] + sorted(b for b in found if b not in listed)
    reference = next((b.name for b in inputs.baselines.get(task, []) if b.reference and b.name in found), None)
    return {b: found[b] for b in order}, reference


def _test_baselines(result: TaskResult, inputs: ReportInputs, counts: np.ndarray, first_ids: list) -> None:
    """Each pre-trained model against every baseline with predictions on the same test rows (same resamples)."""
    for b in inputs.baselines.get(result.task, []):
        frame = b.predictions
        if b.name not in result.baselines or frame is None or not supports(result.metric, frame):
            continue
        if "id" not in frame.columns or frame.get_column("id").to_list() != first_ids:
            result.baseline_note = f"baseline {b.name}: its test rows differ from the models' (ids or order)"
            log.warning("%s: no test against the baselines: %s", result.task, result.baseline_note)
            continue
        replicates = model_replicates([frame], result.metric, counts)
        for m in PRETRAINED:
            if m in result.replicates:
                result.baseline_tests[(m, b.name)] = compare(result.replicates[m], replicates, counts.shape[1])


def task_results(inputs: ReportInputs, n_resamples: int, seed: int) -> list[TaskResult]:
    results = []
    for task in inputs.tasks:
        metric = inputs.primary.get(task)
        if metric is None:
            continue
        scores = _scores(inputs.summary, task, metric)
        result = TaskResult(task, inputs.task_kinds.get(task, "other"), metric,
                            {m: s for m, s in scores.items() if not m.startswith(BASELINE_PREFIX)})
        result.baselines, result.reference = _baseline_scores(inputs, task, scores)
        frames = {m: inputs.predictions[(m, task)] for m in inputs.models if (m, task) in inputs.predictions}
        flat = {f"{m}/{task}/seed_{s}": f for m, runs in frames.items() for s, f in runs.items()}
        if not frames:
            result.note = "no per-example predictions"
        elif not all(supports(metric, f) for f in flat.values()):
            result.note = f"{metric} cannot be recomputed from the prediction columns"
        else:
            try:
                n = check_same_rows(flat)
            except ValueError as exc:
                log.warning("%s: no paired test: %s", task, exc)
                result.note = str(exc)
                results.append(result)
                continue
            counts = resample_counts(n, n_resamples, task_seed(seed, task))
            result.n_examples = n
            result.replicates = {m: model_replicates(list(runs.values()), metric, counts, seed_draws(seed, m))
                                 for m, runs in frames.items()}
            for a, b in comparison_pairs(list(frames), inputs.published):
                result.tests[(a, b)] = compare(result.replicates[a], result.replicates[b], n)
            _test_baselines(result, inputs, counts, next(iter(flat.values())).get_column("id").to_list())
        results.append(result)
    return results


def _group(name: str, members: list[TaskResult], models: list[str]) -> GroupResult:
    means, counts = {}, {}
    for m in models:
        vals = [v for r in members if (v := r.normalised(m)) is not None]
        if vals:
            means[m], counts[m] = float(np.mean(vals)), len(vals)
    test = None
    if members and all("bert" in r.replicates and "gpt" in r.replicates for r in members):
        delta = np.mean([normalise(r.replicates["bert"].observed - r.replicates["gpt"].observed, r.metric) for r in members])
        reps = np.mean([normalise(r.replicates["bert"].resampled - r.replicates["gpt"].resampled, r.metric) for r in members], axis=0)
        test = paired_test(float(delta), reps, sum(r.n_examples or 0 for r in members))
    return GroupResult(name, [r.task for r in members], means, counts, test)


def group_results(results: list[TaskResult], models: list[str]) -> list[GroupResult]:
    """One row per group that has tasks (in :data:`GROUPS` order, then any other), then ``overall``."""
    by_group: dict[str, list[TaskResult]] = {}
    for r in results:
        by_group.setdefault(r.group, []).append(r)
    order = [g for g in GROUPS if g in by_group] + [g for g in by_group if g not in GROUPS]
    out = [_group(g, by_group[g], models) for g in order]
    if results:
        out.append(_group("overall", results, models))
    return out
