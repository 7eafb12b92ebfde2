"""Prepare: raw files -> canonical parquet for the corpus and each task, plus data cards."""

from __future__ import annotations

import itertools
import logging
from pathlib import Path

import polars as pl

from ..config import Params
from ..io import atomic_path, write_json
from .cards import card_markdown, data_card
from .corpus import build_corpus
from .readers import read_documents, read_examples
from .splits import split_examples

log = logging.getLogger(__name__)


def prepare_tasks(params: Params, raw_dir: Path) -> dict[str, pl.DataFrame]:
    tables = {}
    for name in params.finetune.tasks:
        task = params.tasks[name]
        examples = read_examples(task.source, params.data.sources[task.source], raw_dir)
        tables[name] = split_examples(examples, task.dev_fraction, task.test_fraction, params.seed)
    return tables


def prepare(params: Params, raw_dir: Path, out_dir: Path) -> dict:
    """Write ``corpus.parquet``, ``tasks/<task>.parquet`` and ``cards/<source>.{json,md}``; return stats."""
    raw_dir, out_dir = Path(raw_dir), Path(out_dir)
    tables = prepare_tasks(params, raw_dir)
    eval_texts = [t for df in tables.values() for t in df.get_column("text").to_list()]

    cap = params.data.max_docs_per_source
    docs = itertools.chain.from_iterable(
        itertools.islice(read_documents(n, params.data.sources[n], raw_dir), cap) for n in params.data.corpus
    )
    corpus, corpus_stats = build_corpus(
        docs,
        heldout_fraction=params.data.heldout_fraction,
        seed=params.seed,
        min_sentence_chars=params.data.min_sentence_chars,
        eval_texts=eval_texts,
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
                "heldout_documents": part.filter(pl.col("split") == "heldout").height,
            }
            _write_card(tmp / "cards", source, data_card(source, params.data.sources[source], counts, None))
        for name, df in tables.items():
            df.write_parquet(tmp / "tasks" / f"{name}.parquet")
            counts = {s: df.filter(pl.col("split") == s).height for s in ("train", "dev", "test")}
            labels = dict(df.group_by("label").len().sort("label").iter_rows())
            source = params.tasks[name].source
            _write_card(tmp / "cards", source, data_card(source, params.data.sources[source], counts, labels))
            stats["tasks"][name] = {"counts": counts, "labels": labels}
        write_json(tmp / "stats.json", stats)
    return stats


def _write_card(directory: Path, name: str, card: dict) -> None:
    write_json(directory / f"{name}.json", card)
    (directory / f"{name}.md").write_text(card_markdown(card), encoding="utf-8")
