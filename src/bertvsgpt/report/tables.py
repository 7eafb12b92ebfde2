"""The report's Markdown tables, each from already-computed numbers."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from .budget import BudgetPoint
from .comparison import GroupResult, TaskResult
from .contamination import Overlap
from .labels import (
    METRIC_LABELS,
    MODEL_LABELS,
    PRETRAINED,
    SCALE_100,
    TWINS,
    baseline_label,
    fmt_count,
    fmt_delta,
    fmt_p,
    fmt_seconds,
    fmt_score,
    md_cell,
    md_table,
    metric_label,
    model_label,
    published_pairs,
    twinned,
)
from .significance import PairedTest


def winner(test: PairedTest | None, alpha: float, a: str = "bert", b: str = "gpt", delta: float | None = None) -> str:
    """The significantly better model of ``a − b``; ``"none"`` when ``p ≥ alpha``."""
    if test is None:
        if delta is None:
            return "—"
        return f"{model_label(a) if delta > 0 else model_label(b) if delta < 0 else 'tie'} (untested)"
    if not test.significant(alpha):
        return "none"
    return model_label(a) if test.delta > 0 else model_label(b)


def _delta_ci(test: PairedTest, metric: str) -> str:
    return f"{fmt_delta(test.delta, metric)} [{fmt_delta(test.ci_low, metric)}, {fmt_delta(test.ci_high, metric)}]"


def _gain(result: TaskResult, model: str) -> str:
    return _pair_cell(result, model, TWINS[model])


def _pair_cell(result: TaskResult, a: str, b: str) -> str:
    """``a − b`` with its p-value, e.g. ``+3.0 (p 0.012)``; the plain difference when untested, ``—`` without both."""
    test = result.tests.get((a, b))
    if test is not None:
        return f"{fmt_delta(test.delta, result.metric)} (p {fmt_p(test.p_value, test.n_resamples)})"
    sa, sb = result.scores.get(a), result.scores.get(b)
    return fmt_delta(sa.mean - sb.mean, result.metric) if sa and sb else "—"


def baselines_cell(result: TaskResult) -> str:
    """The task's baselines and their scores, e.g. ``majority 48.3; TF-IDF + LR 67.7``."""
    return "; ".join(f"{baseline_label(b)} {fmt_score(s.mean, s.std, s.n, result.metric)}" for b, s in result.baselines.items()) or "—"


def headline_table(results: Sequence[TaskResult], models: Sequence[str], alpha: float,
                   published: Mapping[str, Mapping[str, Any]] | None = None) -> str:
    """One row per task: primary metric per model, the baselines', BERT − GPT with its test, each model's gain over scratch,
    then each published checkpoint (``published``: name -> record) against our pre-trained model of its family."""
    published = published or {}
    gains = twinned(models)
    pairs = published_pairs(models, published)
    header = ["task", "metric", *(model_label(m, published) for m in models)]
    has_baselines = any(r.baselines for r in results)
    if has_baselines:
        header += ["baselines"]
    has_pair = "bert" in models and "gpt" in models
    if has_pair:
        header += ["BERT − GPT [95 % CI]", "p", "winner"]
    header += [f"{model_label(m)} − {model_label(TWINS[m])}" for m in gains]
    header += [f"{model_label(a, published)} − {model_label(b)}" for a, b in pairs]
    rows = []
    for r in results:
        cells: list[Any] = [r.task, metric_label(r.metric)]
        for m in models:
            s = r.scores.get(m)
            cells.append(fmt_score(s.mean, s.std, s.n, r.metric) if s else "—")
        if has_baselines:
            cells.append(baselines_cell(r))
        if has_pair:
            test = r.tests.get(("bert", "gpt"))
            if test is not None:
                best = winner(test, alpha)
                if best != "none" and r.none_above_trivial(("bert", "gpt"), alpha):
                    best += " (both ≤ trivial)"
                cells += [_delta_ci(test, r.metric), fmt_p(test.p_value, test.n_resamples), best]
            else:
                a, b = r.scores.get("bert"), r.scores.get("gpt")
                delta = a.mean - b.mean if a and b else None
                cells += [fmt_delta(delta, r.metric) if delta is not None else "—", "—", winner(None, alpha, delta=delta)]
        cells += [_gain(r, m) for m in gains]
        cells += [_pair_cell(r, a, b) for a, b in pairs]
        rows.append(cells)
    return md_table(header, rows)


def baselines_table(results: Sequence[TaskResult], models: Sequence[str]) -> str:
    """One row per task and baseline: its score and each pre-trained model minus it, with the paired test."""
    tested = [m for m in PRETRAINED if m in models]
    header = ["task", "metric", "baseline", "score"]
    for m in tested:
        header += [f"{model_label(m)} − baseline [95 % CI]", "p"]
    rows = []
    for r in results:
        for b, s in r.baselines.items():
            name = f"{baseline_label(b)} (trivial)" if b == r.reference else baseline_label(b)
            cells: list[Any] = [r.task, metric_label(r.metric), name, fmt_score(s.mean, s.std, s.n, r.metric)]
            for m in tested:
                test = r.baseline_tests.get((m, b))
                if test is not None:
                    cells += [_delta_ci(test, r.metric), fmt_p(test.p_value, test.n_resamples)]
                else:
                    own = r.scores.get(m)
                    cells += [fmt_delta(own.mean - s.mean, r.metric) + " (untested)" if own else "—", "—"]
            rows.append(cells)
    return md_table(header, rows)


def baseline_descriptions(baselines: dict[str, Sequence[Any]]) -> list[str]:
    """One line per baseline (per distinct description): what it does and on which tasks."""
    seen: dict[tuple[str, str], list[str]] = {}
    for task, items in baselines.items():
        for b in items:
            seen.setdefault((b.name, b.description), []).append(task)
    return [f"**{baseline_label(name)}** ({', '.join(tasks)}): {md_cell(desc) if desc else '—'}." for (name, desc), tasks in seen.items()]


def group_table(groups: Sequence[GroupResult], models: Sequence[str], alpha: float, published: Collection[str] = ()) -> str:
    """Mean over tasks of the primary metrics on a 0-100 scale, per group and overall."""
    has_pair = "bert" in models and "gpt" in models
    header = ["group", "tasks", *(model_label(m, published) for m in models)]
    if has_pair:
        header += ["BERT − GPT [95 % CI]", "p", "winner"]
    rows = []
    for g in groups:
        name = f"**{g.name}**" if g.name == "overall" else g.name
        cells: list[Any] = [name, ", ".join(g.tasks) if g.name != "overall" else f"all {len(g.tasks)}"]
        for m in models:
            v = g.means.get(m)
            partial = v is not None and g.n_tasks.get(m, 0) < len(g.tasks)
            cells.append("—" if v is None else f"{100 * v:.1f}{' *' if partial else ''}")
        if has_pair:
            if g.test is not None:
                t = g.test
                cells += [f"{100 * t.delta:+.1f} [{100 * t.ci_low:+.1f}, {100 * t.ci_high:+.1f}]",
                          fmt_p(t.p_value, t.n_resamples), winner(t, alpha)]
            else:
                a, b = g.means.get("bert"), g.means.get("gpt")
                delta = a - b if a is not None and b is not None else None
                cells += ["—" if delta is None else f"{100 * delta:+.1f}", "—", winner(None, alpha, delta=delta)]
        rows.append(cells)
    return md_table(header, rows)


def all_metrics_table(summary: pl.DataFrame, models: Sequence[str], tasks: Sequence[str] | None = None,
                      published: Collection[str] = ()) -> str:
    """Every test metric of every task: mean ± std over seeds per model, and BERT − GPT."""
    rows_df = summary.filter(pl.col("metric").is_in(list(METRIC_LABELS)))
    if tasks is not None:
        order = {t: i for i, t in enumerate(tasks)}
        rows_df = rows_df.filter(pl.col("task").is_in(list(tasks)))
        rows_df = rows_df.with_columns(pl.col("task").replace_strict(order, return_dtype=pl.Int64).alias("_order"))
        rows_df = rows_df.sort(["_order", "metric"], maintain_order=True)
    header = ["task", "metric", *(model_label(m, published) for m in models), "BERT − GPT", "higher"]
    out = []
    for (task, metric), grp in rows_df.group_by(["task", "metric"], maintain_order=True):
        by_model = {r["model"]: r for r in grp.iter_rows(named=True)}
        cells = [task, metric_label(metric)]
        for m in models:
            r = by_model.get(m)
            cells.append(fmt_score(r["mean"], r["std"] or 0.0, r["n"], metric) if r else "—")
        if "bert" in by_model and "gpt" in by_model:
            diff = by_model["bert"]["mean"] - by_model["gpt"]["mean"]
            cells += [fmt_delta(diff, metric), "BERT" if diff > 0 else "GPT" if diff < 0 else "tie"]
        else:
            cells += ["—", "—"]
        out.append(cells)
    return md_table(header, out)


# Why two runs' MFUs can differ more than their tokens/s: each run divides by its own probe of the device's peak.
COMPUTE_NOTE = (
    "MFU = training FLOPs / (wall time × devices × peak probe), where *peak probe* is the device's GEMM throughput in the "
    "run's precision, measured by the run itself before it trains. On a machine whose speed moves (a shared or throttled "
    "CPU) two runs' probes can differ, and their MFUs with them; tokens/s needs no probe and compares runs directly."
)


def compute_table(pretrain: dict[str, dict[str, Any]]) -> str:
    """Each pre-trained model's cost; one row per pre-training run where ``runs`` holds several (``pretrain.seeds``).
    The peak probe each run's MFU divides by is a column of its own (:data:`COMPUTE_NOTE`)."""
    cols = [
        ("parameters", "parameters", fmt_count),
        ("tokens_seen", "tokens", fmt_count),
        ("train_flops", "training FLOPs", lambda v: f"{v:.2e}"),
        ("train_seconds", "wall time", fmt_seconds),
        ("tokens_per_second", "tokens/s", lambda v: f"{v:,.0f}"),
        ("mfu", "MFU", lambda v: f"{100 * v:.0f} %"),
        ("peak_flops_per_device", "peak probe", lambda v: f"{v / 1e9:,.0f} GFLOP/s"),
        ("peak_memory_mb", "peak memory", lambda v: f"{v:,.0f} MB"),
        ("precision", "precision", str),
    ]
    def cells(label: str, d: dict[str, Any]) -> list[str]:
        return [label, *(fmt(d[key]) if key in d else "—" for key, _, fmt in cols)]

    rows = []
    for m, s in pretrain.items():
        runs = [r for r in (s.get("runs") or {}).values() if isinstance(r, dict)]
        if len(runs) < 2:
            rows.append(cells(model_label(m), s))
            continue
        runs.sort(key=lambda r: r.get("seed") != s.get("seed"))  # the first pre-training run (the summary's) first
        rows += [cells(f"{model_label(m)} (seed {r.get('seed', '?')})", r) for r in runs]
    return md_table(["model", *(c[1] for c in cols)], rows)


@dataclass(frozen=True)
class IntrinsicRow:
    """One held-out metric of one pre-trained model beside its context-free floor (:mod:`bertvsgpt.evaluation.floors`)."""

    model: str
    key: str  # the intrinsic.json key
    label: str
    kind: str  # accuracy | perplexity | nats | count
    value: float
    floor_key: str | None = None  # the key of the floor in metrics/report.json, e.g. mlm_accuracy_unigram_floor
    floor: float | None = None
    floor_label: str = ""
    ratio_key: str | None = None
    ratio: float | None = None  # value / floor where the project reads it as a ratio
    target: str = ""  # e.g. "≥ 3× floor"
    met: bool | None = None
    per_run: tuple[float, ...] = ()  # each pre-training run's value (``value`` is their mean), first seed first


# (key, label, kind, floor key in intrinsic.json, ratio key in intrinsic.json) in table order
INTRINSIC_SPEC = (
    ("mlm_accuracy", "MLM accuracy", "accuracy", "unigram_accuracy", "accuracy_over_unigram"),
    ("next_token_accuracy", "next-token accuracy", "accuracy", "unigram_accuracy", "accuracy_over_unigram"),
    ("mlm_perplexity", "MLM perplexity", "perplexity", "unigram_perplexity", None),
    ("perplexity", "next-token perplexity", "perplexity", "unigram_perplexity", None),
    ("cross_entropy", "cross-entropy", "nats", "unigram_entropy", "cross_entropy_over_unigram_entropy"),
    ("nsp_accuracy", "NSP accuracy", "accuracy", None, None),
)
# The ratio targets the project tracks (README, "The recipe").
MLM_OVER_UNIGRAM, GPT_CE_OVER_ENTROPY, NSP_TARGET, NSP_CHANCE = 3.0, 0.72, 0.65, 0.5
INTRINSIC_NOTE = (
    "How to read: each held-out value sits beside what a context-free model scores on the very same positions: always "
    "predicting the most frequent training token (unigram accuracy), the training stream's unigram distribution (unigram "
    "perplexity) and the scored targets' own unigram entropy, the lowest cross-entropy any predictor that ignores context can "
    "reach; an accuracy ratio above 1, or a cross-entropy ratio below 1, is what the model learned from context. "
    f"Targets the project tracks: BERT held-out MLM accuracy ≥ {MLM_OVER_UNIGRAM:g}× its unigram floor; GPT held-out "
    f"cross-entropy ≤ {GPT_CE_OVER_ENTROPY:g}× the unigram entropy; NSP accuracy ≥ {100 * NSP_TARGET:.0f} % (chance "
    f"{100 * NSP_CHANCE:.0f} %). BERT's numbers are over masked tokens (both sides visible), GPT's over next tokens: "
    "ratios compare each model with its own floor, not the two models with each other."
)


def _num(d: dict[str, Any], key: str | None) -> float | None:
    v = d.get(key) if key else None
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def intrinsic_rows(intrinsic: dict[str, dict[str, Any]]) -> list[IntrinsicRow]:
    """The rows of the intrinsic table; floors, ratios and targets only where ``intrinsic.json`` has them
    (an older file without the unigram floors gives the values alone)."""
    out: list[IntrinsicRow] = []
    for model, d in intrinsic.items():
        causal = "next_token_accuracy" in d or "perplexity" in d
        used: set[str] = set()
        runs = [r for r in d.get("runs") or [] if isinstance(r, dict)]
        for key, label, kind, floor_key, ratio_key in INTRINSIC_SPEC:
            value = _num(d, key)
            if value is None:
                continue
            per_run = tuple(v for r in runs if (v := _num(r, key)) is not None)
            used.update(k for k in (key, floor_key, ratio_key) if k)
            if key == "cross_entropy":
                label += " (next tokens)" if causal else " (masked tokens)"
            if key == "nsp_accuracy":
                met = value >= NSP_TARGET
                out.append(IntrinsicRow(model, key, label, kind, value, f"{key}_chance", NSP_CHANCE, "chance",
                                        target=f"≥ {100 * NSP_TARGET:.0f} %", met=met, per_run=per_run))
                continue
            floor = _num(d, floor_key)
            ratio = _num(d, ratio_key) if ratio_key else None
            if ratio is None and ratio_key and floor:
                ratio = value / floor
            target, met = "", None
            if key == "mlm_accuracy":
                target = f"≥ {MLM_OVER_UNIGRAM:g}× floor"
                met = None if ratio is None else ratio >= MLM_OVER_UNIGRAM
            elif key == "cross_entropy" and causal:
                target = f"≤ {GPT_CE_OVER_ENTROPY:g}× entropy"
                met = None if ratio is None else ratio <= GPT_CE_OVER_ENTROPY
            floor_name = f"{key}_unigram_entropy" if floor_key == "unigram_entropy" else f"{key}_unigram_floor"
            ratio_name = f"{key}_over_unigram_entropy" if floor_key == "unigram_entropy" else f"{key}_over_unigram"
            out.append(IntrinsicRow(model, key, label, kind, value, floor_name, floor,
                                    "unigram entropy" if floor_key == "unigram_entropy" else "unigram",
                                    ratio_name if ratio_key else None, ratio, target, met, per_run))
        for key, v in d.items():  # anything else the evaluation recorded (the number of scored tokens, ...)
            if key in used or key.startswith("unigram_") or key.endswith(("_over_unigram", "_over_unigram_entropy")):
                continue
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                out.append(IntrinsicRow(model, key, key.replace("_", " "), "count" if isinstance(v, int) else "number", float(v)))
    return out


def _fmt_intrinsic(v: float | None, kind: str) -> str:
    if v is None:
        return "—"
    if kind == "accuracy":
        return f"{100 * v:.1f} %"
    if kind == "perplexity":
        return f"{v:,.1f}"
    if kind == "nats":
        return f"{v:.3f} nats"
    if kind == "count":
        return f"{v:,.0f}"
    return f"{v:.4g}"


def intrinsic_table(intrinsic: dict[str, dict[str, Any]]) -> str:
    """Each held-out metric beside its unigram floor (chance for NSP), their ratio and the target the project tracks;
    with several pre-training runs the value is their mean, and a column lists each run's."""
    rows, all_rows = [], intrinsic_rows(intrinsic)
    several = any(len(r.per_run) > 1 for r in all_rows)
    for r in all_rows:
        floor = _fmt_intrinsic(r.floor, r.kind) if r.floor is not None else "—"
        if r.floor is not None and r.floor_label == "chance":
            floor += " (chance)"
        target = f"{r.target}: {'met' if r.met else '**not met**'}" if r.target and r.met is not None else (r.target or "—")
        row = [model_label(r.model), r.label, _fmt_intrinsic(r.value, r.kind)]
        if several:
            row.append(" / ".join(_fmt_intrinsic(v, r.kind) for v in r.per_run) or "—")
        rows.append(row + [floor, f"{r.ratio:.2f}×" if r.ratio is not None else "—", target])
    head = ["model", "metric", "value (mean over runs)" if several else "value"] + (["each pre-training run"] if several else [])
    return md_table(head + ["unigram floor", "value / floor", "target"], rows)


def intrinsic_metrics(intrinsic: dict[str, dict[str, Any]]) -> dict[str, dict[str, float]]:
    """``{model: {<metric>: value, <metric>_unigram_floor: ..., <metric>_over_unigram: ..., cross_entropy_unigram_entropy: ...,
    cross_entropy_over_unigram_entropy: ..., nsp_accuracy_chance: 0.5}}`` for ``metrics/report.json`` (accuracies as fractions)."""
    out: dict[str, dict[str, float]] = {}
    for r in intrinsic_rows(intrinsic):
        d = out.setdefault(r.model, {})
        d[r.key] = round(r.value, 4)
        if r.floor is not None and r.floor_key:
            d[r.floor_key] = round(r.floor, 4)
        if r.ratio is not None and r.ratio_key:
            d[r.ratio_key] = round(r.ratio, 4)
    return out


def _fmt_size(v: float | None) -> str:
    if v is None:
        return "—"
    return f"{v:,.0f}" if abs(v - round(v)) < 1e-9 else f"{v:,.1f}"


SIZE_COLUMNS = (("n_train", "train"), ("n_dev", "dev"), ("n_test", "test"), ("steps_per_epoch", "steps/epoch"),
                ("max_epochs", "epoch limit"), ("epochs_run", "epochs run"), ("steps_run", "steps run"))


def sizes_table(runs: pl.DataFrame | None, models: Sequence[str], tasks: Sequence[str], published: Collection[str] = ()) -> str | None:
    """Per task: the split sizes as fine-tuned and the optimizer steps run, mean over seeds; one row for all models
    when they agree, one per model where they differ. ``None`` when no run recorded them."""
    keys = [k for k, _ in SIZE_COLUMNS]
    if runs is None or runs.height == 0 or not any(k in runs.columns and runs.get_column(k).drop_nulls().len() for k in keys):
        return None
    means = runs.group_by(["task", "model"]).agg(*(pl.col(k).mean() for k in keys if k in runs.columns))
    rows = []
    for task in tasks:
        per_model = {}
        for m in models:
            sel = means.filter((pl.col("task") == task) & (pl.col("model") == m))
            if sel.height:
                r = sel.row(0, named=True)
                per_model[m] = tuple(None if r.get(k) is None else round(float(r[k]), 6) for k in keys)
        if not per_model:
            continue
        if len(set(per_model.values())) == 1:
            rows.append([task, "all", *(_fmt_size(v) for v in next(iter(per_model.values())))])
        else:
            rows += [[task, model_label(m, published), *(_fmt_size(v) for v in vals)] for m, vals in per_model.items()]
    return md_table(["task", "model", *(label for _, label in SIZE_COLUMNS)], rows, align=["l", "l"] + ["r"] * len(SIZE_COLUMNS))


def _published_family(record: Mapping[str, Any]) -> str:
    family = record.get("family")
    text = MODEL_LABELS.get(str(family), str(family or "?"))
    model_type = record.get("model_type")
    return f"{text} (`{model_type}`)" if model_type and model_type != family else text


def _published_added(record: Mapping[str, Any]) -> str:
    """What the conversion added: the parts initialised at random, the tokens added to the vocabulary."""
    parts = []
    if record.get("initialised"):
        parts.append("initialised: " + ", ".join(str(x) for x in record["initialised"]))
    if record.get("added_tokens"):
        parts.append("added tokens: " + ", ".join(f"`{t}`" for t in record["added_tokens"]))
    return "; ".join(parts) or "nothing"


SHA_PREFIX = 12  # hex digits of a source's sha256 shown in the table


def _published_source(record: Mapping[str, Any]) -> str:
    """``pip: `spec` (sha256 `040bc6629224…`)`` (``…, not pinned`` when params did not pin it), or ``hub: `id` @ `revision```."""
    source = record.get("source")
    if isinstance(source, Mapping):
        text = f"{source.get('client', '?')}: `{source.get('spec', '')}`"
        sha = source.get("sha256")
        if sha:  # a source without a pinned sha256 (a local folder, say) records the one it found, unchecked
            text += f" (sha256 `{str(sha)[:SHA_PREFIX]}…`{', not pinned' if source.get('sha256_pinned') is False else ''})"
        return text
    if record.get("hub"):
        revision = record.get("revision_folder")
        return f"hub: `{record['hub']}`" + (f" @ `{str(revision)[:SHA_PREFIX]}`" if revision else "")
    return "—"


def _published_licence(record: Mapping[str, Any]) -> str:
    source = record.get("source")
    return str(source.get("licence") or "unknown") if isinstance(source, Mapping) else str(record.get("licence") or "unknown")


def _int_count(v: Any) -> str:
    return fmt_count(float(v)) if isinstance(v, (int, float)) and not isinstance(v, bool) else "—"


def published_table(published: Mapping[str, Mapping[str, Any]]) -> str:
    """One row per published checkpoint fine-tuned in this run (``published``: name -> its record, see
    :mod:`bertvsgpt.evaluation.published`): family, size, what the conversion added, where it came from, what it is."""
    rows = []
    for name, r in published.items():
        rows.append([md_cell(model_label(name, published)), md_cell(_published_family(r)), _int_count(r.get("parameters")),
                     _int_count(r.get("non_embedding_parameters")), md_cell(_published_added(r)), md_cell(_published_source(r)),
                     md_cell(_published_licence(r)), md_cell(" ".join(str(r.get("description") or "—").split()))])
    return md_table(["checkpoint", "family", "parameters", "non-embedding parameters", "added at conversion", "source", "licence",
                     "description"], rows, align=["l", "l", "r", "r", "l", "l", "l", "l"])


def cards_table(cards: Sequence[dict[str, Any]], usage: dict[str, str]) -> str:
    """One row per data source: what it is used for, where it comes from, its licence and size."""
    rows = []
    for c in cards:
        counts = c.get("counts") or {}
        size = ", ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}" for k, v in counts.items())
        rows.append([md_cell(c.get("name", "?")), md_cell(usage.get(c.get("name", ""), "—")),
                     md_cell(f"{c.get('client', '?')}: `{c.get('spec', '')}`"), md_cell(c.get("licence", "unknown")), md_cell(size)])
    return md_table(["source", "used for", "origin", "licence", "size"], rows)


def contamination_table(overlaps: Sequence[Overlap], n: int) -> str:
    rows = [[o.task, f"{o.n_examples:,}", f"{o.n_checkable:,}", f"{o.n_overlapping:,}", f"{100 * o.share:.1f} %"] for o in overlaps]
    return md_table(["task", "test examples", f"with ≥ {n} words", f"sharing {n} consecutive words with the corpus", "share"], rows,
                    align=["l", "r", "r", "r", "r"])


def budget_table(points: Sequence[BudgetPoint]) -> str:
    rows = []
    for p in points:
        val = fmt_score(p.mean, p.std, p.n, p.metric)
        rows.append([p.task, model_label(p.arch), f"{100 * p.fraction:.0f} %", f"{p.flops:.2e}", metric_label(p.metric), val, p.source])
    return md_table(["task", "pre-training", "of the token budget", "pre-training FLOPs", "metric", "score", "from"], rows)


def scale_note(metrics: Sequence[str]) -> str:
    """What the numbers of a table are."""
    hundred = sorted({metric_label(m) for m in metrics if m in SCALE_100})
    note = "Scores are percentages (0-100)"
    if hundred:
        note += f"; {', '.join(hundred)} on sacreBLEU's 0-100 scale"
    return note + "."
