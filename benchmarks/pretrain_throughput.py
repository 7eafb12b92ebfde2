"""Pre-training throughput: our BERT/GPT against the Hugging Face reference models.

Run from the repository root::

    python -m benchmarks.pretrain_throughput                      # params.yaml sizes
    python -m benchmarks.pretrain_throughput --steps 2 --layers 1 --d-model 64 --repeats 1  # smoke run
    python -m benchmarks.pretrain_throughput --profile            # plus where our steps' time goes
    make bench

What is compared
----------------
In one process, at one configuration (layers, hidden size, heads, feed-forward size, vocabulary,
sequence length, batch size, training dtype, tied input/output embeddings, dropout 0.1, GELU,
post-LayerNorm blocks), the script times full training steps -- forward, backward, gradient
clipping and an AdamW step, under ``torch.autocast`` when the dtype is bf16 -- of four models:

============  ====================================  =============================================
name          model                                 objective on the same random batches
============  ====================================  =============================================
ours_bert     ``bertvsgpt.models.BertForPreTraining``   MLM at ``num_predictions`` gathered slots
                                                    (15%, at most ``max_predictions_per_seq``,
                                                    padded to that many slots) + NSP
hf_bert       ``transformers.BertForPreTraining``   the same MLM targets as a ``(B, T)`` label
                                                    tensor (-100 elsewhere) + NSP
ours_gpt      ``bertvsgpt.models.GPTForPreTraining``    next-token LM at every position
hf_gpt        ``transformers.GPT2LMHeadModel``      the same, labels shifted inside the model
              (pre-LN GPT, the pipeline's default;
              ``OpenAIGPTLMHeadModel`` for post-LN)
============  ====================================  =============================================

Each of our models runs the block params.yaml gives it (``model.norm``: post-LN BERT, pre-LN GPT by
default), and each is timed against the transformers class that computes it (``src/bertvsgpt/hf``
exports it there; ``tests/hf`` proves the outputs equal): ``GPT2LMHeadModel`` (exact GELU) for a
pre-LN GPT, ``OpenAIGPTLMHeadModel`` for a post-LN one (which, unlike ours, has no LayerNorm on the
embeddings: the one difference in parameters). A pre-LN BERT has no such class; it is timed against
the post-LN ``BertForPreTraining``.

Tokens are counted as ``batch x seq_len`` for all four, so tokens/s ratios are step-time ratios.

Why the Hugging Face models differ in speed
-------------------------------------------
* HF BERT projects *every* position onto the vocabulary and runs cross-entropy over
  ``B x T x V`` logits, then ignores the ~85% of positions labelled -100. Ours gathers the
  ``max_predictions_per_seq`` masked slots first (as Google's reference implementation does), so
  the ``d_model x V`` decoder -- at the default size about as many FLOPs per position as the whole
  backbone -- runs on ~16% of the positions. This is the main difference this benchmark measures.
  HF BERT uses PyTorch SDPA like ours (``attn_implementation="sdpa"``); note that it drops an
  all-ones padding mask while ours builds a boolean ``(B, 1, T, T)`` mask from it (both get the
  all-ones ``attention_mask`` the pipeline passes).
* HF OpenAI GPT has no SDPA path in transformers 5.x (it raises for ``attn_implementation="sdpa"``),
  so it runs eager attention: materialised ``T x T`` score matrices, a multiplicative causal mask,
  a separate softmax and dropout. Its ``afn="gelu"`` is the tanh approximation written as seven
  element-wise ops (``gelu_new``) where ours uses the fused exact ``nn.GELU``. Both models
  compute the LM head at all positions.

Architecture differences that cannot be configured away (and are accounted for in the tests):
OpenAI GPT hard-codes the feed-forward size to ``4 * n_embd`` (so ``d_ff`` must equal
``4 * d_model`` here) and has no LayerNorm on the embeddings (ours has one on both models, for a
controlled BERT-vs-GPT comparison): our GPT has ``2 * d_model`` more parameters.

MFU (model-FLOPs utilisation) is ``flops_per_token(N, L, d, T) x tokens/s / peak`` with ``N`` the
model's non-embedding parameters plus the vocabulary projection the objective needs (every position
for GPT, the masked positions for BERT) -- the accounting the pipeline logs -- and ``peak`` the
measured dense-matmul throughput in the training dtype on this device. Both models of a family are
credited the same useful FLOPs, so HF BERT's full-vocabulary projection shows up as a lower MFU.

The bound printed under each family times the GEMMs alone of one training step at its shapes
(:func:`step_gemms`: three per linear layer, six per attention head, the output projection), back to
back. HF's step time over that floor is the largest our/HF ratio any implementation could reach here:
about 1.9x for GPT at the default size (2 layers, d 128) on a 2-core CPU, which our GPT reaches 1.4-1.6x
of only because its loss never builds the full-vocabulary logits (``bertvsgpt.models.loss``), and 1.3x at
4 layers, d 256, where the GEMMs are most of every step (README, *Measured*).

Every model is timed ``--repeats`` times (5 by default), the four models one after the other in
each run, so a busy spell of the machine hits all four alike; the table shows the median ms/step
and the range of the runs, and every ratio is one of medians. ``--profile`` adds, for our two
models, the operators a step spends its time in (``torch.profiler`` self time per step, CPU or
CUDA), which is what the element-wise, cast, dropout and log-softmax share of a small model's step
is read from.

``--bf16-weights`` stores all four models' parameters in bf16 and runs the steps without autocast, so no
weight or activation crosses between bf16 and fp32 (autocast casts every Linear's fp32 input and weight to bf16
and the residual stream stays fp32): the most that keeping casts out of the hot path could save. It times a
step, not a recipe (AdamW's small updates round away in bf16 weights).

The PASS/FAIL lines at the end (our MFU >= 50%, our/HF tokens/s >= 1.5) are informational: the
exit code is 0 either way.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import torch
from torch import nn

from bertvsgpt.config import load_params
from bertvsgpt.allocator import keep_freed_memory
from bertvsgpt.hardware import autocast_dtype, resolve_precision
from bertvsgpt.models import BertForPreTraining, GPTForPreTraining, ModelConfig
from bertvsgpt.pretraining.bert_instances import num_predictions
from bertvsgpt.pretraining.flops import flops_per_token, measure_matmul_peak_flops, output_projection_params
from bertvsgpt.optim import adamw_param_groups

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PARAMS = REPO_ROOT / "params.yaml"
DEFAULT_OUT = Path(".bench") / "pretrain_throughput.json"
IGNORE_INDEX = -100
MASK_ID = 4  # any in-vocabulary id: the throughput does not depend on which one
MODEL_NAMES = ("ours_bert", "hf_bert", "ours_gpt", "hf_gpt")
MFU_TARGET = 0.5
PROFILE_TOP = 12  # operators listed per model by --profile
RATIO_TARGET = 1.5

_DTYPE_ALIASES = {
    "fp32": "32-true", "float32": "32-true", "32": "32-true", "32-true": "32-true",
    "bf16": "bf16-mixed", "bfloat16": "bf16-mixed", "bf16-mixed": "bf16-mixed",
}  # fmt: skip


@dataclass
class BenchConfig:
    """One configuration shared by all four models."""

    n_layer: int
    d_model: int
    n_head: int
    d_ff: int
    vocab_size: int
    seq_len: int
    batch_size: int
    dropout: float
    masked_lm_prob: float
    max_predictions_per_seq: int
    lr: float
    weight_decay: float
    grad_clip: float
    seed: int
    norm_bert: str = "post"  # model.norm.bert
    norm_gpt: str = "post"  # model.norm.gpt: pre is timed against GPT2LMHeadModel, post against OpenAIGPT

    @property
    def num_predictions(self) -> int:
        """Real masked positions per sequence (the rest of the ``max_predictions_per_seq`` slots are
        padding; ``<= seq_len - 1`` for any ``seq_len >= 2``)."""
        return num_predictions(self.seq_len, self.masked_lm_prob, self.max_predictions_per_seq)

    def validate(self) -> "BenchConfig":
        if self.norm_gpt == "post" and self.d_ff != 4 * self.d_model:
            raise ValueError(
                f"d_ff={self.d_ff} must be 4 * d_model={4 * self.d_model}: transformers' OpenAIGPT hard-codes "
                "its feed-forward size to 4 * n_embd, so no other size can be compared"
            )
        if self.vocab_size <= MASK_ID + 1:
            raise ValueError(f"vocab_size={self.vocab_size} must be > {MASK_ID + 1} (ids 0..{MASK_ID} are special)")
        if self.seq_len < 2:
            raise ValueError(f"seq_len={self.seq_len} must be >= 2 (BERT needs [CLS] plus a maskable position)")
        return self


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------


def our_config(cfg: BenchConfig, arch: str) -> ModelConfig:
    """Our ModelConfig for ``arch`` ("bert" or "gpt"), as the pipeline builds it."""
    return ModelConfig(
        vocab_size=cfg.vocab_size,
        n_layer=cfg.n_layer,
        n_head=cfg.n_head,
        d_model=cfg.d_model,
        d_ff=cfg.d_ff,
        max_seq_len=cfg.seq_len,
        dropout=cfg.dropout,
        type_vocab_size=2 if arch == "bert" else 0,
        causal=arch == "gpt",
        norm=cfg.norm_bert if arch == "bert" else cfg.norm_gpt,
    ).validate()


def hf_bert(cfg: BenchConfig) -> nn.Module:
    """``transformers.BertForPreTraining`` at our size (exact GELU, post-LN, tied decoder, SDPA)."""
    from transformers import BertConfig, BertForPreTraining as HFBertForPreTraining

    kwargs: dict[str, Any] = dict(
        vocab_size=cfg.vocab_size,
        hidden_size=cfg.d_model,
        num_hidden_layers=cfg.n_layer,
        num_attention_heads=cfg.n_head,
        intermediate_size=cfg.d_ff,
        hidden_act="gelu",
        hidden_dropout_prob=cfg.dropout,
        attention_probs_dropout_prob=cfg.dropout,
        max_position_embeddings=cfg.seq_len,
        type_vocab_size=2,
        layer_norm_eps=1e-12,
        tie_word_embeddings=True,
    )
    try:
        return HFBertForPreTraining(BertConfig(**kwargs, attn_implementation="sdpa"))
    except (ValueError, ImportError):  # a transformers version without SDPA for BERT
        return HFBertForPreTraining(BertConfig(**kwargs, attn_implementation="eager"))


def hf_gpt_class(cfg: BenchConfig) -> str:
    """The transformers class our GPT is timed against."""
    return "GPT2LMHeadModel" if cfg.norm_gpt == "pre" else "OpenAIGPTLMHeadModel"


def hf_gpt(cfg: BenchConfig) -> nn.Module:
    """The transformers class that computes our GPT: ``GPT2LMHeadModel`` for pre-LN, else OpenAIGPT."""
    return hf_gpt2(cfg) if cfg.norm_gpt == "pre" else hf_openai_gpt(cfg)


def _gpt_kwargs(cfg: BenchConfig) -> dict[str, Any]:
    """What GPT2Config and OpenAIGPTConfig name alike: sizes, dropouts, LayerNorm epsilon, tied head."""
    return dict(
        vocab_size=cfg.vocab_size, n_embd=cfg.d_model, n_layer=cfg.n_layer, n_head=cfg.n_head, n_positions=cfg.seq_len,
        resid_pdrop=cfg.dropout, embd_pdrop=cfg.dropout, attn_pdrop=cfg.dropout, layer_norm_epsilon=1e-12,
        tie_word_embeddings=True,
    )


def hf_gpt2(cfg: BenchConfig) -> nn.Module:
    """``transformers.GPT2LMHeadModel`` at our size: pre-LN, final LayerNorm, exact GELU, SDPA, tied head."""
    from transformers import GPT2Config, GPT2LMHeadModel

    kwargs = dict(_gpt_kwargs(cfg), n_inner=cfg.d_ff, activation_function="gelu")
    try:
        return GPT2LMHeadModel(GPT2Config(**kwargs, attn_implementation="sdpa"))
    except (ValueError, ImportError):
        return GPT2LMHeadModel(GPT2Config(**kwargs, attn_implementation="eager"))


def hf_openai_gpt(cfg: BenchConfig) -> nn.Module:
    """``transformers.OpenAIGPTLMHeadModel`` at our size.

    Its inner size is always ``4 * n_embd`` (checked by :meth:`BenchConfig.validate`), its GELU is
    the tanh approximation and it only has eager attention (no SDPA) in transformers 5.x.
    """
    from transformers import OpenAIGPTConfig, OpenAIGPTLMHeadModel

    kwargs = dict(_gpt_kwargs(cfg), afn="gelu")
    try:
        model = OpenAIGPTLMHeadModel(OpenAIGPTConfig(**kwargs, attn_implementation="sdpa"))
    except (ValueError, ImportError):  # transformers 5.x: "does not support ... scaled_dot_product_attention"
        model = OpenAIGPTLMHeadModel(OpenAIGPTConfig(**kwargs, attn_implementation="eager"))
    # The class name matches no entry of transformers' loss mapping; this is the loss it falls
    # back to anyway, set explicitly to silence the "loss_type=None ... unrecognized" warning.
    model.loss_type = "ForCausalLM"
    return model


def build_model(name: str, cfg: BenchConfig) -> nn.Module:
    """Build one of :data:`MODEL_NAMES` (fp32 weights, train mode), seeded with ``cfg.seed``."""
    torch.manual_seed(cfg.seed)
    if name == "ours_bert":
        model = BertForPreTraining(our_config(cfg, "bert"))
    elif name == "ours_gpt":
        model = GPTForPreTraining(our_config(cfg, "gpt"))
    elif name == "hf_bert":
        model = hf_bert(cfg)
    elif name == "hf_gpt":
        model = hf_gpt(cfg)
    else:
        raise ValueError(f"unknown model {name!r} (known: {', '.join(MODEL_NAMES)})")
    return model.train()


def build_models(cfg: BenchConfig) -> dict[str, nn.Module]:
    return {name: build_model(name, cfg) for name in MODEL_NAMES}


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """``(total, non_embedding)`` over unique parameters (tied weights counted once).

    Non-embedding = everything outside ``nn.Embedding`` tables (token, position, segment), the
    ``N`` of Kaplan et al. -- the same definition as our models' ``num_parameters(True)``.
    """
    seen: set[int] = set()
    total = 0
    for p in model.parameters():
        if id(p) not in seen:
            seen.add(id(p))
            total += p.numel()
    embedding = 0
    for module in model.modules():
        if isinstance(module, nn.Embedding) and id(module.weight) in seen:
            embedding += module.weight.numel()
            seen.discard(id(module.weight))  # count a table once even if reachable twice
    return total, total - embedding


def attention_implementation(model: nn.Module) -> str:
    config = getattr(model, "config", None)
    return str(getattr(config, "_attn_implementation", None) or "sdpa (F.scaled_dot_product_attention)")


# --------------------------------------------------------------------------------------------
# Batches
# --------------------------------------------------------------------------------------------


def make_bert_batch(cfg: BenchConfig, g: torch.Generator) -> dict[str, torch.Tensor]:
    """Random MLM + NSP batch in both formats: gathered slots (ours) and a ``(B, T)`` label map (HF)."""
    B, T, P, n = cfg.batch_size, cfg.seq_len, cfg.max_predictions_per_seq, cfg.num_predictions
    tokens = torch.randint(MASK_ID + 1, cfg.vocab_size, (B, T), generator=g)  # no special ids
    token_type_ids = torch.zeros(B, T, dtype=torch.long)
    token_type_ids[:, T // 2 :] = 1
    # n distinct positions per row, never [CLS] at 0; sorted like the pipeline's instances.
    positions = (torch.rand(B, T - 1, generator=g).argsort(dim=1)[:, :n] + 1).sort(dim=1).values
    labels = tokens.gather(1, positions)
    input_ids = tokens.scatter(1, positions, MASK_ID)

    masked_positions = torch.zeros(B, P, dtype=torch.long)  # padding slots point at 0 ...
    masked_labels = torch.full((B, P), IGNORE_INDEX, dtype=torch.long)  # ... and are ignored
    masked_positions[:, :n] = positions
    masked_labels[:, :n] = labels
    hf_labels = torch.full((B, T), IGNORE_INDEX, dtype=torch.long).scatter(1, positions, labels)
    return {
        "input_ids": input_ids,
        "token_type_ids": token_type_ids,
        "attention_mask": torch.ones(B, T, dtype=torch.long),
        "masked_positions": masked_positions,
        "masked_labels": masked_labels,
        "nsp_labels": torch.randint(0, 2, (B,), generator=g),
        "hf_labels": hf_labels,
    }


def make_gpt_batch(cfg: BenchConfig, g: torch.Generator) -> dict[str, torch.Tensor]:
    """Random causal-LM batch; ``targets`` is ``input_ids`` shifted left (-100 at the end), which is
    exactly what HF computes internally from ``labels=input_ids``."""
    input_ids = torch.randint(0, cfg.vocab_size, (cfg.batch_size, cfg.seq_len), generator=g)
    targets = torch.full_like(input_ids, IGNORE_INDEX)
    targets[:, :-1] = input_ids[:, 1:]
    return {"input_ids": input_ids, "targets": targets}


def make_batches(cfg: BenchConfig, n: int, device: torch.device) -> dict[str, list[dict[str, torch.Tensor]]]:
    """``n`` seeded batches per family, already on ``device``; every model of a family sees the same ones."""
    g = torch.Generator().manual_seed(cfg.seed)
    out: dict[str, list[dict[str, torch.Tensor]]] = {"bert": [], "gpt": []}
    for _ in range(n):
        out["bert"].append({k: v.to(device) for k, v in make_bert_batch(cfg, g).items()})
        out["gpt"].append({k: v.to(device) for k, v in make_gpt_batch(cfg, g).items()})
    return out


def family(name: str) -> str:
    return name.split("_", 1)[1]


def loss_fn(name: str) -> Callable[[nn.Module, dict[str, torch.Tensor]], torch.Tensor]:
    """How each model is called on its family's batch; returns the scalar training loss."""
    if name == "ours_bert":
        return lambda m, b: m(
            input_ids=b["input_ids"], token_type_ids=b["token_type_ids"], attention_mask=b["attention_mask"],
            masked_positions=b["masked_positions"], masked_labels=b["masked_labels"], nsp_labels=b["nsp_labels"],
        )["loss"]  # fmt: skip
    if name == "hf_bert":
        return lambda m, b: m(
            input_ids=b["input_ids"], token_type_ids=b["token_type_ids"], attention_mask=b["attention_mask"],
            labels=b["hf_labels"], next_sentence_label=b["nsp_labels"],
        ).loss  # fmt: skip
    if name == "ours_gpt":
        return lambda m, b: m(input_ids=b["input_ids"], targets=b["targets"])["loss"]
    if name == "hf_gpt":
        return lambda m, b: m(input_ids=b["input_ids"], labels=b["input_ids"]).loss
    raise ValueError(f"unknown model {name!r}")


# --------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def make_step(
    name: str,
    model: nn.Module,
    cfg: BenchConfig,
    device: torch.device,
    amp_dtype: torch.dtype,
    compile_model: bool,
    low_precision_weights: bool = False,
) -> Callable[[dict[str, torch.Tensor]], torch.Tensor]:
    """One full training step of ``model`` on a batch -- forward (autocast in bf16), backward, gradient
    clipping, AdamW -- as the pipeline's training step does it; returns the detached loss.

    ``low_precision_weights`` (``--bf16-weights``): the parameters are stored in ``amp_dtype`` and the step
    runs without autocast, so autocast's casts of weights and activations are gone -- not a recipe (AdamW's
    small updates round away in bf16), the most that keeping casts out of the step could save."""
    model.to(device)
    if low_precision_weights:
        model.to(amp_dtype)
        amp_dtype = torch.float32  # no autocast: every tensor is already in the low dtype
    optimizer = torch.optim.AdamW(
        adamw_param_groups(model, cfg.weight_decay), lr=cfg.lr, betas=(0.9, 0.999), eps=1e-6
    )
    step_model = torch.compile(model) if compile_model else model
    compute_loss = loss_fn(name)
    autocast = (
        torch.autocast(device_type=device.type, dtype=amp_dtype) if amp_dtype != torch.float32 else nullcontext()
    )

    def step(batch: dict[str, torch.Tensor]) -> torch.Tensor:
        with autocast:
            loss = compute_loss(step_model, batch)
        loss.backward()
        if cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.detach()

    return step


def time_training(
    name: str,
    model: nn.Module,
    batches: list[dict[str, torch.Tensor]],
    cfg: BenchConfig,
    steps: int,
    warmup: int,
    device: torch.device,
    amp_dtype: torch.dtype,
    compile_model: bool,
    profile_top: int = 0,
    low_precision_weights: bool = False,
) -> dict[str, Any]:
    """Run ``warmup`` untimed then ``steps`` timed training steps; return seconds and the last loss.

    With ``profile_top`` the timed steps run under ``torch.profiler`` (so their time is not the
    bench's) and ``profile`` lists the operators that take a step's time (self time, CPU or CUDA):
    the ``profile_top`` largest with their ms per step and share, then one row ``(rest)``."""
    from torch.profiler import ProfilerActivity, profile

    step = make_step(name, model, cfg, device, amp_dtype, compile_model, low_precision_weights)
    torch.manual_seed(cfg.seed)  # same dropout stream for every model
    first_step = None  # no warm-up: nothing to report
    for i in range(warmup):
        t0 = time.perf_counter()
        step(batches[i % len(batches)])
        if i == 0:
            _sync(device)
            first_step = time.perf_counter() - t0  # compilation, when compiled
    _sync(device)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    t0 = time.perf_counter()
    loss = torch.zeros(())
    with profile(activities=activities) if profile_top else nullcontext() as prof:
        for i in range(warmup, warmup + steps):
            loss = step(batches[i % len(batches)])
        _sync(device)
    out: dict[str, Any] = {"seconds": time.perf_counter() - t0, "final_loss": float(loss), "first_step_seconds": first_step}
    if profile_top:
        rows = sorted(
            ((e.key, (e.self_device_time_total if device.type == "cuda" else e.self_cpu_time_total) / 1000 / steps)
             for e in prof.key_averages()),
            key=lambda r: -r[1],
        )  # fmt: skip
        total = sum(ms for _, ms in rows) or 1.0
        rest = sum(ms for _, ms in rows[profile_top:])
        out["profile"] = [{"op": op, "self_ms_per_step": ms, "share": ms / total} for op, ms in rows[:profile_top]]
        out["profile"].append({"op": "(rest)", "self_ms_per_step": rest, "share": rest / total})
    return out


def step_gemms(cfg: BenchConfig, fam: str) -> list[tuple[int, int, int, int]]:
    """The matrix multiplications of one training step, as ``(batch, m, k, n)`` products.

    Every linear layer ``(M, k) -> (M, n)`` costs three GEMMs (forward, grad of the input, grad of
    the weight); attention costs ``Q K^T`` and ``P V`` per head plus two each in the backward pass.
    The output projection runs at every position for GPT, at the masked slots for BERT (ours).
    """
    M, T, d, f, V = cfg.batch_size * cfg.seq_len, cfg.seq_len, cfg.d_model, cfg.d_ff, cfg.vocab_size
    bh, hd = cfg.batch_size * cfg.n_head, cfg.d_model // cfg.n_head

    def linear(rows: int, k: int, n: int) -> list[tuple[int, int, int, int]]:
        return [(1, rows, k, n), (1, rows, n, k), (1, n, rows, k)]

    gemms: list[tuple[int, int, int, int]] = []
    for _ in range(cfg.n_layer):
        gemms += linear(M, d, 3 * d) + linear(M, d, d) + linear(M, d, f) + linear(M, f, d)
        gemms += [(bh, T, hd, T), (bh, T, T, hd)] * 3  # Q K^T, P V; and their backward products
    if fam == "gpt":
        gemms += linear(M, d, V)
    else:
        slots = cfg.batch_size * cfg.max_predictions_per_seq
        gemms += linear(slots, d, d) + linear(slots, d, V) + linear(cfg.batch_size, d, d)
    return gemms


def gemm_floor_seconds(cfg: BenchConfig, fam: str, device: torch.device, dtype: torch.dtype, repeats: int = 5) -> float:
    """Seconds one training step would take if everything but its matrix multiplications were free
    (best of ``repeats``): the fastest any implementation of this model can be on this device."""
    mats = [
        (torch.randn(b, m, k, device=device, dtype=dtype), torch.randn(b, k, n, device=device, dtype=dtype))
        for b, m, k, n in step_gemms(cfg, fam)
    ]
    best = math.inf
    for _ in range(repeats + 1):  # the first pass warms up the allocator and the BLAS
        _sync(device)
        t0 = time.perf_counter()
        for a, b in mats:
            torch.matmul(a, b)
        _sync(device)
        best = min(best, time.perf_counter() - t0)
    return best


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------


def resolve_dtype(name: str) -> tuple[str, torch.dtype]:
    """``--dtype`` -> (Lightning-style precision, autocast dtype). ``auto`` asks the hardware,
    exactly like the pipeline (``bertvsgpt.hardware.resolve_precision``): bf16 only where it is fast."""
    precision = resolve_precision("auto") if name == "auto" else _DTYPE_ALIASES.get(name)
    if precision is None:
        raise ValueError(f"--dtype {name!r}: use auto, fp32 or bf16")
    return precision, autocast_dtype(precision)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.pretrain_throughput",
        description="Training tokens/s and MFU of our BERT/GPT vs transformers' BertForPreTraining/GPT2LMHeadModel "
        "(OpenAIGPTLMHeadModel for a post-LN GPT). "
        "Unset sizes come from params.yaml.",
    )
    ap.add_argument("--params", type=Path, default=DEFAULT_PARAMS, help="params.yaml providing the defaults")
    ap.add_argument("--layers", type=int, help="n_layer (params.yaml model.n_layer)")
    ap.add_argument("--d-model", type=int, help="hidden size (model.d_model)")
    ap.add_argument("--heads", type=int, help="attention heads (model.n_head)")
    ap.add_argument(
        "--d-ff", type=int,
        help="feed-forward size (model.d_ff, rescaled by d_model/model.d_model when only --d-model is given); "
        "must be 4 * d_model",
    )  # fmt: skip
    ap.add_argument("--vocab", type=int, help="vocabulary size (tokenizer.vocab_size)")
    ap.add_argument("--seq-len", type=int, help="sequence length (pretrain.seq_len)")
    ap.add_argument("--batch", type=int, help="batch size (pretrain.batch_size)")
    ap.add_argument("--steps", type=int, default=10, help="timed training steps per model and run")
    ap.add_argument(
        "--repeats", type=int, default=5,
        help="timed runs per model, the four models interleaved in each; the table shows medians (the machine is noisy)",
    )  # fmt: skip
    ap.add_argument("--profile", action="store_true", help="also print each of our models' top operators per step (torch.profiler)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps per model before timing")
    ap.add_argument("--dtype", default="auto", help="auto (bf16 where fast, else fp32), fp32 or bf16")
    ap.add_argument(
        "--bf16-weights", action="store_true",
        help="all four models' parameters in bf16 and no autocast, so no weight or activation is cast between bf16 "
        "and fp32: the upper bound of keeping casts out of the hot path (timing only: AdamW updates round away in "
        "bf16); needs bf16",
    )  # fmt: skip
    ap.add_argument("--device", default="auto", help="auto (cuda if available), cpu, cuda, cuda:N")
    ap.add_argument(
        "--compile", nargs="*", choices=[*MODEL_NAMES, "none"], metavar="MODEL",
        help="torch.compile these models (of " + ", ".join(MODEL_NAMES) + "; no name: all four; 'none': none). "
        "Unset: our models as params.yaml's pretrain.compile says (what the stage runs), the HF models eager. "
        "Compilation happens in the first warm-up step (keep --warmup >= 1), which the table reports as 'first step'",
    )
    ap.add_argument(
        "--default-allocator", action="store_true",
        help="leave glibc's malloc at its defaults (large freed blocks go back to the OS) instead of keeping freed "
        "memory as the pipeline's stages do (bertvsgpt.allocator.keep_freed_memory)",
    )  # fmt: skip
    ap.add_argument("--peak-seconds", type=float, default=1.0, help="time budget of the matmul-peak measurement")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON results file")
    args = ap.parse_args(argv)
    if args.steps < 1 or args.warmup < 0 or args.repeats < 1:
        ap.error("--steps and --repeats must be >= 1 and --warmup >= 0")
    if args.compile is not None and "none" in args.compile and len(args.compile) > 1:
        ap.error("--compile none cannot be combined with model names")
    return args


def compiled_models(args: argparse.Namespace) -> frozenset[str]:
    """The models ``--compile`` names; unset, each of our models exactly when params.yaml's
    ``pretrain.compile.<arch>`` is on (the pipeline's stage compiles ours and nothing else)."""
    if args.compile is None:
        on = load_params(args.params).pretrain.compile
        return frozenset(n for n in MODEL_NAMES if n.startswith("ours") and getattr(on, family(n)))
    if args.compile == []:
        return frozenset(MODEL_NAMES)
    return frozenset(args.compile) - {"none"}


def bench_config(args: argparse.Namespace) -> BenchConfig:
    """Merge the command line over params.yaml."""
    p = load_params(args.params)
    m, pt = p.model, p.pretrain
    d_model = args.d_model if args.d_model is not None else m.d_model
    d_ff = args.d_ff if args.d_ff is not None else m.d_ff * d_model // m.d_model
    return BenchConfig(
        n_layer=args.layers if args.layers is not None else m.n_layer,
        d_model=d_model,
        n_head=args.heads if args.heads is not None else m.n_head,
        d_ff=d_ff,
        vocab_size=args.vocab if args.vocab is not None else p.tokenizer.vocab_size,
        seq_len=args.seq_len if args.seq_len is not None else pt.seq_len,
        batch_size=args.batch if args.batch is not None else pt.batch_size,
        dropout=m.dropout,
        masked_lm_prob=pt.bert.masked_lm_prob,
        max_predictions_per_seq=pt.bert.max_predictions_per_seq,
        lr=pt.lr,
        weight_decay=pt.weight_decay,
        grad_clip=pt.grad_clip,
        seed=p.seed,
        norm_bert=m.norm.bert,
        norm_gpt=m.norm.gpt,
    ).validate()


def _fmt_int(n: float) -> str:
    return f"{n:,.0f}"


def _fmt_seconds(s: Optional[float]) -> str:
    return f"{'-':>11}" if s is None else f"{s:>9.1f} s"


def format_table(results: dict[str, Any]) -> str:
    header = (
        f"{'model':<10} {'params':>12} {'non-emb':>12} {'tokens/s':>12} {'ms/step':>10} {'runs (ms)':>15} {'our/HF':>7} {'MFU':>7}"
        f" {'first step':>11}"
    )
    lines = [header, "-" * len(header)]
    for name in MODEL_NAMES:
        r = results["models"][name]
        ratio = results["ratios"][family(name)] if name.startswith("ours") else None
        runs = f"{min(r['ms_per_step_runs']):.0f}-{max(r['ms_per_step_runs']):.0f}"
        lines.append(
            f"{name:<10} {_fmt_int(r['params']):>12} {_fmt_int(r['params_non_embedding']):>12} "
            f"{_fmt_int(r['tokens_per_s']):>12} {r['ms_per_step']:>10.1f} {runs:>15} "
            f"{(f'{ratio:.2f}x' if ratio is not None else ''):>7} {100 * r['mfu']:>6.1f}%"
            f" {_fmt_seconds(r['first_step_seconds_runs'][0])}{' (compiled)' if r['compiled'] else ''}"
        )
    return "\n".join(lines)


def format_profile(rows: list[dict[str, Any]]) -> str:
    return "\n".join(f"  {r['op'][:44]:<44} {r['self_ms_per_step']:>9.2f} ms {100 * r['share']:>5.1f}%" for r in rows)


def main(argv: Optional[Sequence[str]] = None) -> dict[str, Any]:
    """Run the benchmark, print the table and PASS/FAIL lines, write ``--out``; return the results."""
    args = parse_args(argv)
    cfg = bench_config(args)
    if not args.default_allocator:
        keep_freed_memory()  # as every pipeline stage does; for all four models alike
    device = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device)
    precision, amp_dtype = resolve_dtype(args.dtype)
    if args.bf16_weights and amp_dtype != torch.bfloat16:
        raise SystemExit(f"--bf16-weights needs a bf16 training dtype; --dtype {args.dtype} gives {precision}")
    # best of three probes: a single short probe reads low when the machine is briefly busy,
    # which would inflate MFU (a 1024^2 probe once read 74 instead of ~110 GFLOP/s here)
    peak = max(measure_matmul_peak_flops(amp_dtype, device, max_seconds=args.peak_seconds) for _ in range(3))
    batches = make_batches(cfg, min(args.warmup + args.steps, 16), device)
    tokens_per_step = cfg.batch_size * cfg.seq_len

    # Each run times the four models one after the other, so a busy spell of the machine hits all
    # four alike; the medians over the runs go into the table.
    compiled = compiled_models(args)
    seconds: dict[str, list[float]] = {name: [] for name in MODEL_NAMES}
    first_step: dict[str, list[float]] = {name: [] for name in MODEL_NAMES}
    final_loss: dict[str, float] = {}
    described: dict[str, dict[str, Any]] = {}
    for _ in range(args.repeats):
        for name in MODEL_NAMES:
            model = build_model(name, cfg)
            if name not in described:  # what the model is, read once (the timing does not change it)
                described[name] = {"parameters": count_parameters(model)}
                described[name]["attention"] = attention_implementation(model)
                described[name]["class"] = f"{type(model).__module__}.{type(model).__name__}"
            t = time_training(
                name, model, batches[family(name)], cfg, args.steps, args.warmup, device, amp_dtype, name in compiled,
                low_precision_weights=args.bf16_weights,
            )
            seconds[name].append(t["seconds"])
            first_step[name].append(t["first_step_seconds"])
            final_loss[name] = t["final_loss"]
            del model
            if device.type == "cuda":
                torch.cuda.empty_cache()
    models: dict[str, dict[str, Any]] = {}
    for name in MODEL_NAMES:
        total, non_emb = described[name]["parameters"]
        head = output_projection_params(family(name), cfg.vocab_size, cfg.d_model, cfg.seq_len, cfg.num_predictions)
        fpt = flops_per_token(non_emb + head, cfg.n_layer, cfg.d_model, cfg.seq_len)
        ms_runs = [1000 * sec / args.steps for sec in seconds[name]]
        ms = statistics.median(ms_runs)
        tokens_per_s = tokens_per_step / (ms / 1000)
        models[name] = {
            "model": described[name]["class"],
            "attention": described[name]["attention"],
            "params": total,
            "params_non_embedding": non_emb,
            "flops_per_token": fpt,
            "tokens_per_s": tokens_per_s,
            "ms_per_step": ms,
            "ms_per_step_runs": ms_runs,
            "mfu": fpt * tokens_per_s / peak,
            "final_loss": final_loss[name],
            "compiled": name in compiled,
            # the first warm-up step of each run: compilation when compiled (the first run's is cold,
            # later runs hit inductor's on-disk cache), else one ordinary step
            "first_step_seconds_runs": first_step[name],
        }
        if args.profile and name.startswith("ours"):
            models[name]["profile"] = time_training(
                name, build_model(name, cfg), batches[family(name)], cfg, min(args.steps, 5), max(args.warmup, 1), device, amp_dtype,
                name in compiled, profile_top=PROFILE_TOP, low_precision_weights=args.bf16_weights,
            )["profile"]

    ratios = {f: models[f"ours_{f}"]["tokens_per_s"] / models[f"hf_{f}"]["tokens_per_s"] for f in ("bert", "gpt")}
    # How fast could ours be at all? A step made of nothing but its GEMMs bounds the ratio to HF.
    floor_ms = {f: 1000 * gemm_floor_seconds(cfg, f, device, amp_dtype) for f in ("bert", "gpt")}
    ceilings = {f: models[f"hf_{f}"]["ms_per_step"] / floor_ms[f] for f in ("bert", "gpt")}
    checks = {}
    for f in ("bert", "gpt"):
        checks[f"ours_{f}_mfu>={MFU_TARGET:.0%}"] = models[f"ours_{f}"]["mfu"] >= MFU_TARGET
        checks[f"ours_{f}_over_hf>={RATIO_TARGET}"] = ratios[f] >= RATIO_TARGET
    results: dict[str, Any] = {
        "config": {**asdict(cfg), "num_predictions": cfg.num_predictions, "tokens_per_step": tokens_per_step},
        "run": {
            "steps": args.steps,
            "warmup": args.warmup,
            "repeats": args.repeats,
            "compiled": sorted(compiled),
            "device": str(device),
            "device_name": _device_name(device),
            "precision": precision,
            "dtype": str(amp_dtype).removeprefix("torch."),
            "bf16_weights": args.bf16_weights,
            "num_threads": torch.get_num_threads(),
            "peak_matmul_flops": peak,
            "torch": torch.__version__,
            "transformers": _transformers_version(),
        },
        "models": models,
        "ratios": ratios,
        "gemm_floor_ms_per_step": floor_ms,
        "ceiling_ratios": ceilings,
        "checks": checks,
    }

    run = results["run"]
    print(
        f"pre-training throughput: {cfg.n_layer} layers, d_model {cfg.d_model}, {cfg.n_head} heads, d_ff {cfg.d_ff}, "
        f"BERT {cfg.norm_bert}-LN vs BertForPreTraining, GPT {cfg.norm_gpt}-LN vs {hf_gpt_class(cfg)}, "
        f"vocab {cfg.vocab_size}, seq {cfg.seq_len}, batch {cfg.batch_size}, {run['dtype']}"
        f"{' weights, no autocast' if args.bf16_weights else ''} on {run['device']} "
        f"({run['num_threads']} threads; compiled: {', '.join(sorted(compiled)) or 'none'}); median of {args.repeats} run(s) of "
        f"{args.steps} timed steps after {args.warmup} warm-up; peak matmul {peak / 1e9:.1f} GFLOP/s"
    )
    print(format_table(results))
    for name in MODEL_NAMES:
        if "profile" in models[name]:
            print(f"{name}: where a step's time goes (torch.profiler, self time)")
            print(format_profile(models[name]["profile"]))
    for f in ("bert", "gpt"):
        mfu, ratio = models[f"ours_{f}"]["mfu"], ratios[f]
        print(f"{'PASS' if mfu >= MFU_TARGET else 'FAIL'}: ours_{f} MFU {100 * mfu:.1f}% >= {MFU_TARGET:.0%}")
        print(f"{'PASS' if ratio >= RATIO_TARGET else 'FAIL'}: ours_{f}/hf_{f} tokens/s {ratio:.2f} >= {RATIO_TARGET}")
        print(
            f"  bound: the GEMMs alone of one {f} step take {floor_ms[f]:.1f} ms, so no implementation "
            f"can beat hf_{f} by more than {ceilings[f]:.2f}x here (ours: {models[f'ours_{f}']['ms_per_step']:.1f} ms/step)"
        )
    for name, r in models.items():
        if not math.isfinite(r["final_loss"]):
            print(f"WARNING: {name} ended with a non-finite loss ({r['final_loss']})")

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")
    return results


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:  # Linux: the CPU's marketing name
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _transformers_version() -> str:
    import transformers

    return transformers.__version__


if __name__ == "__main__":
    main()
