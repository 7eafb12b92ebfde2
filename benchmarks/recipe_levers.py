"""One objective's recipe levers, one pre-training run each: which lever shortens a plateau.

Run from the repository root after ``dvc repro tokenizer@bert tokenizer@gpt``::

    python -m benchmarks.recipe_levers --arch bert --tokens 16000000 --out-dir /tmp/levers \\
        "default=" "lr 1e-3=pretrain.lr=0.001" "15 % masking=pretrain.bert.masked_lm_prob=0.15,pretrain.bert.max_predictions_per_seq=20"

Each cell is ``LABEL=override,override,...`` (Hydra overrides of ``params.yaml``; an empty list is
params.yaml itself) and runs the pipeline's own ``pretrain()`` at ``--tokens`` into ``--out-dir/<n>/``
(nothing of ``data/`` is written). Per cell it prints the held-out intrinsic metrics at the evaluation
masking rate (``evaluate.masked_lm_prob``, the same positions for every cell, so masking-rate cells are
comparable) beside the unigram floor, and appends them to ``--out-dir/levers.jsonl``; each cell's
``curve.csv`` stays for ``benchmarks/pretrain_curves.py``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from bertvsgpt.config import load_params
from bertvsgpt.evaluation.intrinsic import intrinsic_metrics
from bertvsgpt.pretraining.run import pretrain

TOKENIZERS = Path("data/tokenizers")
KEYS = ("mlm_accuracy", "next_token_accuracy", "accuracy_over_unigram", "cross_entropy",
        "cross_entropy_over_unigram_entropy", "nsp_accuracy", "unigram_accuracy")


def parse_cell(spec: str) -> tuple[str, list[str]]:
    """``"label=a=1,b=2"`` -> ``("label", ["a=1", "b=2"])``; ``"label="`` -> ``("label", [])``."""
    label, sep, rest = spec.partition("=")
    if not sep or not label:
        raise SystemExit(f"cell {spec!r}: expected LABEL=override,override,... (LABEL= for params.yaml as is)")
    return label, [o for o in rest.split(",") if o]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cells", nargs="+", help="LABEL=override,override,...")
    ap.add_argument("--arch", choices=("bert", "gpt"), default="bert")
    ap.add_argument("--tokens", type=int, default=16_000_000, help="pretrain.max_tokens of every cell")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out-dir", type=Path, required=True)
    args = ap.parse_args()
    cells = [parse_cell(c) for c in args.cells]
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for n, (label, overrides) in enumerate(cells):
        params = load_params("params.yaml", [*overrides, f"pretrain.max_tokens={args.tokens}", f"seed={args.seed}"])
        out = args.out_dir / str(n)
        start = time.perf_counter()
        summary = pretrain(args.arch, params, TOKENIZERS / args.arch, out / "model", out / "resume", enable_progress_bar=False)
        held_out = intrinsic_metrics(out / "model", TOKENIZERS / args.arch, params, seed=params.seed)
        row = {"label": label, "overrides": overrides, "arch": args.arch, "tokens": args.tokens, "seed": args.seed,
               "seconds": round(time.perf_counter() - start, 1), "final_train_loss": summary.get("final_train_loss"),
               "curve": str(out / "model" / "curve.csv"), **{k: held_out[k] for k in KEYS if k in held_out}}
        print(json.dumps(row), flush=True)
        with open(args.out_dir / "levers.jsonl", "a") as f:
            f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
