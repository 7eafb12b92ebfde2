"""Prepare: raw files -> canonical parquet for the corpus and each task, plus data cards."""

from __future__ import annotations

import itertools
import logging
from pathlib import Path

import polars as pl

from ..config import Params
from ..config.schema import SourceConfig, TaskConfig
from ..io import atomic_path, write_json
from ..kinds import SPECS
from .cards import card_markdown, data_card
from .checks import check_task_labels
from .chinese import PEOPLES_DAILY_PER_LOC_ORG
from .corpus import build_corpus
from .in_domain import evaluation_texts, in_domain_documents, in_domain_source
from .readers import read_documents, read_examples
from .splits import split_examples
from .task_readers import WNUT_PER_LOC_ORG, map_entity_types

log = logging.getLogger(__name__)


# The PER/LOC/ORG view of each NER source format's entity types.
ENTITY_VIEWS = {"wnut_bio": WNUT_PER_LOC_ORG, "peoples_daily_ner": PEOPLES_DAILY_PER_LOC_ORG}


def task_examples(name: str, task: TaskConfig, source: SourceConfig, examples: pl.DataFrame) -> pl.DataFrame:
    """Check a task's raw examples against its kind and apply the kind's view of them."""
    missing = [c for c in ("text", *SPECS[task.type].columns) if c not in examples.columns]
    if missing:
        raise ValueError(
            f"tasks.{name}: source '{task.source}' gives columns {examples.columns}, a {task.type} task needs {missing}"
        )
    if task.type == "token_classification" and task.entity_view == "per_loc_org":
        mapping = ENTITY_VIEWS.get(source.format)
        if mapping is None:
            log.info("tasks.%s: no PER/LOC/ORG mapping for format '%s'; entity types kept as they are", name, source.format)
        else:
            examples = examples.with_columns(
                pl.col("tags").map_elements(lambda t: map_entity_types(list(t), mapping), return_dtype=pl.List(pl.String))
            )
    if task.type == "multiple_choice":  # every question needs the same number of options
        n = examples.get_column("choices").list.len()
        keep = n == n.max()
        if not keep.all():
            log.warning("tasks.%s: dropped %d question(s) with fewer than %d options", name, int((~keep).sum()), n.max())
            examples = examples.filter(keep)
    return examples


def prepare_tasks(params: Params, raw_dir: Path) -> dict[str, pl.DataFrame]:
    tables = {}
    for name in params.finetune.tasks:
        task = params.tasks[name]
        source = params.data.sources[task.source]
        examples = task_examples(name, task, source, read_examples(task.source, source, raw_dir))
        tables[name] = split_examples(examples, task.dev_fraction, task.test_fraction, params.seed, params.data.language)
        check_task_labels(name, task.type, tables[name])  # before the corpus and any training
    return tables


def corpus_holds_task_text(params: Params, task: str) -> bool:
    """True when the task's source is the same archive member as a corpus source (People's Daily is both
    the Chinese corpus and the Chinese NER set): its training text is in the corpus already, and adding it
    as in-domain text would only repeat it."""
    def where(cfg: SourceConfig) -> tuple:
        return (cfg.client, cfg.spec, tuple(sorted(cfg.members)))

    source = params.data.sources[params.tasks[task].source]
    return any(where(params.data.sources[name]) == where(source) for name in params.data.corpus)


def prepare(params: Params, raw_dir: Path, out_dir: Path) -> dict:
    """Write ``corpus.parquet``, ``tasks/<task>.parquet`` and ``cards/<source>.{json,md}``; return stats."""
    raw_dir, out_dir = Path(raw_dir), Path(out_dir)
    tables = prepare_tasks(params, raw_dir)

    cap = params.data.max_docs_per_source
    docs = itertools.chain.from_iterable(
        itertools.islice(read_documents(n, params.data.sources[n], raw_dir), cap) for n in params.data.corpus
    )
    in_domain = {n: t for n, t in tables.items() if not corpus_holds_task_text(params, n)} if params.data.in_domain else {}
    kinds = {name: params.tasks[name].type for name in in_domain}
    corpus, corpus_stats = build_corpus(
        itertools.chain(docs, in_domain_documents(in_domain, kinds, params.seed, params.data.language)),
        heldout_fraction=params.data.heldout_fraction,
        seed=params.seed,
        min_sentence_chars=params.data.min_sentence_chars,
        eval_texts=evaluation_texts(tables),
        train_only_sources=[in_domain_source(t) for t in in_domain],
    )

    stats: dict = {"corpus": corpus_stats, "tasks": {}}
    with atomic_path(out_dir) as tmp:
        (tmp / "tasks").mkdir(parents=True)
        (tmp / "cards").mkdir()
        corpus.write_parquet(tmp / "corpus.parquet")
        for source in params.data.corpus:
            part = corpus.filter(pl.col("source") == source)
            counts = {
                "documents": part.height,
                "sentences": int(part.get_column("sentences").list.len().sum() or 0),
                "words": int(part.get_column("sentences").list.join(" ").str.split(" ").list.len().sum() or 0),
                "characters": int(part.get_column("sentences").list.join("").str.len_chars().sum() or 0),
                "heldout_documents": part.filter(pl.col("split") == "heldout").height,
            }
            _write_card(tmp / "cards", source, data_card(source, params.data.sources[source], counts, None))
        for name, df in tables.items():
            df.write_parquet(tmp / "tasks" / f"{name}.parquet")
            counts = {s: df.filter(pl.col("split") == s).height for s in ("train", "dev", "test")}
            labels = dict(df.group_by("label").len().sort("label").iter_rows()) if "label" in df.columns else None
            source = params.tasks[name].source
            _write_card(tmp / "cards", source, data_card(source, params.data.sources[source], counts, labels))
            stats["tasks"][name] = {"counts": counts, "labels": labels}
        write_json(tmp / "stats.json", stats)
    return stats


def _write_card(directory: Path, name: str, card: dict) -> None:
    write_json(directory / f"{name}.json", card)
    (directory / f"{name}.md").write_text(card_markdown(card), encoding="utf-8")
