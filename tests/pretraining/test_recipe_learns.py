"""The default recipe learns: a tiny BERT and a tiny GPT at params.yaml's recipe leave the unigram floor.

The recipe under test is what params.yaml sets for the default run — each objective's block
(``model.norm.bert`` / ``model.norm.gpt``), pre-training dropout, peak learning rate, warm-up and
BERT's masking rate — at a tiny width, on a synthetic corpus with local structure (a sparse Markov
chain: each token has two likely successors). A context-free predictor cannot beat the targets'
unigram entropy; a model that uses its context must, within a few hundred steps. A recipe
regression (a block or a learning rate that leaves an objective on the plateau) fails it.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from bertvsgpt.config import load_params
from bertvsgpt.evaluation.floors import unigram_counts, unigram_floors
from bertvsgpt.models import ModelConfig
from bertvsgpt.optim import adamw_with_schedule
from bertvsgpt.pretraining.datasets import BertPretrainingDataset, GPTPackedDataset
from bertvsgpt.pretraining.module import build_pretraining_model
from bertvsgpt.tokenization.token_store import TokenStore, write_token_store

PARAMS = load_params(Path(__file__).resolve().parents[2] / "params.yaml")
N_WORDS, SPECIAL = 48, 4  # ids 0-3: [PAD] [CLS] [SEP] [MASK] (GPT: 0 is <|endoftext|>)
STEPS, BATCH, SEQ = 250, 16, 32


def markov_corpus(n_docs: int = 120, seed: int = 0) -> list[list[list[int]]]:
    """Documents of sentences drawn from a chain where each word is followed by one of two words 90 % of the time."""
    rng = np.random.default_rng(seed)
    successors = rng.integers(0, N_WORDS, size=(N_WORDS, 2))
    docs = []
    for _ in range(n_docs):
        sentences = []
        for _ in range(6):
            w, sentence = int(rng.integers(N_WORDS)), []
            for _ in range(int(rng.integers(8, 16))):
                sentence.append(SPECIAL + w)
                w = int(successors[w, rng.integers(2)]) if rng.random() < 0.9 else int(rng.integers(N_WORDS))
            sentences.append(sentence)
        docs.append(sentences)
    return docs


def tiny_config(arch: str) -> ModelConfig:
    m = PARAMS.model
    return ModelConfig(
        vocab_size=SPECIAL + N_WORDS, n_layer=2, n_head=2, d_model=64, d_ff=256, max_seq_len=SEQ,
        dropout=m.dropout, norm=getattr(m.norm, arch), type_vocab_size=2 if arch == "bert" else 0,
        causal=arch == "gpt", pad_token_id=0,
    )


def dataset(arch: str, store: TokenStore):
    if arch == "gpt":
        return GPTPackedDataset(store, SEQ, eos_id=0, drop_last=True)
    b = PARAMS.pretrain.bert
    return BertPretrainingDataset(
        store, cls_id=1, sep_id=2, mask_id=3, pad_id=0, vocab_size=SPECIAL + N_WORDS, max_seq_length=SEQ,
        short_seq_prob=b.short_seq_prob, masked_lm_prob=b.masked_lm_prob,
        max_predictions_per_seq=max(1, math.ceil(SEQ * b.masked_lm_prob)), special_ids={0, 1, 2, 3}, seed=0,
    )


def targets_of(arch: str, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    t = batch["masked_labels"] if arch == "bert" else batch["targets"]
    return t[t != -100]


@pytest.mark.parametrize("arch", ["bert", "gpt"])
def test_the_default_recipe_leaves_the_unigram_floor(arch, tmp_path):
    torch.manual_seed(0)
    write_token_store(tmp_path / "store", markov_corpus(), SPECIAL + N_WORDS)
    store = TokenStore(tmp_path / "store")
    data = dataset(arch, store)
    model = build_pretraining_model(arch, tiny_config(arch)).train()
    p = PARAMS.pretrain
    optimizer, scheduler = _optimizer(model, p.lr, p.weight_decay, int(p.warmup_fraction * STEPS), STEPS)
    batches = itertools.chain.from_iterable(
        DataLoader(data, batch_size=BATCH, shuffle=True, drop_last=True, generator=torch.Generator().manual_seed(e))
        for e in itertools.count()
    )
    losses, seen = [], []
    for _, batch in zip(range(STEPS), batches):
        out = _forward(arch, model, batch)
        optimizer.zero_grad()
        out["loss"].backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), p.grad_clip)
        optimizer.step()
        scheduler.step()
        key = "mlm_loss" if arch == "bert" else "loss"
        losses.append(float(out[key].detach()))
        seen.append(targets_of(arch, batch))
    last = np.mean(losses[-50:])
    floor = unigram_floors(unigram_counts(store.ids, SPECIAL + N_WORDS), torch.cat(seen[-50:]).numpy(), range(SPECIAL))
    # the targets' own unigram entropy is ~ln 48 = 3.9 nats; the chain's conditional entropy is ~1 nat
    assert last < 0.9 * floor["unigram_entropy"], (arch, last, floor["unigram_entropy"], losses[::25])


def _optimizer(model, lr, weight_decay, warmup, total):
    configured = adamw_with_schedule(model, lr, weight_decay, warmup, total)
    optimizer = configured["optimizer"]
    return optimizer, configured["lr_scheduler"]["scheduler"]


def _forward(arch: str, model, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    if arch == "bert":
        return model(
            input_ids=batch["input_ids"], token_type_ids=batch["token_type_ids"], attention_mask=batch["attention_mask"],
            masked_positions=batch["masked_positions"], masked_labels=batch["masked_labels"],
            nsp_labels=batch["nsp_label"] if PARAMS.pretrain.bert.nsp else None,
        )
    return model(input_ids=batch["input_ids"], targets=batch["targets"])
