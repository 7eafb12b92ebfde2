"""Training curves of several pre-training runs on one figure: where BERT's masked LM leaves its plateau.

Each run is a ``curve.csv`` the pre-training stage writes (``data/models/<arch>/curve.csv``, a run's
``runs/seed-<s>/curve.csv``, or a budget-curve model's ``models/<arch>-<budget>/curve.csv``)::

    python -m benchmarks.pretrain_curves --out docs/figures/bert_mlm_plateau.png \\
        "32 M, seed 42=data/models/bert/curve.csv" "64 M, seed 42=/tmp/budget/models/bert-64000000/curve.csv"

Plots a rolling mean (``--window`` logged points) of each column in ``--columns`` against tokens seen, and
prints, per run, the first token count at which the smoothed first column falls below ``--threshold`` (when given).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def smoothed(path, column: str, window: int):
    """``path``: a curve.csv, or its already-read DataFrame (read each run once for several columns)."""
    import polars as pl

    df = (path if isinstance(path, pl.DataFrame) else pl.read_csv(path)).filter(pl.col(column).is_not_null())
    return df["tokens_seen"].to_numpy(), df[column].rolling_mean(window, min_samples=1).to_numpy()


def first_below(tokens, values, threshold: float) -> float | None:
    """The first token count where ``values`` is below ``threshold`` (None if it never is)."""
    hits = (values < threshold).nonzero()[0]
    return float(tokens[hits[0]]) if len(hits) else None


def from_tokens(tokens, values, start: float):
    """The part of a curve at or after ``start`` tokens (so the axes scale to the late, close-together part)."""
    keep = tokens >= start
    return tokens[keep], values[keep]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", help="LABEL=path/to/curve.csv")
    ap.add_argument("--columns", nargs="+", default=["mlm_loss", "mlm_accuracy"])
    ap.add_argument("--window", type=int, default=25)
    ap.add_argument("--threshold", type=float, default=None, help="report where the first column first falls below this")
    ap.add_argument("--from-tokens", type=float, default=0.0, help="plot only from this many tokens on (the smoothing still sees all)")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import polars as pl

    fig, axes = plt.subplots(1, len(args.columns), figsize=(5.2 * len(args.columns), 3.6), squeeze=False)
    for spec in args.runs:
        label, _, path = spec.partition("=")
        curve = pl.read_csv(Path(path))
        for i, (ax, column) in enumerate(zip(axes[0], args.columns)):
            tokens, values = smoothed(curve, column, args.window)
            if i == 0 and args.threshold is not None:
                at = first_below(tokens, values, args.threshold)
                print(f"{label}: {column} below {args.threshold} from {at / 1e6:.1f} M tokens" if at else f"{label}: never below {args.threshold}")
            tokens, values = from_tokens(tokens, values, args.from_tokens)
            ax.plot(tokens / 1e6, values, label=label, lw=1.2)
    for ax, column in zip(axes[0], args.columns):
        ax.set_xlabel("tokens seen (M)")
        ax.set_title(f"{column} (training batches, rolling mean of {args.window} logs)", fontsize=9)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=120)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
