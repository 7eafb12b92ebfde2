"""Run one pre-training job: build the data, the module and the Trainer; resume; export weights.

Resumable: Lightning checkpoints go to ``resume_dir`` (a DVC ``persist`` output), tagged with a
fingerprint of everything that defines the run; a re-run with the same fingerprint continues from
``last.ckpt``, a run with different params starts afresh. Budget checkpoints (weights at fractions
of the token budget) are written there too and copied into the final output at the end.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import polars as pl
import torch
from torch.utils.data import DataLoader

from ..config import Params
from ..hardware import autocast_dtype, resolve_precision
from ..io import atomic_path, write_json
from ..resume import fingerprint_of, prepare_resume_dir, source_fingerprint
from ..models import save_pretrained
from ..tokenization.special import BERT_PAD, GPT_PAD
from ..tokenization.train import load_tokenizer
from ..sampler import EpochSampler
from .datasets import BertBatch, build_dataset
from .bert_instances import num_predictions
from .flops import flops_per_token, measure_matmul_peak_flops, output_projection_params
from .scratch import model_config
from ..tokenization.token_store import TokenStore

log = logging.getLogger(__name__)


# The library code a pre-training result depends on (the model, the objective's data and loop, the optimiser).
SOURCES = ("models", "pretraining", "tokenization", "optim.py", "sampler.py")


def fingerprint(arch: str, params: Params, tokenizer_stats: dict[str, Any], source: str = "", seed: int | None = None) -> str:
    """What a pre-training run's weights depend on: its seed (``seed``, default the top-level one), its
    parameters, the tokenizer and encoded corpus (``tokenizer_stats``: sizes and content hashes) and the
    library code (``source``); not which other seeds ``pretrain.seeds`` lists."""
    return fingerprint_of(
        {
            "arch": arch,
            "seed": params.seed if seed is None else seed,
            "model": params.model,
            # this architecture's compile switch only: the other's does not touch these weights
            "pretrain": {k: v for k, v in params.pretrain.__dict__.items() if k not in ("bert", "seeds", "compile")},
            "compile": getattr(params.pretrain.compile, arch),
            "bert": params.pretrain.bert,
            "tokenizer": tokenizer_stats,
            "source": source,
        }
    )


def tokenizer_fingerprint(tokenizer_dir: Path, vocab_size: int, n_tokens: int) -> dict[str, Any]:
    """Sizes and content hashes of the tokenizer and its encoded training corpus (ids, sentence and
    document boundaries): paths, which ``fingerprint_of`` replaces by their files' SHA-256."""
    tokenizer_dir = Path(tokenizer_dir)
    files = [tokenizer_dir / "tokenizer.json", *sorted((tokenizer_dir / "train").iterdir())]
    return {"vocab_size": vocab_size, "n_tokens": n_tokens, **{f.relative_to(tokenizer_dir).as_posix(): f for f in files}}


def pretrain(
    arch: str,
    params: Params,
    tokenizer_dir: Path,
    out_dir: Path,
    resume_dir: Path,
    logger: Any = None,
    enable_progress_bar: bool = True,
    seed: int | None = None,
) -> dict[str, Any]:
    """Pre-train ``arch`` to the token budget; write ``out_dir`` (final + budget weights); return a summary.

    ``seed`` (default: the top-level ``seed``) seeds the initialisation, BERT's instances and masking and
    the data order: one run of ``pretrain.seeds``."""
    import lightning as L  # Lightning (and torchmetrics, which it loads) only to train: several seconds
    from lightning.pytorch.callbacks import ModelCheckpoint

    from .callbacks import BudgetCheckpoints, ComputeAccounting, DynamicMasking, ResumeState
    from .module import PretrainModule, steps_for_budget

    p = params.pretrain
    tokenizer_dir, out_dir, resume_dir = Path(tokenizer_dir), Path(out_dir), Path(resume_dir)
    tokenizer = load_tokenizer(tokenizer_dir)
    store = TokenStore(tokenizer_dir / "train")
    if store.n_tokens == 0:
        raise ValueError(f"{tokenizer_dir / 'train'}: the encoded pre-training corpus is empty")
    seed = params.seed if seed is None else seed
    L.seed_everything(seed, workers=True)
    pad_id = tokenizer.token_to_id(BERT_PAD if arch == "bert" else GPT_PAD)
    cfg = model_config(arch, params, tokenizer.get_vocab_size(), pad_id).validate()
    dataset = build_dataset(arch, store, tokenizer, params, seed)

    precision = resolve_precision(p.precision)
    trainer_kwargs: dict[str, Any] = dict(
        accelerator=p.accelerator, devices=p.devices, strategy=p.strategy, num_nodes=p.num_nodes
    )
    probe = L.Trainer(**trainer_kwargs, logger=False, enable_checkpointing=False, enable_progress_bar=False)
    world_size = probe.world_size
    total_steps = steps_for_budget(p.max_tokens, p.batch_size, p.seq_len, world_size)
    warmup = int(p.warmup_fraction * total_steps)
    module = PretrainModule(arch, cfg.to_dict(), p.lr, p.weight_decay, warmup, total_steps)
    n_params = module.model.num_parameters(non_embedding=True)
    masked = num_predictions(p.seq_len, p.bert.masked_lm_prob, p.bert.max_predictions_per_seq)
    head = output_projection_params(arch, cfg.vocab_size, cfg.d_model, p.seq_len, masked)
    fpt = flops_per_token(n_params + head, cfg.n_layer, cfg.d_model, p.seq_len)
    device = "cuda" if torch.cuda.is_available() and p.accelerator in ("auto", "gpu", "cuda") else "cpu"
    peak = measure_matmul_peak_flops(autocast_dtype(precision), device)
    if getattr(p.compile, arch):
        module.model.compile()  # in place: the state dict keeps its keys, checkpoints load either way

    stats = tokenizer_fingerprint(tokenizer_dir, tokenizer.get_vocab_size(), store.n_tokens)
    fp = fingerprint(arch, params, stats, source_fingerprint(*SOURCES), seed)
    ckpt_path = prepare_resume_dir(resume_dir, fp)
    accounting = ComputeAccounting(p.batch_size * p.seq_len * world_size, fpt, peak)
    callbacks = [
        accounting,
        DynamicMasking(dataset),
        BudgetCheckpoints(resume_dir / "budget", p.checkpoint_fractions, total_steps),
        ModelCheckpoint(dirpath=resume_dir, save_last=True, save_top_k=0, every_n_train_steps=max(1, total_steps // 10)),
    ]
    trainer = L.Trainer(
        **trainer_kwargs,
        precision=precision,
        max_steps=total_steps,
        max_epochs=-1,
        gradient_clip_val=p.grad_clip,
        log_every_n_steps=p.log_every_n_steps,
        callbacks=callbacks,
        logger=logger if logger is not None else False,
        enable_progress_bar=enable_progress_bar,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        limit_val_batches=0,
        deterministic=True,
        default_root_dir=str(resume_dir),
    )
    collate = BertBatch(p.bert.nsp) if arch == "bert" else None
    # epoch e's order is randperm(n, seed + e) in one process, as in Lightning's DistributedSampler under DDP
    sampler = None if world_size > 1 else EpochSampler(len(dataset), seed=seed)
    order = dict(shuffle=True) if sampler is None else dict(sampler=sampler)
    loader = DataLoader(
        dataset,
        batch_size=p.batch_size,
        drop_last=True,
        num_workers=p.num_workers,
        collate_fn=collate,
        generator=torch.Generator().manual_seed(seed),
        **order,
    )
    trainer.callbacks.insert(0, ResumeState(dataset, sampler, p.batch_size, max(1, len(loader))))
    if len(loader) == 0:
        raise ValueError(
            f"pretrain.batch_size={p.batch_size} is larger than the {len(dataset)} training sequences of the corpus"
        )
    trainer.fit(module, train_dataloaders=loader, ckpt_path=str(ckpt_path) if ckpt_path else None, weights_only=True)

    summary = {
        "arch": arch,
        "seed": seed,
        "parameters": module.model.num_parameters(non_embedding=False),
        "parameters_non_embedding": n_params,
        "precision": precision,
        "world_size": world_size,
        "train_sequences": len(dataset),
        "epochs": round(trainer.global_step * p.batch_size * world_size / len(dataset), 3),
        "final_train_loss": accounting.curve[-1]["loss"] if accounting.curve else None,
        **accounting.summary(trainer.global_step, world_size),
    }
    if trainer.is_global_zero:
        with atomic_path(out_dir) as tmp:
            save_pretrained(module.model, cfg, tmp)
            shutil.copy2(Path(tokenizer_dir) / "tokenizer.json", tmp / "tokenizer.json")
            budget = resume_dir / "budget"
            if budget.exists():
                shutil.copytree(budget, tmp / "checkpoints")
            write_json(tmp / "summary.json", summary)
            pl.DataFrame(accounting.curve).write_csv(tmp / "curve.csv")
    return summary
