"""Qualitative outputs for fixed prompts: BERT fills in a blank, GPT continues the text before it.

Each prompt holds one ``___``. BERT sees the whole sentence with ``[MASK]`` at the blank and
returns its top-k tokens there; GPT sees only the text before the blank (it cannot look right)
and continues it greedily, so the two answers come from the same sentence.
"""

from __future__ import annotations

from typing import Any

import torch
from tokenizers import Tokenizer

from ..config import Params
from ..models import load_pretrained
from ..tokenization.special import BERT_MASK, GPT_EOT
from ..tokenization.train import load_tokenizer

BLANK = "___"


def _split(prompt: str) -> tuple[str, str]:
    if prompt.count(BLANK) != 1:
        raise ValueError(f"evaluate.prompts: '{prompt}' must contain exactly one {BLANK}")
    left, right = prompt.split(BLANK)
    return left, right


@torch.no_grad()
def fill_in_blank(model, tokenizer: Tokenizer, prompts: list[str], top_k: int = 5) -> list[dict[str, Any]]:
    """BERT's ``top_k`` tokens (with probabilities) at each prompt's blank, the whole sentence in view."""
    model.eval()
    mask_id = tokenizer.token_to_id(BERT_MASK)

    def fill(prompt: str) -> dict[str, Any]:
        left, right = _split(prompt)
        enc = tokenizer.encode(f"{left}{BERT_MASK}{right}")
        ids = torch.tensor([enc.ids])
        pos = enc.ids.index(mask_id)
        hidden = model.bert(ids, torch.tensor([enc.type_ids]), torch.ones_like(ids))
        top = torch.topk(model.cls_mlm(hidden[0, pos]).float().softmax(-1), top_k)
        return {"prompt": prompt, "predictions": [(tokenizer.id_to_token(int(i)), round(float(p), 3)) for p, i in zip(top.values, top.indices)]}

    return [fill(prompt) for prompt in prompts]


@torch.no_grad()
def continue_text(model, tokenizer: Tokenizer, prompts: list[str], max_new_tokens: int = 20) -> list[dict[str, Any]]:
    """GPT's greedy continuation of the text before each prompt's blank (end-of-text dropped)."""
    model.eval()
    eot = tokenizer.token_to_id(GPT_EOT)

    def continue_one(prompt: str) -> dict[str, Any]:
        left = _split(prompt)[0].rstrip()
        ids = tokenizer.encode(left, add_special_tokens=False).ids
        gen = model.generate(torch.tensor([ids]), max_new_tokens, temperature=0.0, eos_token_id=eot)
        return {"prompt": left, "continuation": tokenizer.decode([i for i in gen[0, len(ids) :].tolist() if i != eot])}

    return [continue_one(prompt) for prompt in prompts]


def qualitative_samples(model_dir, tokenizer_dir, params: Params) -> list[dict[str, Any]]:
    """The fixed prompts of ``evaluate.prompts`` run through a pre-trained model (BERT or GPT)."""
    model, cfg = load_pretrained(model_dir)
    tokenizer = load_tokenizer(tokenizer_dir)
    prompts = list(params.evaluate.prompts)
    if cfg.causal:
        return continue_text(model, tokenizer, prompts, params.evaluate.max_new_tokens)
    return fill_in_blank(model, tokenizer, prompts)
