"""Token classification: word -> sub-word encoding by hand, the tagger's shapes, tiny fine-tunes."""

from __future__ import annotations

import json
import random

import polars as pl
import pytest
import torch
from tokenizers import Tokenizer, models, pre_tokenizers

from bertvsgpt.config.schema import FinetuneConfig, WordSubwordConfig, task_config
from bertvsgpt.models import BertForPreTraining, GPTForPreTraining, save_pretrained
from bertvsgpt.tasks.token_classification import (
    IGNORE_INDEX,
    TaggedCollator,
    TaggedDataset,
    TokenClassificationModule,
    check_tagged_table,
    decode_tags,
    encode_words,
    word_pieces,
)
from bertvsgpt.tasks.data import split_frames, tag_list
from bertvsgpt.tokenization.special import BERT_SPECIAL_TOKENS
from bertvsgpt.tasks.token_classification import TOKEN_CLASSIFICATION
from bertvsgpt.tasks.finetune import TaskContext, finetune
from bertvsgpt.tasks.options import RunOptions, TaskRun
from bertvsgpt.tasks.data import cap_splits
from bertvsgpt.tasks.heads import TokenClassifier

# the tiny test model (d_model 32, 2 layers) and the tokenizers fixture (trained on this module's `table`)
from .test_classification import tiny_config, tokenizers  # noqa: F401

FIRST = ["anna", "bob", "carla", "dmitri"]  # B-PER
LAST = ["smith", "jones", "garcia"]  # I-PER, always after a first name
CITY = ["paris", "berlin", "tokyo"]  # B-LOC
FILLER = ["the", "met", "in", "said", "today", "and", "visited", "a", "friend", "from", "yesterday", "we"]


def make_sentence(rng: random.Random) -> tuple[list[str], list[str]]:
    words = rng.choices(FILLER, k=rng.randint(2, 5))
    tags = ["O"] * len(words)
    for _ in range(rng.randint(1, 2)):
        at = rng.randint(0, len(words))
        kind = rng.choice(["per", "per1", "loc", "newyork"])
        if kind == "per":
            ent, et = [rng.choice(FIRST), rng.choice(LAST)], ["B-PER", "I-PER"]
        elif kind == "per1":
            ent, et = [rng.choice(FIRST)], ["B-PER"]
        elif kind == "loc":
            ent, et = [rng.choice(CITY)], ["B-LOC"]
        else:
            ent, et = ["new", "york"], ["B-LOC", "I-LOC"]
        words[at:at] = ent
        tags[at:at] = et
    return words, tags


def make_table(seed: int = 0) -> pl.DataFrame:
    rng = random.Random(seed)
    rows = []
    i = 0
    for split, n in {"train": 160, "dev": 40, "test": 40}.items():
        for _ in range(n):
            words, tags = make_sentence(rng)
            rows.append({"id": i, "split": split, "tokens": words, "tags": tags, "text": " ".join(words)})
            i += 1
    # one over-long test sentence: its final entity is cut off, predicted "O" and scored as a miss
    words = ["anna", "smith"] + ["the", "friend"] * 10 + ["paris"]
    tags = ["B-PER", "I-PER"] + ["O"] * 20 + ["B-LOC"]
    rows[-1].update(tokens=words, tags=tags, text=" ".join(words))
    return pl.DataFrame(rows)


@pytest.fixture(scope="module")
def table():
    return make_table()



def hand_wordpiece() -> Tokenizer:
    """A WordPiece tokenizer whose splits are known by hand."""
    words = ["play", "##ing", "new", "york", ",", "##s", "u", "."]
    vocab = {t: i for i, t in enumerate(BERT_SPECIAL_TOKENS + words)}  # [PAD]0 [UNK]1 [CLS]2 [SEP]3 [MASK]4
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    return tok


# ----------------------------------------------------------------------------- encoding by hand


def test_wordpiece_words_by_hand():
    tok = hand_wordpiece()
    ids = {t: tok.token_to_id(t) for t in ["play", "##ing", "##s", "new", "york", ",", "u", ".", "[UNK]"]}
    [pieces] = word_pieces(tok, [["playing", "new", "u.", "plays", "zzz", "\u200b"]], "bert")
    assert pieces == [
        [ids["play"], ids["##ing"]],
        [ids["new"]],
        [ids["u"], ids["."]],  # punctuation splits inside the word, still one word
        [ids["play"], ids["##s"]],
        [ids["[UNK]"]],  # unknown word
        [ids["[UNK]"]],  # the normaliser would drop it: the word keeps a first sub-word
    ]
    input_ids, starts, n_trunc = encode_words(tok, [["playing", "new", "york"]], "bert", max_length=16)
    assert input_ids == [[2, ids["play"], ids["##ing"], ids["new"], ids["york"], 3]]
    assert starts == [[1, 3, 4]] and n_trunc == 0


def test_truncation_keeps_whole_words():
    tok = hand_wordpiece()
    sents = [["playing", "new", "york"], ["new", "york"]]
    # max_length 5 -> 3 sub-words after [CLS] .. [SEP]: "play ##ing new" fits, "york" is cut
    input_ids, starts, n_trunc = encode_words(tok, sents, "bert", max_length=5)
    assert starts == [[1, 3], [1, 2]] and n_trunc == 1
    assert len(input_ids[0]) == 5 and input_ids[0][-1] == 3
    # max_length 4 -> 2 sub-words: "playing" alone fits
    _, starts, n_trunc = encode_words(tok, sents, "bert", max_length=4)
    assert starts == [[1], [1, 2]] and n_trunc == 1
    with pytest.raises(ValueError, match="no room"):
        encode_words(tok, sents, "bert", max_length=2)


@pytest.mark.parametrize("arch", ["bert", "gpt"])
def test_words_tokenise_as_running_text(tokenizers, arch):
    tok = tokenizers[arch]
    sents = [["anna", "smith", "visited", "new", "york", "."], ["paris,", "garcia's", "U.S.", "42nd"]]
    for words, pieces in zip(sents, word_pieces(tok, sents, arch)):
        assert [i for p in pieces for i in p] == tok.encode(" ".join(words), add_special_tokens=False).ids
        assert all(len(p) >= 1 for p in pieces)
    if arch == "gpt":  # byte-level BPE: a word boundary is a leading space ("Ġ") on all but the first word
        [pieces] = word_pieces(tok, [["anna", "smith", "smith"]], "gpt")
        assert not tok.id_to_token(pieces[0][0]).startswith("Ġ")
        assert tok.id_to_token(pieces[1][0]).startswith("Ġ") and pieces[1] == pieces[2]


def test_last_subword_positions():
    """``subword="last"`` tags a word at its last sub-word (the causal state that has seen the whole word)."""
    tok = hand_wordpiece()
    sents = [["playing", "new", "york"], ["new", "plays"]]
    ids_first, first, _ = encode_words(tok, sents, "bert", max_length=16)
    ids_last, last, _ = encode_words(tok, sents, "bert", max_length=16, subword="last")
    assert ids_last == ids_first  # the same input, only the tagged positions move
    assert first == [[1, 3, 4], [1, 2]] and last == [[2, 3, 4], [1, 3]]  # play ##ing -> ##ing; play ##s -> ##s
    # truncation keeps whole words either way: "play ##ing new" fits into 3 sub-words, "york" is cut
    _, last, n_trunc = encode_words(tok, sents[:1], "bert", max_length=5, subword="last")
    assert last == [[2, 3]] and n_trunc == 1
    with pytest.raises(ValueError, match="subword"):
        encode_words(tok, sents, "bert", max_length=16, subword="middle")


@pytest.mark.parametrize("setting", [WordSubwordConfig(), WordSubwordConfig(bert="last", gpt="first")])
def test_word_subword_is_read_per_architecture(table, tokenizers, setting):
    """``tasks.<task>.word_subword.<arch>`` decides where each model's labels sit (default: BERT first, GPT last)."""
    assert (WordSubwordConfig().bert, WordSubwordConfig().gpt) == ("first", "last")
    task = task_config(type="token_classification", source="synthetic", max_length=16, word_subword=setting)
    # words the tokenizers never saw, so each is several sub-words and first != last
    table = table.with_columns(pl.col("tokens").list.eval(pl.element() + pl.element()))  # e.g. "annaanna"
    for arch in ("bert", "gpt"):
        subword = getattr(setting, arch)
        tok = tokenizers[arch]
        ds = TOKEN_CLASSIFICATION.encode(table, TaskContext(arch, tok, task, FT)).datasets["train"]
        words = table.filter(pl.col("split") == "train").get_column("tokens").to_list()
        _, expected, _ = encode_words(tok, words, arch, 16, subword)
        labelled = [[i for i, y in enumerate(labels) if y != IGNORE_INDEX] for labels in ds.labels]
        assert labelled == expected
        other = "last" if subword == "first" else "first"
        assert any(len(p) > 1 for s in word_pieces(tok, words, arch) for p in s)  # so the positions differ
        assert labelled != encode_words(tok, words, arch, 16, other)[1]


def test_gpt_format(tokenizers):
    tok = tokenizers["gpt"]
    [ids], [starts], _ = encode_words(tok, [["anna", "met", "bob"]], "gpt", max_length=16)
    assert tok.id_to_token(ids[0]) == "<|start|>" and tok.id_to_token(ids[-1]) == "<|extract|>"
    pieces = word_pieces(tok, [["anna", "met", "bob"]], "gpt")[0]
    assert starts == [1, 1 + len(pieces[0]), 1 + len(pieces[0]) + len(pieces[1])]


def test_labels_sit_on_first_subwords_and_collate():
    tok = hand_wordpiece()
    tags = ["B-LOC", "I-LOC", "O"]
    ids, starts, _ = encode_words(tok, [["playing", "new", "york"], ["new", "york"]], "bert", max_length=5)
    gold = [["O", "B-LOC", "I-LOC"], ["B-LOC", "I-LOC"]]
    ds = TaggedDataset(["a", "b"], ids, starts, gold, {t: i for i, t in enumerate(tags)})
    assert ds[0]["labels"] == [IGNORE_INDEX, 2, IGNORE_INDEX, 0, IGNORE_INDEX]  # [CLS] play ##ing new [SEP]; "york" cut
    assert ds[1]["labels"] == [IGNORE_INDEX, 0, 1, IGNORE_INDEX]
    assert ds.n_kept == [2, 2] and ds.n_truncated_words == 1
    batch = TaggedCollator(pad_id=0)([ds[0], ds[1]])
    assert batch["input_ids"].tolist()[1] == [*ids[1], 0]
    assert batch["attention_mask"].tolist() == [[1] * 5, [1, 1, 1, 1, 0]]
    assert batch["labels"].tolist()[1] == [IGNORE_INDEX, 0, 1, IGNORE_INDEX, IGNORE_INDEX]
    assert batch["tags"] == [["O", "B-LOC", "I-LOC"], ["B-LOC", "I-LOC"]]
    # decoding: argmax at first sub-words, "O" for the truncated word
    logits = torch.zeros(2, 5, 3)
    logits[0, 1, 0] = logits[0, 3, 0] = 1.0  # B-LOC B-LOC
    logits[1, 1, 0] = logits[1, 2, 1] = 1.0  # B-LOC I-LOC
    logits[0, 2, 1] = 5.0  # a non-first sub-word is never read
    assert decode_tags(logits, batch["labels"], batch["tags"], tags) == [["B-LOC", "B-LOC", "O"], ["B-LOC", "I-LOC"]]


# ----------------------------------------------------------------------------- table checks


def test_table_checks_and_tag_list(table):
    check_tagged_table(table)
    assert tag_list(table) == ["B-LOC", "B-PER", "I-LOC", "I-PER", "O"]
    row = {"id": 0, "split": "train", "tokens": ["a", "b"], "tags": ["O", "O"]}
    good = pl.DataFrame([row, {**row, "id": 1, "split": "dev"}, {**row, "id": 2, "split": "test"}])
    check_tagged_table(good)
    for change, match in [
        ({"tags": ["O"]}, "2 words but 1 tags"),
        ({"tags": ["O", "PER"]}, "not O, B-X or I-X"),
        ({"tokens": [], "tags": []}, "no words"),
        ({"tokens": ["a", ""]}, "empty word"),
    ]:
        with pytest.raises(ValueError, match=match):
            check_tagged_table(pl.concat([good, pl.DataFrame([{**row, "id": 9, **change}], schema=good.schema)]))
    with pytest.raises(ValueError, match="no 'test' rows"):
        check_tagged_table(good.filter(pl.col("split") != "test"))
    with pytest.raises(ValueError, match="lacks column"):
        check_tagged_table(good.drop("tags"))


def test_capped_splits_keep_table_order(table):
    frames = split_frames(cap_splits(table, 50, None))
    assert frames["train"].height == 50 and frames["dev"].height == 40
    ids = frames["train"].get_column("id").to_list()
    assert ids == sorted(ids)  # table order kept
    assert split_frames(cap_splits(table, 50, None))["train"].equals(frames["train"])  # fixed subsample
    assert split_frames(table)["train"].height == 160


# ----------------------------------------------------------------------------- model


@pytest.mark.parametrize("arch", ["bert", "gpt"])
def test_head_shapes(arch):
    cfg = tiny_config(arch, 50)
    pre = BertForPreTraining(cfg) if arch == "bert" else GPTForPreTraining(cfg)
    model = TokenClassifier.from_pretrained(pre, arch, n_labels=5)
    x = torch.randint(0, 50, (3, 7))
    mask = torch.ones(3, 7, dtype=torch.long)
    mask[1, 5:] = 0
    assert model(x, mask).shape == (3, 7, 5)
    assert model.hidden(x, mask).shape == (3, 7, 32)
    other = "gpt" if arch == "bert" else "bert"
    with pytest.raises(TypeError, match="needs a"):
        TokenClassifier.from_pretrained(pre, other, n_labels=5)
    with pytest.raises(ValueError, match="does not match"):
        TokenClassifier(model.backbone, other, n_labels=5)


def test_loss_ignores_non_first_subwords_and_survives_an_all_truncated_batch():
    model = TokenClassifier.from_pretrained(BertForPreTraining(tiny_config("bert", 50)), "bert", n_labels=3)
    module = TokenClassificationModule(model, ["B-X", "I-X", "O"], backbone=model.backbone)
    logits = torch.randn(2, 4, 3)
    labels = torch.tensor([[IGNORE_INDEX, 2, IGNORE_INDEX, IGNORE_INDEX], [IGNORE_INDEX, 0, 1, IGNORE_INDEX]])
    expected = torch.nn.functional.cross_entropy(logits[[0, 1, 1], [1, 1, 2]], torch.tensor([2, 0, 1]))
    assert torch.allclose(module._loss(logits, labels), expected)
    assert module._loss(logits, torch.full_like(labels, IGNORE_INDEX)).item() == 0.0


def test_gpt_tags_see_only_the_left_context():
    cfg = tiny_config("gpt", 50)
    model = TokenClassifier.from_pretrained(GPTForPreTraining(cfg), "gpt", n_labels=3).eval()
    x = torch.randint(0, 50, (1, 6))
    y = x.clone()
    y[0, 4:] = (y[0, 4:] + 1) % 50  # change the right context of position 3
    with torch.no_grad():
        assert torch.allclose(model(x)[0, :4], model(y)[0, :4], atol=1e-6)


# ----------------------------------------------------------------------------- fine-tuning


TASK = task_config(type="token_classification", source="synthetic", max_length=16)
FT = FinetuneConfig(max_epochs=8, batch_size=16, lr=3e-3, warmup_fraction=0.1, patience=3)


def run(tmp_path, name, arch, tok, table, pretrained=True, task=TASK, ft=FT):
    cfg = tiny_config(arch, tok.get_vocab_size())
    model_dir = None
    if pretrained:  # a randomly initialised "pre-trained" model exercises the load path
        model = BertForPreTraining(cfg) if arch == "bert" else GPTForPreTraining(cfg)
        model_dir = save_pretrained(model, cfg, tmp_path / f"{name}-pretrained")
    out = tmp_path / name
    metrics = finetune(
        TOKEN_CLASSIFICATION, TaskRun(table, task, ft, 0, out), model_dir, arch, tok, options=RunOptions(enable_progress_bar=False),
        model_config=None if pretrained else cfg,
    )
    return metrics, out


@pytest.mark.parametrize("arch", ["bert", "gpt"])
def test_finetune_learns_synthetic_entities(tmp_path, table, tokenizers, arch):
    metrics, out = run(tmp_path, arch, arch, tokenizers[arch], table)
    assert metrics["primary_metric"] == "test_entity_f1"
    assert metrics["test_entity_f1"] >= 0.9, metrics
    assert metrics["best_dev_entity_f1"] >= 0.9, metrics
    assert set(metrics["test_f1_by_type"]) == {"LOC", "PER"}
    assert (metrics["n_train"], metrics["n_dev"], metrics["n_test"]) == (160, 40, 40)
    assert metrics["labels"] == ["B-LOC", "B-PER", "I-LOC", "I-PER", "O"]
    assert metrics["n_truncated_by_split"]["test"] >= 1 and metrics["n_truncated_words_by_split"]["test"] >= 1
    assert metrics["n_truncated"] == sum(metrics["n_truncated_by_split"].values())
    assert 1 <= metrics["epochs_run"] <= FT.max_epochs
    assert json.loads((out / "metrics.json").read_text()) == json.loads(json.dumps(metrics))

    preds = pl.read_parquet(out / "predictions.parquet")
    test = table.filter(pl.col("split") == "test")
    assert preds.columns == [
        "id", "tokens", "tags", "pred", "n_gold_entities", "n_pred_entities", "n_correct_entities",
        "exact_match", "truncated",
    ]
    assert preds.get_column("id").to_list() == test.get_column("id").to_list()
    assert preds.get_column("tags").to_list() == test.get_column("tags").to_list()
    assert [len(p) for p in preds.get_column("pred").to_list()] == [len(t) for t in test.get_column("tokens").to_list()]
    long = preds.row(preds.height - 1, named=True)
    assert long["truncated"] and long["pred"][-1] == "O"  # the cut-off entity is a miss, not dropped
    assert long["n_gold_entities"] == 2 and long["n_correct_entities"] <= 1
    assert preds.get_column("n_gold_entities").sum() == metrics["test_n_gold_entities"]
    assert preds.get_column("n_correct_entities").sum() == metrics["test_n_correct_entities"]
    assert preds.get_column("exact_match").mean() == pytest.approx(metrics["test_exact_match"])
    assert len(list((out / "checkpoints").glob("*.safetensors"))) == 1


def test_scratch_run_with_cap_and_aux_loss(tmp_path, table, tokenizers):
    task = task_config(type="token_classification", source="synthetic", max_length=16, max_train_examples=120)
    ft = FinetuneConfig(max_epochs=8, batch_size=16, lr=3e-3, warmup_fraction=0.1, patience=3, aux_lm_weight=0.5)
    metrics, out = run(tmp_path, "scratch", "gpt", tokenizers["gpt"], table, pretrained=False, task=task, ft=ft)
    assert metrics["pretrained"] is False and metrics["n_train"] == 120
    assert metrics["test_entity_f1"] >= 0.8, metrics
    assert (out / "predictions.parquet").is_file()


def test_scratch_needs_a_config(tmp_path, table, tokenizers):
    with pytest.raises(ValueError, match="model_config"):
        finetune(TOKEN_CLASSIFICATION, TaskRun(table, TASK, FT, 0, tmp_path / "x"), None, "bert", tokenizers["bert"])


def test_chinese_characters_get_no_space_between_them():
    """Character-level Chinese NER: for GPT's byte-level BPE, no space goes between CJK characters (Chinese is
    written without them, as the pre-training text is), so the pieces are those of the unspaced sentence;
    a Latin word keeps its space only when neither side of the boundary is a CJK character."""
    from tokenizers import decoders, models as tmodels, trainers

    from bertvsgpt.tasks.token_classification import spaced

    assert not spaced("北", "京") and not spaced("中", "Windows") and not spaced("95", "年")
    assert spaced("Windows", "95") and spaced("new", "york")
    tok = Tokenizer(tmodels.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(["张华今天访问北京。", "李明来到上海 Windows 95。"] * 20, trainers.BpeTrainer(
        vocab_size=300, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    words = list("李明来到上海") + ["Windows", "95", "。"]
    [pieces] = word_pieces(tok, [words], "gpt")
    spaced_ids = [tok.id_to_token(p[0]).startswith("Ġ") for p in pieces]
    assert spaced_ids == [False] * 7 + [True, False]  # only "95" after "Windows" carries the space marker
    assert [tok.decode(p) for p in pieces] == ["李", "明", "来", "到", "上", "海", "Windows", " 95", "。"]
