"""Intrinsic metrics of the pre-trained models on held-out corpus text.

BERT: masked-LM accuracy, perplexity of the masked tokens, NSP accuracy, on instances built from
the held-out documents exactly as in pre-training (fixed seed, so every run masks the same tokens).
GPT: next-token perplexity and accuracy on packed held-out windows.
Each comes with its unigram floors on the same target positions (:mod:`.floors`): the accuracy of
always predicting the most frequent training token, the unigram perplexity, and the targets'
unigram entropy, with the model's ratios to them.
The two perplexities measure different tasks (filling a blank with both sides visible vs predicting
the next token) and are reported side by side, not ranked.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, Subset

from ..config import Params
from ..models import load_pretrained
from ..models.config import IGNORE_INDEX
from ..pretraining.datasets import build_dataset
from ..pretraining.runs import pretraining_runs
from ..tokenization.token_store import TokenStore
from ..tokenization.train import load_tokenizer
from .floors import unigram_counts, unigram_floors


@torch.no_grad()
def intrinsic_metrics(model_dir: Path, tokenizer_dir: Path, params: Params, seed: int = 0) -> dict[str, Any]:
    model, cfg = load_pretrained(model_dir)
    arch = "gpt" if cfg.causal else "bert"
    tokenizer = load_tokenizer(tokenizer_dir)
    store = TokenStore(Path(tokenizer_dir) / "heldout")
    if store.n_tokens == 0:
        raise ValueError(f"{tokenizer_dir}/heldout: no held-out tokens to evaluate on")
    dataset = build_dataset(arch, store, tokenizer, at_evaluation_masking(params), seed)
    n = min(len(dataset), max(1, params.evaluate.max_heldout_tokens // params.pretrain.seq_len))
    loader = DataLoader(Subset(dataset, range(n)), batch_size=params.evaluate.batch_size, shuffle=False)
    model.eval()
    targets: list[torch.Tensor] = []
    res = _bert(model, loader, params.pretrain.bert.nsp, targets) if arch == "bert" else _gpt(model, loader, targets)
    train = TokenStore(Path(tokenizer_dir) / "train")
    special = [i for t, i in tokenizer.get_vocab().items() if t in _special_tokens(tokenizer)]
    floors = unigram_floors(unigram_counts(train.ids, cfg.vocab_size), torch.cat(targets).numpy(), special)
    accuracy = res["mlm_accuracy" if arch == "bert" else "next_token_accuracy"]
    return {
        **res,
        **floors,
        "accuracy_over_unigram": accuracy / max(floors["unigram_accuracy"], 1e-12),
        "cross_entropy_over_unigram_entropy": res["cross_entropy"] / floors["unigram_entropy"],
    }


def intrinsic_over_runs(model_dir: Path, tokenizer_dir: Path, params: Params, seed: int = 0) -> dict[str, Any]:
    """:func:`intrinsic_metrics` of every pre-training run in ``model_dir`` (``pretrain.seeds``), on the same
    held-out positions: each number the mean over the runs (the floors are the same for all), and ``runs``,
    each run's own metrics with its ``pretrain_seed``. A single run's metrics come back as they are."""
    runs = pretraining_runs(model_dir)
    each = [intrinsic_metrics(r.path, tokenizer_dir, params, seed=seed) for r in runs]
    if len(each) == 1:
        return each[0]
    mean: dict[str, Any] = {}
    for key, value in each[0].items():
        values = [e[key] for e in each]
        if isinstance(value, float):
            mean[key] = sum(values) / len(values)
        else:  # token counts: the same positions for every run
            mean[key] = value
    mean["runs"] = [{"pretrain_seed": r.seed, **e} for r, e in zip(runs, each)]
    return mean


def at_evaluation_masking(params: Params) -> Params:
    """``params`` with BERT's masking at ``evaluate.masked_lm_prob`` / ``max_predictions_per_seq``
    (the paper's 15 % / 20 by default), so held-out MLM accuracy is comparable across pre-training
    masking rates (a 40 % rate leaves less context and scores lower on the same model)."""
    e, p = params.evaluate, params.pretrain
    bert = dataclasses.replace(p.bert, masked_lm_prob=e.masked_lm_prob, max_predictions_per_seq=e.max_predictions_per_seq)
    return dataclasses.replace(params, pretrain=dataclasses.replace(p, bert=bert))


def _special_tokens(tokenizer) -> set[str]:
    return {t.content for t in tokenizer.get_added_tokens_decoder().values() if t.special}


def _bert(model, loader, nsp: bool, targets: list[torch.Tensor]) -> dict[str, Any]:
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
        targets.append(batch["masked_labels"][batch["masked_labels"] != IGNORE_INDEX])
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
        "cross_entropy": loss_sum / max(count, 1),
        "masked_tokens": int(count),
    }
    if nsp:
        res["nsp_accuracy"] = nsp_correct / max(nsp_count, 1)
    return res


def _gpt(model, loader, targets: list[torch.Tensor]) -> dict[str, Any]:
    loss_sum = correct = count = 0.0
    for batch in loader:
        logits = model(input_ids=batch["input_ids"])["logits"]
        valid = batch["targets"] != IGNORE_INDEX
        loss = torch.nn.functional.cross_entropy(
            logits.flatten(0, 1), batch["targets"].flatten(), ignore_index=IGNORE_INDEX, reduction="sum"
        )
        targets.append(batch["targets"][valid])
        loss_sum += float(loss)
        correct += float(((logits.argmax(-1) == batch["targets"]) & valid).sum())
        count += float(valid.sum())
    return {
        "perplexity": math.exp(min(loss_sum / max(count, 1), 50)),
        "cross_entropy": loss_sum / max(count, 1),
        "next_token_accuracy": correct / max(count, 1),
        "predicted_tokens": int(count),
    }
