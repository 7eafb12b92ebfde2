"""Sentence-pair classification: the pair input formats of both papers, and a tiny fine-tune that must read
the second text (its label depends on ``text_b`` alone)."""

from __future__ import annotations

import random

import polars as pl
import pytest

from bertvsgpt.config.schema import FinetuneConfig, task_config
from bertvsgpt.models import BertForPreTraining, GPTForPreTraining, save_pretrained
from bertvsgpt.tasks.data import build_task_data
from bertvsgpt.tasks.finetune import finetune
from bertvsgpt.tasks.pair_classification import PAIR_CLASSIFICATION
from bertvsgpt.tasks.registry import kinds
from bertvsgpt.tasks.options import RunOptions, TaskRun
from bertvsgpt.tokenization.special import BERT_CLS, BERT_SEP, GPT_DELIM, GPT_EXTRACT, GPT_START
from bertvsgpt.tokenization.train import train_byte_level_bpe, train_wordpiece

from .test_classification import tiny_config

SUBJECTS = ["the cat", "a dog", "the film", "my plan", "the river", "our team"]
SUPPORTED = ["it is true", "this holds", "yes indeed"]
REFUTED = ["it is false", "this fails", "no never"]


def make_pairs(seed: int = 0) -> pl.DataFrame:
    rng = random.Random(seed)
    rows = []
    for split, n in {"train": 160, "dev": 40, "test": 40}.items():
        for _ in range(n):
            label = rng.choice(["True", "False"])
            claim = rng.choice(SUPPORTED if label == "True" else REFUTED)
            rows.append({"id": len(rows), "split": split, "text": f"{rng.choice(SUBJECTS)} is here", "text_b": claim, "label": label})
    return pl.DataFrame(rows)


@pytest.fixture(scope="module")
def table():
    return make_pairs()


@pytest.fixture(scope="module")
def tokenizers(table):
    texts = table.get_column("text").to_list() + table.get_column("text_b").to_list()
    return {"bert": train_wordpiece(texts, vocab_size=120, min_frequency=1), "gpt": train_byte_level_bpe(texts, vocab_size=400, min_frequency=1)}


def test_registered():
    assert kinds()["pair_classification"] is PAIR_CLASSIFICATION


@pytest.mark.parametrize("arch", ["bert", "gpt"])
def test_pairs_are_encoded_as_the_papers_do(tokenizers, arch):
    tok = tokenizers[arch]
    row = pl.DataFrame({"id": [0, 1, 2], "split": ["train", "dev", "test"], "text": ["the cat is here"] * 3,
                        "text_b": ["no never"] * 3, "label": ["False", "True", "False"]})
    data = build_task_data(row, tok, arch, 24)
    ids, types = data.train.input_ids[0], data.train.token_type_ids[0]
    a = tok.encode("the cat is here", add_special_tokens=False).ids
    b = tok.encode(" no never" if arch == "gpt" else "no never", add_special_tokens=False).ids
    if arch == "bert":
        cls, sep = tok.token_to_id(BERT_CLS), tok.token_to_id(BERT_SEP)
        assert ids == [cls, *a, sep, *b, sep]
        assert types == [0] * (len(a) + 2) + [1] * (len(b) + 1)
    else:
        start, delim, extract = (tok.token_to_id(t) for t in (GPT_START, GPT_DELIM, GPT_EXTRACT))
        assert ids[0] == start and ids[1 : 1 + len(a)] == a and ids[1 + len(a)] == delim and ids[-1] == extract
        assert tok.decode(ids[2 + len(a) : -1]).strip() == "no never"


def test_a_table_without_the_second_text_is_refused(table, tokenizers, tmp_path):
    with pytest.raises(ValueError, match="needs a 'text_b' column"):
        task = task_config(type="pair_classification", source="x", max_length=24)
        finetune(PAIR_CLASSIFICATION, TaskRun(table.drop("text_b"), task, FinetuneConfig(), 0, tmp_path), None, "bert",
                 tokenizers["bert"], model_config=tiny_config("bert", 120))


@pytest.mark.parametrize("arch", ["bert", "gpt"])
def test_fine_tuning_reads_the_second_text(tmp_path, table, tokenizers, arch):
    tok = tokenizers[arch]
    cfg = tiny_config(arch, tok.get_vocab_size())
    model = BertForPreTraining(cfg) if arch == "bert" else GPTForPreTraining(cfg)
    model_dir = save_pretrained(model, cfg, tmp_path / "pretrained")
    task = task_config(type="pair_classification", source="x", max_length=24)
    ft = FinetuneConfig(max_epochs=6, batch_size=16, lr=3e-3, patience=3)
    metrics = finetune(PAIR_CLASSIFICATION, TaskRun(table, task, ft, 0, tmp_path / "out"), model_dir, arch, tok,
                       options=RunOptions(enable_progress_bar=False))
    assert metrics["primary_metric"] == "test_accuracy" and metrics["test_accuracy"] >= 0.9, metrics
    predictions = pl.read_parquet(tmp_path / "out" / "predictions.parquet")
    assert predictions.columns[:4] == ["id", "text", "text_b", "label"]
    assert predictions.get_column("text_b").to_list() == table.filter(pl.col("split") == "test").get_column("text_b").to_list()
