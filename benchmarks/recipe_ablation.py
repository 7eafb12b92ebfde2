"""The recipe ablation: norm (pre, post) x objective (BERT, GPT) on the prepared corpus, with learning curves.

Run from the repository root after ``dvc repro tokenizer@bert tokenizer@gpt`` (it reads
``data/tokenizers/<arch>``, the stores the default run pre-trains on)::

    python -m benchmarks.recipe_ablation                      # 400 steps per cell, params.yaml otherwise
    python -m benchmarks.recipe_ablation --steps 1000 --out docs/recipe-ablation.csv

Each cell is the pipeline's own ``pretrain()`` with ``params.yaml``'s recipe and only ``model.norm.<arch>``
changed, into a temporary directory (nothing of ``data/`` is written). It prints the mean training loss
(and BERT's MLM accuracy) over each window of 100 steps, then the held-out intrinsic metrics beside their
unigram floors (``evaluation/intrinsic.py``), and writes every cell's curve to ``--out`` if given.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import polars as pl

from bertvsgpt.config import load_params
from bertvsgpt.evaluation.intrinsic import intrinsic_metrics
from bertvsgpt.pretraining.run import pretrain

TOKENIZERS = Path("data/tokenizers")


def run_cell(arch: str, norm: str, steps: int, overrides: list[str], workdir: Path) -> tuple[pl.DataFrame, dict]:
    base = load_params("params.yaml", overrides)
    tokens = steps * base.pretrain.batch_size * base.pretrain.seq_len
    params = load_params("params.yaml", [*overrides, f"model.norm.{arch}={norm}", f"pretrain.max_tokens={tokens}"])
    out = workdir / f"{arch}-{norm}"
    pretrain(arch, params, TOKENIZERS / arch, out / "model", out / "resume", enable_progress_bar=False)
    curve = pl.read_csv(out / "model" / "curve.csv").with_columns(pl.lit(arch).alias("arch"), pl.lit(norm).alias("norm"))
    return curve, intrinsic_metrics(out / "model", TOKENIZERS / arch, params, seed=params.seed)


def windows(curve: pl.DataFrame, width: int = 100) -> pl.DataFrame:
    """Mean of each logged column over windows of ``width`` steps (steps 1-100, 101-200, ...)."""
    cols = [c for c in ("loss", "mlm_accuracy", "nsp_accuracy") if c in curve.columns]
    return (
        curve.with_columns(((pl.col("step") - 1) // width).alias("window"))
        .group_by("window", maintain_order=True)
        .agg([pl.col(c).mean() for c in cols])
        .with_columns((pl.col("window") * width + 1).cast(pl.Utf8) + "-" + ((pl.col("window") + 1) * width).cast(pl.Utf8))
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--out", type=Path, default=None, help="CSV of every cell's curve")
    ap.add_argument("overrides", nargs="*", help="Hydra overrides of params.yaml applied to every cell")
    args = ap.parse_args()
    curves, rows = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for arch in ("bert", "gpt"):
            for norm in ("pre", "post"):
                curve, held_out = run_cell(arch, norm, args.steps, args.overrides, Path(tmp))
                curves.append(curve)
                print(f"\n{arch} norm={norm}: mean training values per window of 100 steps")
                print(windows(curve))
                accuracy = held_out.get("mlm_accuracy", held_out.get("next_token_accuracy"))
                rows.append({
                    "arch": arch, "norm": norm, "held-out accuracy": accuracy, "unigram accuracy": held_out["unigram_accuracy"],
                    "cross-entropy": held_out["cross_entropy"], "unigram entropy": held_out["unigram_entropy"],
                    "nsp_accuracy": held_out.get("nsp_accuracy"),
                })
    print("\nheld-out, beside the unigram floors")
    print(pl.DataFrame(rows))
    if args.out:
        pl.concat(curves, how="diagonal_relaxed").write_csv(args.out)


if __name__ == "__main__":
    main()
