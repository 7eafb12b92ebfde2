"""Where a pre-trained model's attention heads look: attention mass by relative offset, per layer and head.

A BERT on its masked-LM plateau attends almost uniformly (entropy near ln T, every offset ~1/T); one that
has left it has heads on the previous or next token. Run from the repository root::

    python -m benchmarks.attention_offsets data/models/bert /tmp/levers/2/model --windows 64

Each model is scored on the same ``--windows`` held-out windows of ``seq_len`` tokens of its tokenizer's
held-out store (``data/tokenizers/<arch>/heldout``, or ``--tokenizer``), read straight from the store
(no masking, no segments). Prints, per head, the mean attention probability at offsets -2..+2 and the
attention entropy beside that of uniform attention.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import torch


def attention_maps(model: torch.nn.Module, input_ids: torch.Tensor) -> list[torch.Tensor]:
    """Each self-attention layer's probabilities, ``(B, n_head, T, T)``, for a forward pass without padding."""
    from bertvsgpt.models.attention import MultiHeadSelfAttention, make_attention_mask
    from bertvsgpt.tasks.backbone import backbone_of

    maps: list[torch.Tensor] = []

    def hook(module: MultiHeadSelfAttention, args, _out) -> None:
        x = args[0]
        B, T, C = x.shape
        q, k, _ = module.c_attn(x).split(module.d_model, dim=2)
        q = q.view(B, T, module.n_head, -1).transpose(1, 2)
        k = k.view(B, T, module.n_head, -1).transpose(1, 2)
        scores = q @ k.transpose(-1, -2) / math.sqrt(q.size(-1))
        if module.causal:
            scores = scores.masked_fill(~make_attention_mask(x.new_ones(B, T, dtype=torch.bool), True), float("-inf"))
        maps.append(torch.softmax(scores.float(), dim=-1))

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, MultiHeadSelfAttention)]
    try:
        with torch.no_grad():
            backbone_of(model)(input_ids)
    finally:
        for h in handles:
            h.remove()
    return maps


def offset_profile(attn: torch.Tensor, offsets: range = range(-2, 3)) -> list[dict[str, float]]:
    """Per head of one layer's ``(B, H, T, T)`` probabilities: the mean probability on key ``query + d`` for each
    offset ``d`` (over the queries that have one) and the mean entropy (nats) of the rows."""
    mean = attn.mean(0)  # (H, T, T)
    rows = []
    for h in range(mean.size(0)):
        row = {f"{d:+d}": torch.diagonal(mean[h], offset=d).mean().item() for d in offsets}
        p = attn[:, h]
        row["entropy"] = float(-(p * p.clamp_min(1e-12).log()).sum(-1).mean())
        rows.append(row)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+", type=Path, help="pre-trained model folders (config.json + model.safetensors)")
    ap.add_argument("--tokenizer", type=Path, default=None, help="tokenizer folder (default data/tokenizers/<arch>)")
    ap.add_argument("--windows", type=int, default=64)
    ap.add_argument("--seq-len", type=int, default=128)
    args = ap.parse_args()

    from bertvsgpt.models import load_pretrained
    from bertvsgpt.tokenization.token_store import TokenStore

    for path in args.models:
        model, cfg = load_pretrained(path)
        model.eval()
        tokenizer = args.tokenizer or Path("data/tokenizers") / ("gpt" if cfg.causal else "bert")
        ids = TokenStore(tokenizer / "heldout").ids[: args.windows * args.seq_len].astype("int64")
        n = len(ids) // args.seq_len
        if n == 0:
            raise SystemExit(f"{tokenizer}/heldout: fewer than {args.seq_len} held-out tokens")
        maps = attention_maps(model, torch.from_numpy(ids[: n * args.seq_len]).view(n, args.seq_len))
        print(f"{path}: {n} windows of {args.seq_len} tokens; uniform attention has entropy {math.log(args.seq_len):.2f}")
        for layer, attn in enumerate(maps):
            for head, row in enumerate(offset_profile(attn)):
                offsets = " ".join(f"{k}:{v:.3f}" for k, v in row.items() if k != "entropy")
                print(f"  layer {layer} head {head}: {offsets}  entropy {row['entropy']:.2f}")


if __name__ == "__main__":
    main()
