"""Translation: formats by hand, batching, decoding, the two translators, and tiny overfit runs."""

from __future__ import annotations

import dataclasses
import json
import random

import polars as pl
import pytest
import sacrebleu
import torch
from tokenizers import Tokenizer, models
from torch import nn

from bertvsgpt.config.schema import FinetuneConfig, TranslationConfig
from bertvsgpt.models import BertForPreTraining, GPTForPreTraining, ModelConfig, save_pretrained
from bertvsgpt.tasks.translation import (
    IGNORE_INDEX,
    BertTranslator,
    GPTTranslator,
    TranslationCollator,
    TranslationDataset,
    check_translation_table,
    decode_translation,
    detokenize_wordpiece,
    encode_translation,
    end_token_id,
    pieces_per_word,
    source_budget,
)
from bertvsgpt.tokenization.special import BERT_SPECIAL_TOKENS
from bertvsgpt.tokenization.train import train_byte_level_bpe, train_wordpiece
from bertvsgpt.tasks.translation import TRANSLATION
from bertvsgpt.tasks.scoring import scored_translations
from bertvsgpt.tasks.finetune import finetune
from bertvsgpt.tasks.options import RunOptions, TaskRun

# A German-like toy language translated word by word: "der hund ist rot." -> "The dog is red."
NOUNS = {"hund": "dog", "katze": "cat", "haus": "house", "baum": "tree", "auto": "car", "buch": "book"}
ADJECTIVES = {"rot": "red", "blau": "blue", "gross": "big", "klein": "small", "alt": "old", "neu": "new"}
VERBS = {"ist": "is", "war": "was"}
LONG_SOURCE = "der hund ist rot. " + "ja " * 20
LONG_TARGET = "The dog is red. " + "yes " * 20


def make_table(seed: int = 0) -> pl.DataFrame:
    rng = random.Random(seed)
    rows = []
    for split, n in {"train": 160, "dev": 30, "test": 30}.items():
        for _ in range(n):
            a, b, c = rng.choice(list(NOUNS)), rng.choice(list(VERBS)), rng.choice(list(ADJECTIVES))
            rows.append({"id": len(rows), "split": split, "text": f"der {a} {b} {c}.",
                         "target": f"The {NOUNS[a]} {VERBS[b]} {ADJECTIVES[c]}."})
    rows[160]["text"], rows[160]["target"] = LONG_SOURCE, LONG_TARGET  # a dev pair: truncated and counted
    return pl.DataFrame(rows)


@pytest.fixture(scope="module")
def table():
    return make_table()


def toy_wordpiece(texts: list[str]) -> Tokenizer:
    """BERT's WordPiece set-up with a fixed vocabulary: the specials, every word, every character.

    (WordPiece *training* breaks ties differently in every process, which would make the tiny
    runs below differ between test sessions.)
    """
    tok = train_wordpiece(texts, vocab_size=120, min_frequency=1)  # for the normaliser, pre-tokeniser, ...
    words = {w for t in texts for w, _ in tok.pre_tokenizer.pre_tokenize_str(tok.normalizer.normalize_str(t))}
    chars = sorted({c for w in words for c in w})
    vocab = BERT_SPECIAL_TOKENS + sorted(words) + chars + ["##" + c for c in chars]
    tok.model = models.WordPiece({t: i for i, t in enumerate(dict.fromkeys(vocab))}, unk_token="[UNK]")
    return tok


@pytest.fixture(scope="module")
def tokenizers(table):
    train = table.filter(pl.col("split") == "train")
    texts = train.get_column("text").to_list() + train.get_column("target").to_list()
    return {
        "bert": toy_wordpiece(texts),
        "gpt": train_byte_level_bpe(texts, vocab_size=400, min_frequency=1),
    }


def tiny_config(arch: str, vocab_size: int) -> ModelConfig:
    return ModelConfig(vocab_size=vocab_size, n_layer=2, n_head=2, d_model=32, d_ff=64, max_seq_len=24,
                       dropout=0.0, type_vocab_size=2 if arch == "bert" else 0, causal=arch == "gpt")


def translation_task(**extra) -> TranslationConfig:
    return TranslationConfig(type="translation", source="synthetic", max_length=20, **{"max_target_length": 8, **extra})


# ----------------------------------------------------------------------------- formats by hand


def pieces(tok, text):
    return tok.encode(text, add_special_tokens=False).ids


@pytest.mark.parametrize("arch", ["bert", "gpt"])
def test_encode_formats_and_truncation_by_hand(tokenizers, arch):
    tok = tokenizers[arch]
    sid = tok.token_to_id
    src, tgt = pieces(tok, "der hund ist rot."), pieces(tok, "The dog is red.")
    enc = encode_translation(tok, ["der hund ist rot."], ["The dog is red."], arch, max_length=20, max_target_length=8)
    if arch == "bert":
        assert enc.source_ids == [[sid("[CLS]"), *src, sid("[SEP]")]]
        assert enc.target_ids == [[*tgt, sid("[SEP]")]]
    else:
        assert enc.source_ids == [[sid("<|start|>"), *src, sid("<|delim|>")]]
        assert enc.target_ids == [[*tgt, sid("<|endoftext|>")]]
    assert enc.n_truncated == 0

    # budgets: BERT's source 20 - 2 = 18 tokens; GPT's 20 - 8 - 2 = 10; targets 8 - 1 pieces + end
    long_src, long_tgt = pieces(tok, LONG_SOURCE), pieces(tok, LONG_TARGET)
    enc = encode_translation(tok, [LONG_SOURCE, "der hund ist rot."], [LONG_TARGET, LONG_TARGET], arch, 20, 8)
    budget = 18 if arch == "bert" else 10
    assert source_budget(arch, 20, 8) == budget
    assert enc.source_ids[0][1:-1] == long_src[:budget]
    assert enc.target_ids[0] == [*long_tgt[:7], enc.target_ids[0][-1]]
    assert enc.source_truncated == [True, False] and enc.target_truncated == [True, True]
    assert enc.n_truncated == 2  # pairs, not sides
    if arch == "gpt":  # the whole sequence fits max_length
        assert all(len(s) + len(t) <= 20 for s, t in zip(enc.source_ids, enc.target_ids))


def test_budget_errors():
    with pytest.raises(ValueError, match="no room"):
        source_budget("gpt", 10, 8)
    assert source_budget("bert", 10, 8) == 8
    with pytest.raises(ValueError, match="max_target_length"):
        source_budget("bert", 10, 1)
    with pytest.raises(ValueError, match="unknown architecture"):
        source_budget("t5", 10, 4)


def test_table_checks(table):
    with pytest.raises(ValueError, match="lacks column"):
        check_translation_table(table.drop("target"))
    with pytest.raises(ValueError, match="no 'test' rows"):
        check_translation_table(table.filter(pl.col("split") != "test"))


def test_collators_by_hand():
    item = lambda i, s, t: {"id": i, "source": "s", "reference": "r", "source_ids": s, "target_ids": t}  # noqa: E731
    examples = [item(0, [1, 10, 11, 2], [20, 21, 9]), item(1, [1, 12, 2], [22, 9])]
    gpt = TranslationCollator("gpt", pad_id=0)(examples)
    assert gpt["input_ids"].tolist() == [[1, 10, 11, 2, 20, 21, 9], [1, 12, 2, 22, 9, 0, 0]]
    assert gpt["attention_mask"].tolist() == [[1] * 7, [1] * 5 + [0, 0]]
    X = IGNORE_INDEX
    # the delimiter's position predicts the first target token; the end token is a target too
    assert gpt["labels"].tolist() == [[X, X, X, 20, 21, 9, X], [X, X, 22, 9, X, X, X]]
    assert gpt["prompt_ids"].tolist() == [[1, 10, 11, 2], [0, 1, 12, 2]]  # left-padded
    assert gpt["prompt_mask"].tolist() == [[1, 1, 1, 1], [0, 1, 1, 1]]
    bert = TranslationCollator("bert", pad_id=0, bos_id=1)(examples)
    assert bert["src_ids"].tolist() == [[1, 10, 11, 2], [1, 12, 2, 0]]
    assert bert["src_mask"].tolist() == [[1, 1, 1, 1], [1, 1, 1, 0]]
    assert bert["decoder_ids"].tolist() == [[1, 20, 21], [1, 22, 0]]
    assert bert["labels"].tolist() == [[20, 21, 9], [22, 9, X]]
    assert gpt["id"] == [0, 1] and bert["reference"] == ["r", "r"]


def test_decoding_by_hand(tokenizers):
    # byte-level BPE is lossless: spaces come back from the "Ġ" pieces
    gpt = tokenizers["gpt"]
    eot = gpt.token_to_id("<|endoftext|>")
    text = "The dog, (the cat) isn't big!"
    ids = pieces(gpt, text)
    assert decode_translation(gpt, [*ids, eot, *ids], eot, "gpt") == text  # cut at the end token
    # WordPiece joins "##" pieces; the detokeniser removes the spaces punctuation splitting added
    bert = tokenizers["bert"]
    sep = bert.token_to_id("[SEP]")
    ids = pieces(bert, "The redcar was bigold.")
    assert [bert.id_to_token(i) for i in ids][:5] == ["The", "red", "##c", "##a", "##r"]
    assert decode_translation(bert, [bert.token_to_id("[CLS]"), *ids, sep, 5], sep, "bert") == "The redcar was bigold."
    # the tokenizers WordPiece decoder already attaches . , ! ?; the rest is ours
    text = "I don ' t know, it ' s state - of - the - art!"
    assert detokenize_wordpiece(text) == "I don't know, it's state-of-the-art!"
    assert detokenize_wordpiece('" Hello " ( twice ) costs $ 3. 5 or 1, 000 % in 2019, 50') == (
        '"Hello" (twice) costs $3.5 or 1,000% in 2019, 50'
    )
    assert pieces_per_word(gpt, ["der hund"]) == pytest.approx(len(pieces(gpt, "der hund")) / 2)


@pytest.mark.parametrize(
    "decoded, text",
    [
        ("I don ’ t know, it ’ s fine.", "I don’t know, it’s fine."),  # typographic apostrophes, as in a sixth of Ding's pairs
        ("You ’ re late, I ’ m sure, we ’ ve, she ’ ll, he ’ d", "You’re late, I’m sure, we’ve, she’ll, he’d"),
        ("DON ' T", "DON'T"),
        ("the Grimms ’ tales and the girls ' room", "the Grimms’ tales and the girls' room"),  # plural possessives
        ("It ' s 11 o ’ clock.", "It's 11 o’clock."),
        ("He said ' yes ' to me.", "He said 'yes' to me."),  # a pair of single quotes
        ("' It doesn ' t work, ' he said.", "'It doesn't work,' he said."),  # a quote around a contraction
        ("O ' Brien", "O'Brien"),
    ],
)
def test_detokenize_wordpiece_undoes_apostrophe_and_quote_splitting(decoded, text):
    assert detokenize_wordpiece(decoded) == text


def test_bert_decodes_references_with_apostrophes_to_bleu_near_100(tokenizers):
    """Gold target ids decoded as BERT's translations come back as the references (GPT's byte-level BPE is lossless):
    before ’ was handled, "don’t" came back as "don ’ t" and BERT's ceiling on Ding's test split was 87.9 BLEU."""
    from sacrebleu.metrics import BLEU

    refs = ["I don’t know what it’s about.", "You’re late, aren’t you?", "It's 11 o’clock.", "The Grimms’ tales are old.",
            "He said 'yes' to me.", "I’ve been there, haven't I?", "The state-of-the-art system (twice) costs $3.50."]
    bert = train_wordpiece(refs * 20, 200, 1)
    sep = bert.token_to_id("[SEP]")
    hyps = [decode_translation(bert, [*pieces(bert, r), sep], sep, "bert") for r in refs]
    assert hyps == refs
    assert BLEU().corpus_score(hyps, [refs]).score == pytest.approx(100.0)


# ----------------------------------------------------------------------------- the translators


def batch_for(tok, arch, table, n=3):
    test = table.filter(pl.col("split") == "test").head(n)
    src, tgt = test.get_column("text").to_list(), test.get_column("target").to_list()
    enc = encode_translation(tok, src, tgt, arch, 20, 8)
    ds = TranslationDataset(test.get_column("id").to_list(), src, tgt, enc)
    collate = TranslationCollator(arch, 0, tok.token_to_id("[CLS]") if arch == "bert" else None)
    return collate([ds[i] for i in range(len(ds))]), collate


@pytest.mark.parametrize("arch", ["bert", "gpt"])
def test_translator_shapes_and_batched_generation(tokenizers, table, arch):
    torch.manual_seed(0)
    tok = tokenizers[arch]
    cfg = tiny_config(arch, tok.get_vocab_size())
    if arch == "bert":
        model = BertTranslator(BertForPreTraining(cfg), decoder_layers=2).eval()
    else:
        model = GPTTranslator(GPTForPreTraining(cfg)).eval()
    batch, _ = batch_for(tok, arch, table)
    logits, _ = model(batch)
    assert logits.shape == (*batch["labels"].shape, cfg.vocab_size)
    end = tok.token_to_id("[SEP]" if arch == "bert" else "<|endoftext|>")
    args = (tok.token_to_id("[CLS]"),) if arch == "bert" else ()
    out = model.generate(batch, 6, end, *args)
    assert out.shape[0] == 3 and out.shape[1] <= 6
    # each example on its own (no padding) gives the same tokens as the padded batch
    for i in range(3):
        one = {k: v[i : i + 1] for k, v in batch.items()}
        if arch == "gpt":
            keep = one["prompt_mask"][0].bool()
            one["prompt_ids"], one["prompt_mask"] = one["prompt_ids"][:, keep], one["prompt_mask"][:, keep]
        alone = model.generate(one, 6, end, *args)[0]
        assert alone.tolist() == out[i, : alone.numel()].tolist()
    # beam search runs on the same batch (its tokens: test_generation_is_greedy_with_1_beam_and_beam_search_with_more)
    beams = model.generate(batch, 6, end, *args, num_beams=2)
    assert beams.shape[0] == 3 and beams.shape[1] <= 6


# A freshly initialised post-LN model repeats one token whatever the input, so every search agrees with every
# other: for the check below, pre-LN blocks, N(0, 0.1) weights (N(0, 0.5) in attention, so that the cached
# history matters: a search that mixes up its beams' caches changes the tokens) and a louder end token (its
# embedding row, tied to the output layer, scaled) give outputs that vary by example, beams that beat greedy,
# and sequences that end early (all three checked, so the set-up cannot silently go degenerate).
END_BOOST = 3.0


def varied_translator(arch: str, tok) -> nn.Module:
    torch.manual_seed(0)
    cfg = dataclasses.replace(tiny_config(arch, tok.get_vocab_size()), norm="pre")
    if arch == "bert":
        model = BertTranslator(BertForPreTraining(cfg), decoder_layers=2).eval()
        emb = model.encoder.embeddings.word_embeddings.weight
    else:
        model = GPTTranslator(GPTForPreTraining(cfg)).eval()
        emb = model.transformer.embeddings.word_embeddings.weight
    with torch.no_grad():
        for name, weight in model.named_parameters():
            if weight.dim() == 2:
                weight.normal_(0.0, 0.5 if "attn" in name else 0.1)  # sharp attention: the history matters
        emb[end_token_id(tok, arch)] *= END_BOOST
    return model


@pytest.mark.parametrize("arch", ["bert", "gpt"])
def test_generation_is_greedy_with_1_beam_and_beam_search_with_more(tokenizers, table, arch):
    """The cached, batched search against a plain one written here that re-runs the whole prefix at every step
    (no KV cache, no reordering, one example at a time)."""
    tok = tokenizers[arch]
    model = varied_translator(arch, tok)
    batch, _ = batch_for(tok, arch, table)
    end = end_token_id(tok, arch)
    args = (tok.token_to_id("[CLS]"),) if arch == "bert" else ()
    outputs = {}
    for k in (1, 2, 3):
        got = model.generate(batch, 6, end, *args, num_beams=k)
        assert got.shape[0] == 3 and got.shape[1] <= 6
        outputs[k] = []
        for i in range(3):
            ref = plain_beam_search(model, arch, {key: v[i : i + 1] for key, v in batch.items()}, k, 6, end, *args)
            assert got[i, : len(ref)].tolist() == ref, (k, i)
            assert all(t == end for t in got[i, len(ref) :].tolist()), (k, i)
            outputs[k].append(ref)
    assert model.generate(batch, 6, end, *args).tolist() == model.generate(batch, 6, end, *args, num_beams=1).tolist()
    # the set-up is not degenerate: examples differ, beams differ from greedy, some output ends before 6 tokens
    assert len({tuple(o) for o in outputs[1]}) > 1
    assert outputs[2] != outputs[1] or outputs[3] != outputs[1]
    assert any(end in o[:-1] or len(o) < 6 for k in outputs for o in outputs[k])


def plain_beam_search(model, arch, row, num_beams, max_new_tokens, end, bos=None) -> list[int]:
    """Beam search by the book for one example: keep the ``num_beams`` best prefixes by summed log-probability,
    a finished prefix only repeats ``end`` at no cost; pick the best score / length (up to the end token)."""
    def next_logp(prefix: list[int]) -> torch.Tensor:
        with torch.no_grad():
            if arch == "gpt":
                prompt = row["prompt_ids"][:, row["prompt_mask"][0].bool()]  # the row's prompt, unpadded
                seq = torch.cat([prompt, torch.tensor([prefix], dtype=torch.long)], 1)
                logits = model.lm_head(model.transformer(seq))[0, -1]
            else:
                seq = torch.tensor([[bos, *prefix]])
                logits = model.decoder(seq, model.encode(row), row["src_mask"])[0, -1]
        return torch.log_softmax(logits.double(), -1)

    beams = [([], 0.0, False)]  # (tokens, summed log-prob, finished)
    for _ in range(max_new_tokens):
        candidates = []
        for tokens, score, done in beams:
            if done:
                candidates.append((tokens + [end], score, True))
                continue
            logp = next_logp(tokens)
            for v in logp.topk(num_beams).indices.tolist():
                candidates.append((tokens + [v], score + float(logp[v]), v == end))
        beams = sorted(candidates, key=lambda c: -c[1])[:num_beams]
        if all(done for _, _, done in beams):
            break

    def length(tokens):
        return tokens.index(end) + 1 if end in tokens else len(tokens)

    return max(beams, key=lambda c: c[1] / length(c[0]))[0]


def test_bert_decoder_shares_the_embeddings(tokenizers):
    cfg = tiny_config("bert", tokenizers["bert"].get_vocab_size())
    bert = BertForPreTraining(cfg)
    model = BertTranslator(bert, decoder_layers=3)
    assert len(model.decoder.h) == 3
    assert model.decoder.embeddings is bert.bert.embeddings
    assert model.decoder.lm_head.weight is bert.bert.embeddings.word_embeddings.weight
    with pytest.raises(TypeError, match="BertForPreTraining"):
        BertTranslator(GPTForPreTraining(tiny_config("gpt", 50)))


# ----------------------------------------------------------------------------- tiny fine-tuning runs


FT = FinetuneConfig(max_epochs=40, batch_size=16, lr=5e-3, warmup_fraction=0.1, patience=15)


def run(tmp_path, name, arch, tok, table, pretrained=True, task=None, seed=0):
    cfg = tiny_config(arch, tok.get_vocab_size())
    model_dir = None
    if pretrained:  # a randomly initialised "pre-trained" model exercises the load path
        torch.manual_seed(seed)  # the same weights whichever tests ran before
        model = BertForPreTraining(cfg) if arch == "bert" else GPTForPreTraining(cfg)
        model_dir = save_pretrained(model, cfg, tmp_path / f"{name}-pretrained")
    out = tmp_path / name
    metrics = finetune(
        TRANSLATION, TaskRun(table, task or translation_task(), FT, seed, out), model_dir, arch, tok,
        options=RunOptions(enable_progress_bar=False), model_config=None if pretrained else cfg,
    )
    return metrics, out


def expected_truncation(tok, table, arch):
    by_split = {}
    for split in ("train", "dev", "test"):
        frame = table.filter(pl.col("split") == split)
        enc = encode_translation(tok, frame["text"].to_list(), frame["target"].to_list(), arch, 20, 8)
        by_split[split] = enc.n_truncated
    return by_split


def assert_scores_match_sacrebleu(metrics: dict, preds: pl.DataFrame) -> None:
    """The reported test scores are sacreBLEU's (default 13a BLEU, chrF) on the written hypotheses and references."""
    hyps, refs = preds["hypothesis"].to_list(), preds["reference"].to_list()
    assert metrics["test_bleu"] == pytest.approx(sacrebleu.corpus_bleu(hyps, [refs]).score, abs=1e-9)
    assert metrics["test_chrf"] == pytest.approx(sacrebleu.corpus_chrf(hyps, [refs]).score, abs=1e-9)
    per_row = [sacrebleu.sentence_chrf(h, [r]).score for h, r in zip(hyps, refs)]
    assert preds["chrf"].to_list() == pytest.approx(per_row, abs=1e-9)


def test_scored_translations_are_sacrebleus_scores_of_the_written_table():
    """The toy runs translate perfectly (BLEU 100 under any tokenisation); imperfect hypotheses here."""
    test = pl.DataFrame({"id": [7, 8, 9], "text": ["der hund ist rot.", "die katze war alt.", "das haus ist neu."],
                         "target": ["The dog is red.", "The cat was old.", "The house is new."]})
    hyps = ["the dog is red .", "The cat was old.", "house is new"]
    predictions, metrics = scored_translations(test, hyps)
    assert predictions["id"].to_list() == [7, 8, 9] and predictions["hypothesis"].to_list() == hyps
    assert_scores_match_sacrebleu(metrics, predictions)
    assert metrics["empty_hypotheses"] == 0
    # by hand, the first pair alone (13a tokens, case-sensitive): "the dog is red ." vs "The dog is red ."
    # n-gram precisions 4/5, 3/4, 2/3, 1/2, equal lengths: BLEU = 100 * (4/5 * 3/4 * 2/3 * 1/2) ** (1/4)
    _, one = scored_translations(test.head(1), hyps[:1])
    assert one["test_bleu"] == pytest.approx(100 * 0.2**0.25, abs=1e-9)


@pytest.mark.parametrize("arch", ["bert", "gpt"])
def test_finetune_learns_toy_translation(tmp_path, table, tokenizers, arch):
    metrics, out = run(tmp_path, arch, arch, tokenizers[arch], table)
    assert metrics["test_bleu"] >= 90, metrics
    assert metrics["test_chrf"] >= 90, metrics
    assert metrics["best_dev_chrf"] >= 85, metrics
    assert metrics["primary_metric"] == "test_bleu" and metrics["pretrained"] is True
    assert (metrics["n_train"], metrics["n_dev"], metrics["n_test"]) == (160, 30, 30)
    expected = expected_truncation(tokenizers[arch], table, arch)
    assert expected["dev"] >= 1  # the deliberately long pair
    assert metrics["n_truncated_by_split"] == expected and metrics["n_truncated"] == sum(expected.values())
    assert metrics["max_target_length"] == 8 and metrics["num_beams"] == 1
    assert metrics["decoder_layers"] == (2 if arch == "bert" else 0)
    assert "tok:13a" in metrics["bleu_signature"]

    assert json.loads((out / "metrics.json").read_text()) == json.loads(json.dumps(metrics))
    preds = pl.read_parquet(out / "predictions.parquet")
    assert preds.columns == ["id", "source", "reference", "hypothesis", "chrf"]
    test = table.filter(pl.col("split") == "test")
    assert preds["id"].to_list() == test["id"].to_list()
    assert preds["reference"].to_list() == test["target"].to_list()
    assert (preds["hypothesis"] == preds["reference"]).mean() >= 0.9
    assert_scores_match_sacrebleu(metrics, preds)
    assert len(list((out / "checkpoints").glob("*.safetensors"))) == 1


def test_scratch_run_with_beam_search_and_caps(tmp_path, table, tokenizers):
    task = translation_task(num_beams=2, max_dev_generate=10, max_train_examples=150, decoder_layers=1)
    metrics, out = run(tmp_path, "scratch", "bert", tokenizers["bert"], table, pretrained=False, task=task)
    assert metrics["pretrained"] is False
    assert metrics["n_train"] == 150 and metrics["n_dev_generated"] == 10
    assert metrics["num_beams"] == 2 and metrics["decoder_layers"] == 1
    assert metrics["test_bleu"] >= 75 and metrics["test_chrf"] >= 85, metrics
    preds = pl.read_parquet(out / "predictions.parquet")
    assert preds.height == 30
    assert_scores_match_sacrebleu(metrics, preds)


def test_scratch_needs_a_config(tmp_path, table, tokenizers):
    with pytest.raises(ValueError, match="model_config"):
        finetune(TRANSLATION, TaskRun(table, translation_task(), FT, 0, tmp_path / "x"), None, "gpt", tokenizers["gpt"])


def test_the_new_decoder_gets_the_fine_tuning_dropout_for_pretrained_and_scratch_bert(tokenizers, tmp_path):
    """A pre-trained BERT is saved with dropout 0 and gets finetune.dropout set in place; its new decoder must get it
    too, as the scratch twin's does (it used to copy the saved config and train without dropout)."""
    from bertvsgpt.config.schema import task_config
    from bertvsgpt.tasks.backbone import load_for_task
    from bertvsgpt.tasks.finetune import TaskContext

    tok = tokenizers["bert"]
    cfg = dataclasses.replace(tiny_config("bert", tok.get_vocab_size()), dropout=0.0)
    save_pretrained(BertForPreTraining(cfg), cfg, tmp_path / "bert")
    task = task_config(type="translation", source="x", max_length=cfg.max_seq_len, max_target_length=8)
    ft = FinetuneConfig(dropout=0.1)
    for model_dir, model_config in ((tmp_path / "bert", None), (None, cfg)):  # pre-trained, scratch
        pretrained, config = load_for_task(model_dir, "bert", model_config, tok, cfg.max_seq_len, ft.dropout)
        module = TRANSLATION.build(pretrained, config, None, TaskContext("bert", tok, task, ft))
        rates = {m.p for m in module.model.decoder.modules() if isinstance(m, nn.Dropout)}
        rates |= {m.dropout for m in module.model.decoder.modules() if isinstance(getattr(m, "dropout", None), float)}
        assert rates == {0.1}
