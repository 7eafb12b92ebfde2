"""Intrinsic metrics of the pre-trained models on held-out corpus text.

BERT: masked-LM accuracy, perplexity of the masked tokens, NSP accuracy, on instances built from
the held-out documents exactly as in pre-training (fixed seed, so every run masks the same tokens).
GPT: next-token perplexity and accuracy on packed held-out windows.
The two perplexities measure different tasks (filling a blank with both sides visible vs predicting
the next token) and are reported side by side, not ranked.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, Subset

from ..config import Params
from ..models import load_pretrained
from ..pretraining.run import build_dataset
from ..pretraining.token_store import TokenStore
from ..tokenization.train import load_tokenizer


@torch.no_grad()
def intrinsic_metrics(model_dir: Path, tokenizer_dir: Path, params: Params, seed: int = 0) -> dict[str, Any]:
    model, cfg = load_pretrained(model_dir)
    arch = "gpt" if cfg.causal else "bert"
    tokenizer = load_tokenizer(tokenizer_dir)
    store = TokenStore(Path(tokenizer_dir) / "heldout")
    if store.n_tokens == 0:
        raise ValueError(f"{tokenizer_dir}/heldout: no held-out tokens to evaluate on")
    dataset = build_dataset(arch, store, tokenizer, params, seed)
    n = min(len(dataset), max(1, params.evaluate.max_heldout_tokens // params.pretrain.seq_len))
    loader = DataLoader(Subset(dataset, range(n)), batch_size=params.evaluate.batch_size, shuffle=False)
    model.eval()
    if arch == "bert":
        return _bert(model, loader, nsp=params.pretrain.bert.nsp)
    return _gpt(model, loader)


def _bert(model, loader, nsp: bool) -> dict[str, Any]:
    loss_sum = correct = count = nsp_correct = nsp_count = 0.0
    for batch in loader:
        out = model(
            input_ids=batch["input_ids"],
            token_type_ids=batch["token_type_ids"],
            attention_mask=batch["attention_mask"],
            masked_positions=batch["masked_positions"],
            masked_labels=batch["masked_labels"],
            nsp_labels=batch["nsp_label"] if nsp else None,
        )
        k = float(out["mlm_count"])
        loss_sum += float(out["mlm_loss"]) * k
        correct += float(out["mlm_correct"])
        count += k
        if nsp:
            nsp_correct += float(out["nsp_correct"])
            nsp_count += float(out["nsp_count"])
    res = {
        "mlm_accuracy": correct / max(count, 1),
        "mlm_perplexity": math.exp(min(loss_sum / max(count, 1), 50)),
        "masked_tokens": int(count),
    }
    if nsp:
        res["nsp_accuracy"] = nsp_correct / max(nsp_count, 1)
    return res


def _gpt(model, loader) -> dict[str, Any]:
    loss_sum = correct = count = 0.0
    for batch in loader:
        logits = model(input_ids=batch["input_ids"])["logits"]
        targets = batch["targets"]
        valid = targets != -100
        loss = torch.nn.functional.cross_entropy(
            logits.flatten(0, 1), targets.flatten(), ignore_index=-100, reduction="sum"
        )
        loss_sum += float(loss)
        correct += float(((logits.argmax(-1) == targets) & valid).sum())
        count += float(valid.sum())
    return {
        "perplexity": math.exp(min(loss_sum / max(count, 1), 50)),
        "next_token_accuracy": correct / max(count, 1),
        "predicted_tokens": int(count),
    }
