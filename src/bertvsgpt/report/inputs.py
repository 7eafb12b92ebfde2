"""Everything the report reads, loaded from the outputs of the earlier stages into one object.

Paths (relative to the repository root):

* ``data/evaluation/summary.csv`` (mean/std/n per model, task, metric), ``intrinsic.json``, ``samples.json``
* ``data/evaluation/published.json``: the records of the published checkpoints among the fine-tuned models
  (``{name: record}``, see :mod:`bertvsgpt.evaluation.published`), when the run has one
* ``data/finetune/<model>/<task>/seed_<n>/predictions.parquet`` (the same test rows for every model
  and seed of a task) and ``metrics.json`` next to it
* ``metrics/pretrain/<arch>.json`` (compute summary) and ``plots/pretrain/<arch>.csv`` (training curve)
* ``data/prepared/cards/*.json|md``, ``data/prepared/stats.json``, ``data/prepared/corpus.parquet``
  and ``data/prepared/tasks/<task>.parquet`` (data cards and the contamination check)
* ``data/finetune_budget/<arch>/step_<n>/seed_<s>/metrics.json``: fine-tuning from intermediate
  pre-training checkpoints, when present (see :mod:`bertvsgpt.report.budget`)
* ``data/baselines/<task>/<name>/metrics.json`` (its one-line ``description``, whether it is the
  task's ``reference`` baseline) and ``predictions.parquet``, when present; the baselines' scores
  are the ``baseline:<name>`` rows of ``summary.csv``
* ``data/evaluation/label_efficiency.parquet``: fine-tuning on fractions of the training labels, when
  present (see :mod:`bertvsgpt.report.label_efficiency`)
* the fine-tuning runs' ``metrics.json``: split sizes and optimizer steps (``n_train``, ``n_dev``, ``n_test``,
  ``steps_run``, ``epochs_run``, ``max_epochs``, ``steps_per_epoch``), for the sizes table and the 100 % points
* params: the recipe paragraph (:mod:`bertvsgpt.report.recipe`); the wall time per stage comes from MLflow,
  set by the report stage (:mod:`bertvsgpt.report.stage_times`)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from .budget import BudgetPoint, load_budget
from .label_efficiency import read_label_efficiency
from .recipe import Recipe, recipe_from
from .stage_times import StageTime


@dataclass
class Baseline:
    """One classical baseline of one task (see :mod:`bertvsgpt.baselines`)."""

    name: str
    description: str = ""
    reference: bool = False  # the trivial baseline (majority, chance, ...) the pre-trained models are tested against
    predictions: pl.DataFrame | None = None  # the same test rows as the models'


@dataclass
class ReportInputs:
    models: list[str]  # fine-tuned models, in column order
    tasks: list[str]  # fine-tuned tasks, in row order
    task_kinds: dict[str, str]  # task -> tasks.<task>.type
    summary: pl.DataFrame  # model, task, metric, mean, std, n, primary
    predictions: dict[tuple[str, str], dict[int, pl.DataFrame]] = field(default_factory=dict)  # (model, task) -> seed -> table
    primary: dict[str, str] = field(default_factory=dict)  # task -> primary metric
    pretrain: dict[str, dict[str, Any]] = field(default_factory=dict)  # arch -> compute summary
    curves: dict[str, pl.DataFrame] = field(default_factory=dict)  # arch -> training curve
    intrinsic: dict[str, dict[str, Any]] = field(default_factory=dict)
    samples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    cards: list[dict[str, Any]] = field(default_factory=list)
    cards_markdown: list[str] = field(default_factory=list)
    source_usage: dict[str, str] = field(default_factory=dict)  # source -> what it is used for
    corpus_stats: dict[str, Any] = field(default_factory=dict)
    corpus_texts: list[str] = field(default_factory=list)  # pre-training (train split) documents
    test_texts: dict[str, list[list[str]]] = field(default_factory=dict)  # task -> test example -> its text fields
    budget: list[BudgetPoint] = field(default_factory=list)
    provenance: dict[str, str] = field(default_factory=dict)
    params_flat: dict[str, Any] = field(default_factory=dict)
    finetune_runs: dict[tuple[str, str, int], str] = field(default_factory=dict)  # (model, task, seed) -> MLflow run id
    baselines: dict[str, list[Baseline]] = field(default_factory=dict)  # task -> its baselines, the reference first
    runs: pl.DataFrame | None = None  # model, task, seed and RUN_KEYS of each fine-tuning run's metrics.json
    label_efficiency: pl.DataFrame | None = None  # model, task, label_fraction, n_train, seed, metric, score
    # (model, task, label fraction) -> seed -> the fraction run's test predictions (the main runs' test rows)
    label_predictions: dict[tuple[str, str, float], dict[int, pl.DataFrame]] = field(default_factory=dict)
    per_seed: pl.DataFrame | None = None  # model, task, seed, metric, value of each main fine-tuning run (finetune.parquet)
    recipe: Recipe | None = None
    stage_times: list[StageTime] | None = None  # wall time per stage group (MLflow); None: not looked up
    published: dict[str, dict[str, Any]] = field(default_factory=dict)  # published checkpoint in models -> its record


def primary_metrics(summary: pl.DataFrame) -> dict[str, str]:
    """task -> its primary metric (the ``primary`` rows of the summary)."""
    out: dict[str, str] = {}
    if "primary" not in summary.columns:
        return out
    for row in summary.filter(pl.col("primary")).select("task", "metric").unique(maintain_order=True).iter_rows():
        out.setdefault(row[0], row[1])
    return out


def read_summary(path: Path) -> pl.DataFrame:
    summary = pl.read_csv(path)
    if "primary" in summary.columns and summary.schema["primary"] != pl.Boolean:
        summary = summary.with_columns(pl.col("primary").cast(pl.String).str.to_lowercase() == "true")
    return summary


def _seed_predictions(folder: Path) -> dict[int, pl.DataFrame]:
    """seed -> ``folder/seed_<n>/predictions.parquet``, by seed; {} when none."""
    runs = {int(d.name.removeprefix("seed_")): pl.read_parquet(d / "predictions.parquet")
            for d in folder.glob("seed_*") if (d / "predictions.parquet").is_file()}
    return dict(sorted(runs.items()))


def read_predictions(root: Path, models: list[str], tasks: list[str]) -> dict[tuple[str, str], dict[int, pl.DataFrame]]:
    out: dict[tuple[str, str], dict[int, pl.DataFrame]] = {}
    for model in models:
        for task in tasks:
            if runs := _seed_predictions(root / model / task):
                out[(model, task)] = runs
    return out


def read_label_predictions(root: Path, models: list[str], tasks: list[str]) -> dict[tuple[str, str, float], dict[int, pl.DataFrame]]:
    """``(model, task, fraction) -> seed -> predictions`` of the label-efficiency runs
    (``root/<model>/<task>/frac_<f>/seed_<n>/predictions.parquet``)."""
    out: dict[tuple[str, str, float], dict[int, pl.DataFrame]] = {}
    for model in models:
        for task in tasks:
            for frac_dir in sorted((root / model / task).glob("frac_*")):
                if runs := _seed_predictions(frac_dir):
                    out[(model, task, float(frac_dir.name.removeprefix("frac_")))] = runs
    return out


def read_baselines(root: Path, tasks: list[str]) -> dict[str, list[Baseline]]:
    """task -> its baselines (``root/<task>/<name>/``), the reference baseline first, then by name."""
    out: dict[str, list[Baseline]] = {}
    for task in tasks:
        found = []
        for f in sorted((root / task).glob("*/metrics.json")):
            metrics = json.loads(f.read_text(encoding="utf-8"))
            preds = f.parent / "predictions.parquet"
            found.append(Baseline(f.parent.name, str(metrics.get("description", "")), bool(metrics.get("reference", False)),
                                  pl.read_parquet(preds) if preds.is_file() else None))
        if found:
            out[task] = sorted(found, key=lambda b: (not b.reference, b.name))
    return out


RUN_KEYS = ("n_train", "n_dev", "n_test", "steps_per_epoch", "max_epochs", "epochs_run", "steps_run")


def read_run_records(root: Path, models: list[str], tasks: list[str]) -> pl.DataFrame:
    """One row per fine-tuning run (model, task, seed): its split sizes and optimizer steps (null where not recorded)."""
    rows = []
    for model in models:
        for task in tasks:
            for f in sorted((root / model / task).glob("seed_*/metrics.json")):
                m = json.loads(f.read_text(encoding="utf-8"))
                rows.append({"model": model, "task": task, "seed": int(f.parent.name.removeprefix("seed_")),
                             **{k: float(m[k]) if isinstance(m.get(k), (int, float)) else None for k in RUN_KEYS}})
    return pl.DataFrame(rows, schema={"model": pl.String, "task": pl.String, "seed": pl.Int64, **{k: pl.Float64 for k in RUN_KEYS}})


TEXT_COLUMNS = ("text", "target", "choices")  # what a test example says (QA's text holds question + passage)


def read_test_texts(tasks_dir: Path, tasks: list[str], ids: dict[str, list[Any]] | None = None) -> dict[str, list[list[str]]]:
    """task -> one list of text fields per test example (restricted to ``ids[task]`` when given)."""
    out: dict[str, list[list[str]]] = {}
    for task in tasks:
        f = tasks_dir / f"{task}.parquet"
        if not f.is_file():
            continue
        frame = pl.read_parquet(f)
        if "split" in frame.columns:
            frame = frame.filter(pl.col("split") == "test")
        if ids and task in ids and "id" in frame.columns:
            wanted = set(ids[task])
            frame = frame.filter(pl.col("id").is_in(list(wanted)))
        cols = [c for c in TEXT_COLUMNS if c in frame.columns]
        rows = []
        for rec in frame.select(cols).iter_rows(named=True):
            fields: list[str] = []
            for c in cols:
                v = rec[c]
                if isinstance(v, list):
                    fields.extend(str(x) for x in v if x)
                elif v:
                    fields.append(str(v))
            rows.append(fields)
        out[task] = rows
    return out


def read_corpus_texts(path: Path) -> list[str]:
    """Training-split documents of the pre-training corpus, sentences joined by spaces."""
    if not path.is_file():
        return []
    frame = pl.read_parquet(path)
    if "split" in frame.columns:
        frame = frame.filter(pl.col("split") == "train")
    return [" ".join(s) for s in frame.get_column("sentences").to_list()]


def corpus_characters(path: Path) -> int | None:
    """Characters in the sentences of the corpus's training split (what the tokenizers' ``train`` stores encode)."""
    if not path.is_file():
        return None
    frame = pl.read_parquet(path, columns=["split", "sentences"]).filter(pl.col("split") == "train")
    return int(frame.get_column("sentences").list.eval(pl.element().str.len_chars()).list.sum().sum() or 0)


def tokenizer_stats(tokenizers: Path, archs: list[str]) -> dict[str, dict[str, int]]:
    """arch -> what its ``data/tokenizers/<arch>/stats.json`` says, where known: ``n_tokens`` (the encoded
    training corpus) and ``vocab_size`` (the trained vocabulary: WordPiece stops below ``tokenizer.vocab_size``
    when the corpus has fewer pieces worth a token, as Chinese characters)."""
    out: dict[str, dict[str, int]] = {}
    for a in archs:
        stats = _json(Path(tokenizers) / a / "stats.json", {})
        known = {"n_tokens": stats.get("train", {}).get("n_tokens"), "vocab_size": stats.get("vocab_size")}
        out[a] = {k: v for k, v in known.items() if isinstance(v, int)}
    return out


def _json(path: Path, default: Any) -> Any:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else default


PUBLISHED = "published.json"  # in data/evaluation: the evaluate stage's collection of the published records


def read_published(path: Path, models: list[str]) -> dict[str, dict[str, Any]]:
    """name -> record of each published checkpoint among ``models`` (in ``models`` order); ``{}`` without the file."""
    records = _json(path, {})
    return {m: records[m] for m in models if isinstance(records.get(m), dict)}


def load_inputs(root: Path, params: Any, check_contamination: bool = True) -> ReportInputs:
    """Read the report's inputs under ``root`` for the models and tasks of ``params``."""
    root = Path(root)
    models, tasks = list(params.finetune.models), list(params.finetune.tasks)
    evaluation = root / "data" / "evaluation"
    summary_path = evaluation / "summary.csv"
    if not summary_path.is_file():
        raise FileNotFoundError(f"missing input: {summary_path} (run the evaluate stage)")
    summary = read_summary(summary_path)
    per_seed = pl.read_parquet(evaluation / "finetune.parquet") if (evaluation / "finetune.parquet").is_file() else None
    predictions = read_predictions(root / "data" / "finetune", models, tasks)
    archs = list(params.pretrain.models)
    pretrain = {a: _json(root / "metrics" / "pretrain" / f"{a}.json", {}) for a in archs}
    curves = {}
    for a in archs:
        f = root / "plots" / "pretrain" / f"{a}.csv"
        if f.is_file():
            curves[a] = pl.read_csv(f)
    prepared = root / "data" / "prepared"
    cards_dir = prepared / "cards"
    cards = [json.loads(f.read_text(encoding="utf-8")) for f in sorted(cards_dir.glob("*.json"))]
    cards_md = [f.read_text(encoding="utf-8") for f in sorted(cards_dir.glob("*.md"))]
    usage: dict[str, list[str]] = {}
    for s in params.data.corpus:
        usage.setdefault(s, []).append("pre-training")
    for t in tasks:
        usage.setdefault(params.tasks[t].source, []).append(t)
    test_ids: dict[str, list[Any]] = {}  # the evaluated test rows of each task (capped splits are a subset)
    for (_, task), runs in predictions.items():
        first = next(iter(runs.values()))
        if task not in test_ids and "id" in first.columns:
            test_ids[task] = first.get_column("id").to_list()
    primary = primary_metrics(summary)
    tok_stats = tokenizer_stats(root / "data" / "tokenizers", archs)
    return ReportInputs(
        models=models,
        tasks=tasks,
        task_kinds={t: params.tasks[t].type for t in tasks},
        summary=summary,
        predictions=predictions,
        primary=primary,
        pretrain=pretrain,
        curves=curves,
        intrinsic=_json(evaluation / "intrinsic.json", {}),
        samples=_json(evaluation / "samples.json", {}),
        cards=cards,
        cards_markdown=cards_md,
        source_usage={k: ", ".join(v) for k, v in usage.items()},
        corpus_stats=_json(prepared / "stats.json", {}).get("corpus", {}),
        corpus_texts=read_corpus_texts(prepared / "corpus.parquet") if check_contamination else [],
        test_texts=read_test_texts(prepared / "tasks", tasks, test_ids) if check_contamination else {},
        budget=load_budget(root / "data" / "finetune_budget", pretrain, summary, primary,
                           default_task=getattr(getattr(params, "budget", None), "task", None), per_seed=per_seed),
        baselines=read_baselines(root / "data" / "baselines", tasks),
        runs=read_run_records(root / "data" / "finetune", models, tasks),
        label_efficiency=read_label_efficiency(evaluation / "label_efficiency.parquet"),
        label_predictions=read_label_predictions(root / "data" / "label_efficiency", models, tasks),
        per_seed=per_seed,
        recipe=recipe_from(params, pretrain, corpus_characters(prepared / "corpus.parquet"),
                           {a: t["n_tokens"] for a, t in tok_stats.items() if "n_tokens" in t},
                           {a: t["vocab_size"] for a, t in tok_stats.items() if "vocab_size" in t}),
        published=read_published(evaluation / PUBLISHED, models),
    )
