"""The tokenizer stage's work: train on the corpus' train split, then encode train and held-out."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from ..config import Params
from ..io import atomic_path, write_json
from .token_store import write_token_store
from .encode import encode_documents
from .train import iter_sentences, train_tokenizer


def build_tokenizer(arch: str, params: Params, corpus_path: Path, out_dir: Path) -> dict:
    """Write ``tokenizer.json`` and token stores ``train/`` and ``heldout/`` under ``out_dir``."""
    corpus_path = Path(corpus_path)
    if not corpus_path.is_file():
        raise FileNotFoundError(f"missing corpus: {corpus_path} (run the prepare stage first)")
    corpus = pl.read_parquet(corpus_path)
    if corpus.height == 0:
        raise ValueError(f"{corpus_path}: the pre-training corpus is empty")
    cfg = params.tokenizer
    train_docs = corpus.filter(pl.col("split") == "train").get_column("sentences").to_list()
    tok = train_tokenizer(arch, iter_sentences(train_docs), cfg.vocab_size, cfg.min_frequency, cfg.lowercase)
    stats = {"vocab_size": tok.get_vocab_size()}
    with atomic_path(out_dir) as tmp:
        tmp.mkdir(parents=True)
        tok.save(str(tmp / "tokenizer.json"))
        for split in ("train", "heldout"):
            docs = corpus.filter(pl.col("split") == split).get_column("sentences").to_list()
            meta = write_token_store(tmp / split, encode_documents(tok, docs, arch), tok.get_vocab_size())
            stats[split] = meta
        write_json(tmp / "stats.json", stats)
    return stats
