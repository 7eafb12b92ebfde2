"""Qualitative samples: BERT fills the blank, GPT continues the text before it."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from bertvsgpt.config import load_params
from bertvsgpt.evaluation.samples import continue_text, fill_in_blank, qualitative_samples
from bertvsgpt.models import BertForPreTraining, GPTForPreTraining, ModelConfig, save_pretrained
from bertvsgpt.tokenization.special import BERT_MASK, BERT_PAD, GPT_EOT, GPT_PAD
from bertvsgpt.tokenization.train import train_byte_level_bpe, train_wordpiece

PARAMS_YAML = Path(__file__).resolve().parents[2] / "params.yaml"
TEXT = [
    "The President asked Congress to pass the new law.",
    "The people of the United States have won their independence.",
    "It was a cold night and the street was empty.",
    "The city is the capital of France .",
    "Congress will pass the law and the people will vote.",
] * 3
PROMPTS = ["The President asked Congress to ___ the new law.", "It was a cold night and the ___ was empty."]


@pytest.fixture(scope="module")
def bert():
    tok = train_wordpiece(TEXT, vocab_size=300, min_frequency=1)
    torch.manual_seed(0)
    cfg = ModelConfig(
        vocab_size=tok.get_vocab_size(), n_layer=1, n_head=2, d_model=32, d_ff=64, max_seq_len=64, dropout=0.0,
        type_vocab_size=2, causal=False, pad_token_id=tok.token_to_id(BERT_PAD),
    )
    return BertForPreTraining(cfg).eval(), tok, cfg


@pytest.fixture(scope="module")
def gpt():
    tok = train_byte_level_bpe(TEXT, vocab_size=300, min_frequency=1)
    torch.manual_seed(1)
    cfg = ModelConfig(
        vocab_size=tok.get_vocab_size(), n_layer=1, n_head=2, d_model=32, d_ff=64, max_seq_len=64, dropout=0.0,
        type_vocab_size=0, causal=True, pad_token_id=tok.token_to_id(GPT_PAD),
    )
    return GPTForPreTraining(cfg).eval(), tok, cfg


# --- fill_in_blank ----------------------------------------------------------------------------


def test_fill_in_blank_returns_top_k_sorted_probabilities(bert):
    model, tok, _ = bert
    out = fill_in_blank(model, tok, PROMPTS, top_k=5)
    assert [o["prompt"] for o in out] == PROMPTS
    vocab = tok.get_vocab()
    for o in out:
        preds = o["predictions"]
        assert len(preds) == 5
        assert all(t in vocab for t, _ in preds)
        assert len({t for t, _ in preds}) == 5
        probs = [p for _, p in preds]
        assert all(0.0 <= p <= 1.0 for p in probs)
        assert probs == sorted(probs, reverse=True)
        assert sum(probs) <= 1.0 + 5 * 0.0005  # each rounded to 3 decimals


def test_fill_in_blank_top_k_controls_the_count(bert):
    model, tok, _ = bert
    assert [len(o["predictions"]) for o in fill_in_blank(model, tok, PROMPTS, top_k=3)] == [3, 3]
    assert len(fill_in_blank(model, tok, PROMPTS[:1], top_k=1)[0]["predictions"]) == 1


def test_fill_in_blank_predicts_at_the_mask_position(bert):
    """Check each returned probability against the model's own MLM loss at the [MASK] position."""
    model, tok, _ = bert
    prompt = PROMPTS[0]
    left, right = prompt.split("___")
    enc = tok.encode(f"{left}{BERT_MASK}{right}")
    mask_id = tok.token_to_id(BERT_MASK)
    assert enc.ids.count(mask_id) == 1
    pos = enc.ids.index(mask_id)
    ids = torch.tensor([enc.ids])
    (res,) = fill_in_blank(model, tok, [prompt], top_k=5)
    for token, p in res["predictions"]:
        label = tok.token_to_id(token)
        with torch.no_grad():
            out = model(
                input_ids=ids,
                token_type_ids=torch.tensor([enc.type_ids]),
                attention_mask=torch.ones_like(ids),
                masked_positions=torch.tensor([[pos]]),
                masked_labels=torch.tensor([[label]]),
            )
        # cross-entropy of one label = -log p(label)
        assert p == pytest.approx(math.exp(-float(out["mlm_loss"])), abs=6e-4)
    top_label = tok.token_to_id(res["predictions"][0][0])
    with torch.no_grad():
        out = model(
            input_ids=ids, token_type_ids=torch.tensor([enc.type_ids]), attention_mask=torch.ones_like(ids),
            masked_positions=torch.tensor([[pos]]), masked_labels=torch.tensor([[top_label]]),
        )
    assert int(out["mlm_correct"]) == 1  # the first prediction is the model's argmax there


@pytest.mark.parametrize("bad", ["no blank here.", "two ___ blanks ___ here."])
def test_fill_in_blank_needs_exactly_one_blank(bert, bad):
    model, tok, _ = bert
    with pytest.raises(ValueError, match=r"evaluate\.prompts"):
        fill_in_blank(model, tok, [PROMPTS[0], bad])


# --- continue_text ----------------------------------------------------------------------------


def greedy(model, ids: list[int], n: int, eot: int) -> list[int]:
    """Independent greedy decoding through the model's forward pass."""
    ids = list(ids)
    new: list[int] = []
    for _ in range(n):
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([ids[-model.config.max_seq_len :]]))["logits"]
        nxt = int(logits[0, -1].argmax())
        if nxt == eot:
            break
        ids.append(nxt)
        new.append(nxt)
    return new


@pytest.mark.parametrize("max_new", [1, 4])
def test_continue_text_greedy_continuation_of_the_text_before_the_blank(gpt, max_new):
    model, tok, _ = gpt
    out = continue_text(model, tok, PROMPTS, max_new_tokens=max_new)
    eot = tok.token_to_id(GPT_EOT)
    assert len(out) == len(PROMPTS)
    for prompt, o in zip(PROMPTS, out):
        before = prompt.split("___")[0].rstrip()
        assert o["prompt"] == before == prompt[: prompt.index("___")].rstrip()
        expected = greedy(model, tok.encode(before, add_special_tokens=False).ids, max_new, eot)
        assert 0 < len(expected) <= max_new
        assert o["continuation"] == tok.decode(expected)


def test_continue_text_zero_new_tokens_gives_empty_continuation(gpt):
    model, tok, _ = gpt
    assert [o["continuation"] for o in continue_text(model, tok, PROMPTS, max_new_tokens=0)] == ["", ""]


class StubGPT:
    """Returns the prompt plus fixed ids, recording how generate() was called."""

    def __init__(self, new_ids: list[int]) -> None:
        self.new_ids = new_ids
        self.calls: list[dict] = []
        self.config = SimpleNamespace(max_seq_len=64)

    def eval(self):
        return self

    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None, eos_token_id=None):
        self.calls.append({"prompt": idx[0].tolist(), "max_new_tokens": max_new_tokens, "temperature": temperature, "eos": eos_token_id})
        new = torch.tensor([self.new_ids[:max_new_tokens]], dtype=torch.long)
        return torch.cat([idx, new], dim=1)


def test_continue_text_drops_end_of_text_and_decodes_greedily(gpt):
    _, tok, _ = gpt
    eot = tok.token_to_id(GPT_EOT)
    words = tok.encode(" the law", add_special_tokens=False).ids
    stub = StubGPT([*words, eot, eot, eot])
    (o,) = continue_text(stub, tok, ["Congress will pass ___ today."], max_new_tokens=7)
    assert o == {"prompt": "Congress will pass", "continuation": " the law"}
    (call,) = stub.calls
    assert call["max_new_tokens"] == 7 and call["temperature"] <= 0 and call["eos"] == eot
    assert call["prompt"] == tok.encode("Congress will pass", add_special_tokens=False).ids


@pytest.mark.parametrize("bad", ["no blank", "___ and ___"])
def test_continue_text_needs_exactly_one_blank(gpt, bad):
    model, tok, _ = gpt
    with pytest.raises(ValueError, match=r"evaluate\.prompts"):
        continue_text(model, tok, [bad], max_new_tokens=2)


# --- qualitative_samples ----------------------------------------------------------------------


def test_qualitative_samples_dispatches_on_the_saved_architecture(tmp_path, bert, gpt):
    params = load_params(PARAMS_YAML, ["evaluate.max_new_tokens=2"])
    prompts = list(params.evaluate.prompts)
    assert prompts and all(p.count("___") == 1 for p in prompts)
    for arch, (model, tok, cfg) in {"bert": bert, "gpt": gpt}.items():
        save_pretrained(model, cfg, tmp_path / arch / "model")
        tok.save(str(tmp_path / arch / "tokenizer.json"))
    b = qualitative_samples(tmp_path / "bert" / "model", tmp_path / "bert", params)
    g = qualitative_samples(tmp_path / "gpt" / "model", tmp_path / "gpt", params)
    assert [o["prompt"] for o in b] == prompts
    assert all(len(o["predictions"]) == 5 and "continuation" not in o for o in b)
    assert b == fill_in_blank(bert[0], bert[1], prompts)
    assert [o["prompt"] for o in g] == [p.split("___")[0].rstrip() for p in prompts]
    assert all("predictions" not in o for o in g)
    assert g == continue_text(gpt[0], gpt[1], prompts, max_new_tokens=2)


def test_fill_in_blank_with_a_lowercasing_tokenizer_still_finds_the_mask():
    tok = train_wordpiece(TEXT, vocab_size=300, min_frequency=1, lowercase=True)
    torch.manual_seed(2)
    cfg = ModelConfig(
        vocab_size=tok.get_vocab_size(), n_layer=1, n_head=2, d_model=32, d_ff=64, max_seq_len=64, dropout=0.0,
        type_vocab_size=2, causal=False,
    )
    (res,) = fill_in_blank(BertForPreTraining(cfg), tok, ["THE PRESIDENT ASKED ___ TO PASS THE LAW."], top_k=2)
    assert len(res["predictions"]) == 2
    words = [t for t, _ in res["predictions"] if not (t.startswith("[") and t.endswith("]"))]
    assert all(t == t.lower() for t in words)  # a lowercased vocabulary (special tokens aside)
