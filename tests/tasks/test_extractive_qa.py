"""Extractive QA: windows, offsets, span decoding by hand, and tiny end-to-end fine-tunes."""

from __future__ import annotations

import json
import random

import numpy as np
import polars as pl
import pytest
import torch

from bertvsgpt.config.schema import FinetuneConfig, task_config
from bertvsgpt.models import BertForPreTraining, GPTForPreTraining, ModelConfig, save_pretrained
from bertvsgpt.tasks.extractive_qa import (
    QACollator,
    QADataset,
    best_spans,
    char_span_to_tokens,
    decode_answers,
    encode_qa,
    max_context_windows,
    split_qa_table,
    window_spans,
)
from bertvsgpt.tokenization.train import train_byte_level_bpe, train_wordpiece
from bertvsgpt.tasks.extractive_qa import EXTRACTIVE_QA
from bertvsgpt.tasks.finetune import finetune
from bertvsgpt.tasks.options import RunOptions, TaskRun
from bertvsgpt.tasks.heads import SpanExtractor

FILLER = ["the", "river", "town", "was", "near", "old", "a", "house", "and", "with", "small", "road", "he", "saw"]
COLORS = ["red", "blue", "green", "yellow"]
ANIMALS = ["fox", "owl", "cat", "dog"]
QUESTIONS = ["which animal did he see ?", "what was near the river ?", "who walked by the house ?"]
LONG_QUESTION = " ".join(["which old animal near the small house and the river"] * 3) + " ?"


def make_table(seed: int = 0) -> pl.DataFrame:
    """The answer is the one ``colour animal`` pair somewhere in a passage of filler words."""
    rng = random.Random(seed)
    rows = []
    i = 0
    for split, n in {"train": 120, "dev": 30, "test": 30}.items():
        for _ in range(n):
            words = rng.choices(FILLER, k=rng.randint(4, 24))
            k = rng.randint(0, len(words))
            answer = f"{rng.choice(COLORS)} {rng.choice(ANIMALS)}"
            before = " ".join(words[:k])
            context = " ".join(x for x in (before, answer, " ".join(words[k:])) if x)
            start = len(before) + 1 if before else 0
            rows.append(
                {"id": i, "split": split, "context": context, "question": rng.choice(QUESTIONS), "answer": answer,
                 "answer_start": start, "text": "", "group": ""}
            )
            i += 1
    rows[-1]["question"] = LONG_QUESTION  # truncated (and counted)
    return pl.DataFrame(rows)


def tiny_config(arch: str, vocab_size: int, max_seq_len: int = 24) -> ModelConfig:
    return ModelConfig(
        vocab_size=vocab_size, n_layer=2, n_head=2, d_model=32, d_ff=64, max_seq_len=max_seq_len, dropout=0.0,
        type_vocab_size=2 if arch == "bert" else 0, causal=arch == "gpt", pad_token_id=0,
    )


@pytest.fixture(scope="module")
def table():
    return make_table()


@pytest.fixture(scope="module")
def tokenizers(table):
    texts = table.get_column("context").to_list() + table.get_column("question").to_list()
    return {
        "bert": train_wordpiece(texts, vocab_size=120, min_frequency=1),
        "gpt": train_byte_level_bpe(texts, vocab_size=400, min_frequency=1),
    }


# --- windows and offsets by hand -------------------------------------------------------------


def test_window_spans_by_hand():
    assert window_spans(10, 4, 3) == [(0, 4), (3, 4), (6, 4)]
    assert window_spans(3, 4, 3) == [(0, 3)]  # fits: one window
    assert window_spans(0, 4, 3) == [(0, 0)]  # empty passage: still one (empty) window
    assert window_spans(10, 4, 5) == [(0, 4), (4, 4), (8, 2)]  # stride > window: no token skipped
    with pytest.raises(ValueError, match="doc_stride"):
        window_spans(10, 4, 0)


def test_max_context_by_hand():
    # windows [0..3], [3..6], [6..9]; token 3: w0 min(3,0), w1 min(0,3) -> tie, first wins;
    # token 4: w1 min(1,2)=1; token 6: w1 min(3,0), w2 min(0,3) -> tie -> w1
    assert max_context_windows([(0, 4), (3, 4), (6, 4)], 10).tolist() == [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]
    # the longer window wins a tie in min(left, right) by 0.01 * length
    assert max_context_windows([(0, 3), (0, 4)], 4).tolist() == [1, 1, 1, 1]


def test_char_span_to_tokens_by_hand():
    offsets = np.array([[0, 3], [3, 7], [7, 11], [11, 12]])  # "The", " big", " cat", "."
    assert char_span_to_tokens(offsets, 4, 11) == (1, 2)  # "big cat"
    assert char_span_to_tokens(offsets, 8, 11) == (2, 2)
    assert char_span_to_tokens(offsets, 0, 3) == (0, 0)
    assert char_span_to_tokens(offsets, 12, 12) is None


@pytest.mark.parametrize("arch", ["bert", "gpt"])
def test_offsets_round_trip_with_real_tokenizers(tokenizers, arch):
    tok = tokenizers[arch]
    context = "he saw a reddish owl, near the river."  # "reddish" is split into sub-word pieces
    start = context.index("reddish owl")
    ds = encode_qa(tok, ["who ?"], [context], ["reddish owl"], [start], arch, max_length=64)
    enc = tok.encode(context, add_special_tokens=False)
    (w,) = ds.windows
    a, b = w.start_position - ds.prefix_length(w), w.end_position - ds.prefix_length(w)
    assert b - a + 1 > 2  # several tokens for two words
    raw = context[enc.offsets[a][0] : enc.offsets[b][1]]
    if arch == "bert":
        assert enc.tokens[a] == "red" and enc.tokens[a + 1].startswith("##")
        assert raw == "reddish owl"
    else:
        assert enc.tokens[a].startswith("Ġ")
        assert raw == " reddish owl"  # byte-level BPE: the leading space belongs to the token
    score = torch.tensor([1.0])
    span = torch.tensor([w.start_position]), torch.tensor([w.end_position])
    pred = decode_answers(ds, torch.tensor([0]), score, *span)
    assert pred == ["reddish owl"]  # whitespace trimmed


@pytest.mark.parametrize("arch", ["bert", "gpt"])
def test_encode_formats_and_targets(tokenizers, arch):
    tok = tokenizers[arch]
    words = ["the", "river", "town", "was", "near", "old", "a", "house"] * 3
    context = " ".join(words[:10] + ["red", "fox"] + words[10:])
    start = context.index("red fox")
    ds = encode_qa(tok, ["which animal ?"], [context], ["red fox"], [start], arch, max_length=16, doc_stride=4)
    q = tok.encode("which animal ?", add_special_tokens=False).ids
    p = tok.encode(context, add_special_tokens=False).ids
    budget = 16 - 3 - len(q)
    assert len(ds) == len(window_spans(len(p), budget, 4)) > 1
    assert ds.n_multi_window == 1
    names = ("[CLS]", "[SEP]", "[SEP]") if arch == "bert" else ("<|start|>", "<|delim|>", "<|extract|>")
    first, sep, last = (tok.token_to_id(t) for t in names)
    for i, w in enumerate(ds.windows):
        item = ds[i]
        assert item["input_ids"] == [first, *q, sep, *p[w.start : w.start + w.length], last]
        assert len(item["input_ids"]) <= 16
        n_a = len(q) + 2
        expected_types = [0] * n_a + [1] * (w.length + 1) if arch == "bert" else [0] * len(item["input_ids"])
        assert item["token_type_ids"] == expected_types
        if w.has_answer:
            span = tok.decode(item["input_ids"][w.start_position : w.end_position + 1])
            assert span.strip() == "red fox"
        else:  # the null target: [CLS] for BERT, <|extract|> for GPT
            null = 0 if arch == "bert" else len(item["input_ids"]) - 1
            assert (w.start_position, w.end_position) == (null, null)
    assert 1 <= sum(w.has_answer for w in ds.windows) < len(ds)
    assert ds.n_windows_without_answer == len(ds) - sum(w.has_answer for w in ds.windows)


def test_question_truncation_is_counted(tokenizers):
    tok = tokenizers["bert"]
    ds = encode_qa(tok, [LONG_QUESTION, "who ?"], ["red fox", "red fox"], ["fox", "fox"], [4, 4], "bert", max_length=24)
    assert ds.n_truncated_questions == 1
    assert len(ds.question_ids[0]) == (24 - 3) // 2
    assert ds.question_ids[0] == tok.encode(LONG_QUESTION, add_special_tokens=False).ids[: (24 - 3) // 2]
    assert ds.passage_ids[0] is ds.passage_ids[1]  # a shared passage is tokenised once


def test_bad_inputs(tokenizers, table):
    with pytest.raises(ValueError, match="not at character"):
        encode_qa(tokenizers["bert"], ["q"], ["red fox"], ["fox"], [0], "bert", 24)
    with pytest.raises(ValueError, match="lacks column"):
        split_qa_table(table.drop("answer_start"))
    with pytest.raises(ValueError, match="no 'dev' rows"):
        split_qa_table(table.filter(pl.col("split") != "dev"))
    frames = split_qa_table(table)
    assert {s: f.height for s, f in frames.items()} == {s: table.filter(pl.col("split") == s).height for s in frames}
    assert frames["train"].get_column("id").is_sorted()


# --- span decoding by hand -------------------------------------------------------------------


def test_best_spans_by_hand():
    start = torch.tensor([[0.0, 5.0, 1.0, 0.0, 9.0]])
    end = torch.tensor([[0.0, 0.0, 1.0, 6.0, 0.0]])
    mask = torch.tensor([[False, True, True, True, False]])  # position 4 is not passage
    # valid pairs (start <= end, both in 1..3): (1,1)=5 (1,2)=6 (1,3)=11 (2,2)=2 (2,3)=7 (3,3)=6
    score, s, e = best_spans(start, end, mask, mask, max_answer_tokens=30)
    assert (score.item(), s.item(), e.item()) == (11.0, 1, 3)
    score, s, e = best_spans(start, end, mask, mask, max_answer_tokens=2)  # (1,3) is 3 tokens long
    assert (score.item(), s.item(), e.item()) == (7.0, 2, 3)
    # end before start is never chosen: (2,1) would score 18; valid (0,1)=4 (1,1)=5 (2,2)=3
    every = torch.ones(1, 3, dtype=torch.bool)
    score, s, e = best_spans(torch.tensor([[-5.0, -4.0, 9.0]]), torch.tensor([[-5.0, 9.0, -6.0]]), every, every)
    assert (score.item(), s.item(), e.item()) == (5.0, 1, 1)
    # start_mask restricts starts only
    start_mask = torch.tensor([[False, False, True, True, False]])
    score, s, e = best_spans(start, end, start_mask, mask)
    assert (score.item(), s.item(), e.item()) == (7.0, 2, 3)
    score, _, _ = best_spans(start, end, torch.zeros_like(mask), mask)
    assert score.item() == float("-inf")


def test_decode_picks_best_window_across_windows(tokenizers):
    tok = tokenizers["bert"]
    context = " ".join(["the river town"] * 4 + ["red fox"] + ["the old house"] * 4)
    start = context.index("red fox")
    ds = encode_qa(tok, ["who ?"], [context], ["red fox"], [start], "bert", max_length=12, doc_stride=3)
    assert len(ds) > 2
    answer_windows = [i for i, w in enumerate(ds.windows) if w.has_answer]
    f = answer_windows[0]
    w = ds.windows[f]
    feature = torch.arange(len(ds))
    score = torch.full((len(ds),), 1.0)
    score[f] = 2.0
    start = torch.full((len(ds),), ds.prefix_length(w))
    end = start.clone()
    start[f], end[f] = w.start_position, w.end_position
    assert decode_answers(ds, feature.flip(0), score.flip(0), start.flip(0), end.flip(0)) == ["red fox"]
    # no scored window -> empty answer
    assert decode_answers(ds, feature, torch.full((len(ds),), float("-inf")), start, end) == [""]


@pytest.mark.parametrize("arch", ["bert", "gpt"])
def test_span_head_shapes(tokenizers, table, arch):
    tok = tokenizers[arch]
    cfg = tiny_config(arch, tok.get_vocab_size())
    pre = BertForPreTraining(cfg) if arch == "bert" else GPTForPreTraining(cfg)
    model = SpanExtractor.from_pretrained(pre, arch)
    frame = table.filter(pl.col("split") == "dev")
    ds = QADataset.from_frame(frame, tok, arch, max_length=24, doc_stride=8)
    batch = QACollator(0)([ds[i] for i in range(5)])
    start, end = model(batch["input_ids"], batch["token_type_ids"], batch["attention_mask"])
    assert start.shape == end.shape == batch["input_ids"].shape
    assert start.dtype == torch.float32
    assert bool((start[batch["attention_mask"] == 0] == torch.finfo(torch.float32).min).all())
    with pytest.raises(TypeError):
        SpanExtractor.from_pretrained(pre, "gpt" if arch == "bert" else "bert")


# --- tiny end-to-end fine-tunes --------------------------------------------------------------

MAX_LENGTH = 24
DOC_STRIDE = 8
TASK = task_config(type="extractive_qa", source="synthetic", max_length=MAX_LENGTH, doc_stride=DOC_STRIDE)
FT = FinetuneConfig(max_epochs=12, batch_size=16, lr=3e-3, warmup_fraction=0.1, patience=4)


def run(tmp_path, name, arch, tok, table, pretrained=True):
    cfg = tiny_config(arch, tok.get_vocab_size())
    model_dir = None
    if pretrained:  # a randomly initialised "pre-trained" model exercises the load path
        model = BertForPreTraining(cfg) if arch == "bert" else GPTForPreTraining(cfg)
        model_dir = save_pretrained(model, cfg, tmp_path / f"{name}-pretrained")
    out = tmp_path / name
    metrics = finetune(
        EXTRACTIVE_QA, TaskRun(table, TASK, FT, 0, out), model_dir, arch, tok, options=RunOptions(enable_progress_bar=False),
        model_config=None if pretrained else cfg,
    )
    return metrics, out


def expected_counts(tok, table):
    max_q = (MAX_LENGTH - 3) // 2
    multi, truncated = {}, {}
    for split in ("train", "dev", "test"):
        frame = table.filter(pl.col("split") == split)
        q = [len(tok.encode(x, add_special_tokens=False).ids) for x in frame["question"].to_list()]
        c = [len(tok.encode(x, add_special_tokens=False).ids) for x in frame["context"].to_list()]
        truncated[split] = sum(n > max_q for n in q)
        multi[split] = sum(min(nq, max_q) + nc + 3 > MAX_LENGTH for nq, nc in zip(q, c))
    return multi, truncated


@pytest.mark.parametrize("arch, pretrained", [("bert", True), ("gpt", True), ("gpt", False)])
def test_finetune_learns_to_extract(tmp_path, table, tokenizers, arch, pretrained):
    tok = tokenizers[arch]
    metrics, out = run(tmp_path, arch, arch, tok, table, pretrained)
    assert metrics["test_f1"] >= 0.9, metrics
    assert metrics["test_exact_match"] >= 0.85, metrics
    assert metrics["best_dev_f1"] >= 0.9, metrics
    assert metrics["primary_metric"] == "test_f1" and metrics["pretrained"] is pretrained
    assert (metrics["n_train"], metrics["n_dev"], metrics["n_test"]) == (120, 30, 30)
    multi, truncated = expected_counts(tok, table)
    assert metrics["n_multi_window_by_split"] == multi and multi["train"] > 10
    assert metrics["n_truncated_by_split"] == truncated and truncated["test"] == 1
    assert metrics["n_truncated"] == 1
    assert metrics["n_windows_by_split"]["train"] > 120
    assert 0 < metrics["n_train_windows_without_answer"] < metrics["n_windows_by_split"]["train"]
    assert metrics["doc_stride"] == DOC_STRIDE and metrics["max_length"] == MAX_LENGTH

    assert json.loads((out / "metrics.json").read_text()) == json.loads(json.dumps(metrics))
    preds = pl.read_parquet(out / "predictions.parquet")
    assert preds.columns == ["id", "question", "answer", "pred", "exact_match", "f1"]
    test = table.filter(pl.col("split") == "test")
    assert preds["id"].to_list() == test["id"].to_list()
    assert preds["answer"].to_list() == test["answer"].to_list()
    assert preds["f1"].mean() == pytest.approx(metrics["test_f1"])
    assert preds["exact_match"].mean() == pytest.approx(metrics["test_exact_match"])
    assert all(p == p.strip() for p in preds["pred"].to_list())
    assert len(list((out / "checkpoints").glob("*.safetensors"))) == 1
