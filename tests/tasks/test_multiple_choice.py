"""Multiple choice: one score per (context, option), soft-max over options; tiny overfit runs."""

from __future__ import annotations

import json
import random

import polars as pl
import pytest
import torch

from bertvsgpt.config.schema import FinetuneConfig, task_config
from bertvsgpt.models import BertForPreTraining, GPTForPreTraining, save_pretrained
from bertvsgpt.tasks.multiple_choice import ChoiceCollator, ChoiceDataset, check_choice_table
from bertvsgpt.tokenization.train import train_byte_level_bpe, train_wordpiece
from bertvsgpt.tasks.multiple_choice import MULTIPLE_CHOICE
from bertvsgpt.tasks.finetune import finetune
from bertvsgpt.tasks.options import RunOptions, TaskRun

from .test_classification import tiny_config

GOOD = ["kind", "helpful", "generous"]
BAD = ["rude", "cruel", "selfish"]
FILLER = ["alex", "went", "to", "the", "store", "and", "was", "very", "with", "jordan"]


def make_table(seed: int = 0) -> pl.DataFrame:
    """The right option is the one with a "good" word; its position varies."""
    rng = random.Random(seed)
    rows, i = [], 0
    for split, n in {"train": 120, "dev": 30, "test": 30}.items():
        for _ in range(n):
            context = " ".join(rng.choices(FILLER, k=5)) + " . how was alex ?"
            label = rng.randrange(3)
            choices = [f"alex was {rng.choice(BAD)}" for _ in range(3)]
            choices[label] = f"alex was {rng.choice(GOOD)}"
            rows.append({"id": i, "split": split, "text": context, "choices": choices, "label": label})
            i += 1
    return pl.DataFrame(rows)


@pytest.fixture(scope="module")
def table():
    return make_table()


@pytest.fixture(scope="module")
def tokenizers(table):
    texts = table.get_column("text").to_list() + [c for cs in table.get_column("choices").to_list() for c in cs]
    return {
        "bert": train_wordpiece(texts, vocab_size=120, min_frequency=1),
        "gpt": train_byte_level_bpe(texts, vocab_size=400, min_frequency=1),
    }


TASK = task_config(type="multiple_choice", source="synthetic", max_length=24)
FT = FinetuneConfig(max_epochs=8, batch_size=16, lr=3e-3, warmup_fraction=0.1, patience=4)


@pytest.mark.parametrize("arch", ["bert", "gpt"])
def test_each_option_is_encoded_as_a_pair(tokenizers, arch):
    tok = tokenizers[arch]
    frame = pl.DataFrame({"id": [7], "split": ["test"], "text": ["how was alex ?"], "choices": [["kind", "rude"]], "label": [0]})
    ds, n_trunc = ChoiceDataset.from_frame(frame, tok, arch, 24)
    assert n_trunc == 0 and len(ds) == 1
    item = ds[0]
    assert item["id"] == 7 and item["label"] == 0 and len(item["input_ids"]) == 2
    for ids, option in zip(item["input_ids"], ["kind", "rude"]):
        option_ids = tok.encode(option, add_special_tokens=False).ids
        if arch == "bert":  # [CLS] context [SEP] option [SEP]
            assert ids[-1 - len(option_ids):-1] == option_ids and tok.id_to_token(ids[0]) == "[CLS]"
        else:  # <|start|> context <|delim|> option <|extract|>
            assert ids[-1 - len(option_ids):-1] == option_ids
            assert tok.id_to_token(ids[-2 - len(option_ids)]) == "<|delim|>"
    batch = ChoiceCollator(pad_id=0)([item, item])
    assert batch["input_ids"].shape[:2] == (2, 2)
    assert batch["attention_mask"].sum(-1).tolist() == [[len(s) for s in item["input_ids"]]] * 2


def test_truncation_is_counted_per_question(tokenizers):
    frame = pl.DataFrame(
        {"id": [0, 1], "split": ["test"] * 2, "text": ["alex " * 40, "how ?"], "choices": [["a", "b"], ["a", "b"]], "label": [0, 1]}
    )
    ds, n_trunc = ChoiceDataset.from_frame(frame, tokenizers["bert"], "bert", 16)
    assert n_trunc == 1
    assert max(len(s) for s in ds[0]["input_ids"]) == 16


def test_bad_tables_are_refused(table):
    with pytest.raises(ValueError, match="same number"):
        check_choice_table(table.with_columns(pl.when(pl.col("id") == 0).then(pl.lit(["x"])).otherwise(pl.col("choices")).alias("choices")))
    with pytest.raises(ValueError, match="option index"):
        check_choice_table(table.with_columns(pl.lit(3).alias("label")))
    with pytest.raises(ValueError, match="lacks column"):
        check_choice_table(table.drop("choices"))


@pytest.mark.parametrize("arch,pretrained", [("bert", True), ("gpt", True), ("gpt", False)])
def test_finetune_learns_to_pick_the_right_option(tmp_path, table, tokenizers, arch, pretrained):
    tok = tokenizers[arch]
    cfg = tiny_config(arch, tok.get_vocab_size())
    cfg.max_seq_len = 32
    model_dir = None
    if pretrained:
        model_dir = save_pretrained(BertForPreTraining(cfg) if arch == "bert" else GPTForPreTraining(cfg), cfg, tmp_path / "pre")
    torch.manual_seed(0)
    metrics = finetune(
        MULTIPLE_CHOICE, TaskRun(table, TASK, FT, 0, tmp_path / "out"), model_dir, arch, tok,
        options=RunOptions(enable_progress_bar=False), model_config=None if pretrained else cfg,
    )
    assert metrics["test_accuracy"] >= 0.9, metrics
    assert metrics["n_choices"] == 3 and metrics["pretrained"] is pretrained
    assert (metrics["n_train"], metrics["n_dev"], metrics["n_test"]) == (120, 30, 30)
    preds = pl.read_parquet(tmp_path / "out" / "predictions.parquet")
    assert preds.get_column("id").to_list() == table.filter(pl.col("split") == "test").get_column("id").to_list()
    assert preds.get_column("correct").mean() == pytest.approx(metrics["test_accuracy"])
    assert json.loads((tmp_path / "out" / "metrics.json").read_text())["primary_metric"] == "test_accuracy"
