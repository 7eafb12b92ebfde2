"""Downstream score against pre-training compute: bodies of several shapes, budgets and objectives on one figure.

``budget_curve`` sweeps one shape along the token budget. This puts finished bodies of any sweep side by side on
the axis that matters when the shape changes too, training FLOPs, one panel per task::

    python -m benchmarks.score_vs_compute --tasks ner qa --out docs/figures/shape_score_vs_flops.png \\
        --csv docs/figures/shape_score_vs_flops.csv \\
        "BERT L2/H128=/tmp/b64/models/bert-32000000:/tmp/b64/finetune/bert-32000000" \\
        "BERT L2/H128=/tmp/b64/models/bert-64000000:/tmp/b64/finetune/bert-64000000" \\
        "GPT L4/H256=/tmp/l4/models/gpt-8000000,/tmp/l4s1/models/gpt-8000000:/tmp/l4/finetune/gpt-8000000,/tmp/l4s1/finetune/gpt-8000000" \\
        --scratch "BERT L2/H128=/tmp/b64/finetune/bert-0"

A body is ``SERIES=MODEL_DIR[,MODEL_DIR...]:FINETUNE_DIR[,FINETUNE_DIR...]``: the model folders'
``budget_summary.json`` (what ``budget_curve`` writes beside each pre-trained model) give the objective, the tokens
and the training FLOPs (several folders: pre-training runs of one recipe, FLOPs averaged); the fine-tuning folders'
``<task>/seed_<n>/metrics.json`` give the score, the mean over every seed of every folder. Bodies of one series are joined in FLOP
order, coloured by objective (line style: the objective's first, second, ... series); ``--scratch SERIES=FINETUNE_DIR`` draws a series' scratch twin as a dotted line.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from benchmarks.paired import primary_metric
from bertvsgpt.io import atomic_path, read_json

FIELDS = ["series", "arch", "tokens", "train_flops", "bodies", "intrinsic", "intrinsic_value", "task", "metric",
          "score", "seeds"]


def parse_body(spec: str) -> tuple[str, list[Path], list[Path]]:
    """``SERIES=MODEL_DIR[,MODEL_DIR...]:FINETUNE_DIR[,...]`` -> (series, model folders, fine-tuning folders)."""
    series, sep, rest = spec.partition("=")
    models, sep2, finetune = rest.rpartition(":")
    if not (sep and sep2 and series and models and finetune):
        raise ValueError(f"body {spec!r}: expected SERIES=MODEL_DIR[,MODEL_DIR...]:FINETUNE_DIR[,FINETUNE_DIR...]")
    return series, [Path(m) for m in models.split(",")], [Path(f) for f in finetune.split(",")]


def score_rows(base: dict, finetune_dirs: list[Path], tasks: list[str]) -> list[dict]:
    """``base`` plus, per task, the primary metric and the test score averaged over every seed of every folder."""
    rows = []
    for task in tasks:
        metrics = [primary_metric(d / task) for d in finetune_dirs]
        metric = metrics[0]
        for d, other in zip(finetune_dirs[1:], metrics[1:]):
            if other != metric:
                raise ValueError(f"{d / task}: primary metric {other!r}, not {metric!r} as in {finetune_dirs[0] / task}")
        scores = [float(read_json(f)[metric]) for d in finetune_dirs for f in sorted((d / task).glob("seed_*/metrics.json"))]
        rows.append(base | {"task": task, "metric": metric, "score": round(sum(scores) / len(scores), 4), "seeds": len(scores)})
    return rows


def body_rows(series: str, model_dirs: list[Path], finetune_dirs: list[Path], tasks: list[str]) -> list[dict]:
    """One row per task for one body: its compute, its intrinsic metric and its mean test score."""
    summaries = [read_json(d / "budget_summary.json") for d in model_dirs]
    archs = {s["arch"] for s in summaries}
    if len(archs) != 1:
        raise ValueError(f"{series}: model folders of different objectives {sorted(archs)}")
    arch = archs.pop()
    intrinsic = "mlm_accuracy" if arch == "bert" else "perplexity"
    for d, s in zip(model_dirs, summaries):
        if intrinsic not in s or "train_flops" not in s:
            raise KeyError(f"{d / 'budget_summary.json'}: no {intrinsic!r} or 'train_flops'")
    base = {
        "series": series, "arch": arch, "tokens": summaries[0]["budget_tokens"],
        "train_flops": sum(s["train_flops"] for s in summaries) / len(summaries), "bodies": len(summaries),
        "intrinsic": intrinsic, "intrinsic_value": round(sum(s[intrinsic] for s in summaries) / len(summaries), 4),
    }
    return score_rows(base, finetune_dirs, tasks)


def scratch_rows(series: str, finetune_dirs: list[Path], tasks: list[str]) -> list[dict]:
    base = {"series": series, "arch": "", "tokens": 0, "train_flops": 0, "bodies": 0, "intrinsic": "", "intrinsic_value": ""}
    return score_rows(base, finetune_dirs, tasks)


def plot(rows: list[dict], scratch: list[dict], tasks: list[str], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bertvsgpt.report.figures import COLOURS, MARKERS
    from bertvsgpt.report.labels import metric_label

    styles = ["-", "--", "-.", ":"]
    series = list(dict.fromkeys(r["series"] for r in rows))
    arch_of = {r["series"]: r["arch"] for r in rows}
    style = {name: styles[[n for n in series if arch_of[n] == arch_of[name]].index(name) % len(styles)] for name in series}
    fig, axes = plt.subplots(1, len(tasks), figsize=(5.2 * len(tasks), 4.2), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        for name in series:
            pts = sorted((r for r in rows if r["series"] == name and r["task"] == task), key=lambda r: r["train_flops"])
            if not pts:
                continue
            arch = pts[0]["arch"]
            ax.plot([p["train_flops"] for p in pts], [100 * p["score"] for p in pts], style[name],
                    marker=MARKERS.get(arch, "o"), color=COLOURS.get(arch, "gray"), label=name)
            for p in pts:
                ax.annotate(f"{p['tokens'] / 1e6:.0f} M", (p["train_flops"], 100 * p["score"]), fontsize=7,
                            textcoords="offset points", xytext=(4, -10))
            twin = next((s for s in scratch if s["series"] == name and s["task"] == task), None)
            if twin is not None:
                colour = COLOURS.get(f"{arch}-scratch", "gray")
                ax.axhline(100 * twin["score"], color=colour, linestyle=":", linewidth=1)
                ax.annotate(f"{name} scratch", (0.01, 100 * twin["score"]), xycoords=("axes fraction", "data"),
                            fontsize=6, color=colour, xytext=(0, 2), textcoords="offset points")
        ax.set_xscale("log")
        ax.set_xlabel("pre-training FLOPs")
        metric = next((r["metric"] for r in rows if r["task"] == task), "score")
        ax.set_ylabel(f"{metric_label(metric)} (%)")
        ax.set_title(task)
        ax.grid(alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(4, len(labels)), fontsize=8)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)


def write_csv(f, rows: list[dict]) -> None:
    w = csv.DictWriter(f, fieldnames=FIELDS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bodies", nargs="+", help="SERIES=MODEL_DIR[,MODEL_DIR...]:FINETUNE_DIR[,FINETUNE_DIR...]")
    ap.add_argument("--scratch", nargs="*", default=[], metavar="SERIES=FINETUNE_DIR[,FINETUNE_DIR...]")
    ap.add_argument("--tasks", nargs="+", required=True)
    ap.add_argument("--out", type=Path, required=True, help="the figure (.png)")
    ap.add_argument("--csv", type=Path, default=None, help="also write the points here")
    args = ap.parse_args()
    try:
        rows = [r for spec in args.bodies for r in body_rows(*parse_body(spec), args.tasks)]
        twins = []
        for item in args.scratch:
            name, sep, folder = item.partition("=")
            if not sep or not name:
                raise ValueError(f"--scratch {item!r}: expected SERIES=FINETUNE_DIR")
            twins += scratch_rows(name, [Path(f) for f in folder.split(",")], args.tasks)
    except (ValueError, FileNotFoundError, KeyError) as e:
        sys.exit(f"error: {e.args[0] if e.args else e}")
    write_csv(sys.stdout, rows + twins)
    if args.csv:
        with atomic_path(args.csv) as tmp, tmp.open("w", newline="") as f:
            write_csv(f, rows + twins)
    plot(rows, twins, args.tasks, args.out)


if __name__ == "__main__":
    main()
