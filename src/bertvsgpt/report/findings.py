"""\"What this run shows\": sentences generated from the numbers only, never written by hand.

A difference is called significant when its paired-bootstrap p-value is below ``report.alpha``;
otherwise the sentence says the run cannot tell the models apart on that task.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .comparison import GroupResult, TaskResult
from .contamination import Overlap
from .labels import PRETRAINED, TWINS, baseline_label, fmt_count, fmt_p, fmt_points, model_label, points, published_families


def _join(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _pts(delta: float, metric: str) -> str:
    v = abs(points(delta, metric))
    return f"{fmt_points(v)} point{'s' if round(v, 2) != 1.0 else ''}"


def bert_vs_gpt(results: Sequence[TaskResult], alpha: float) -> list[str]:
    bert_wins, gpt_wins, ties = _by_significance(
        results, ("bert", "gpt"), alpha,
        lambda r, t: f"{r.task} ({_pts(t.delta, r.metric)}, p {fmt_p(t.p_value, t.n_resamples)})",
        lambda r, t: f"{r.task} (p {fmt_p(t.p_value, t.n_resamples)})",
    )
    untested = [r.task for r in results if r.tests.get(("bert", "gpt")) is None and "bert" in r.scores and "gpt" in r.scores]
    out = []
    if bert_wins:
        out.append(f"BERT scores significantly higher than GPT (p < {alpha:g}) on {_join(bert_wins)}.")
    if gpt_wins:
        out.append(f"GPT scores significantly higher than BERT (p < {alpha:g}) on {_join(gpt_wins)}.")
    trivial = [r for r in results if (t := r.tests.get(("bert", "gpt"))) is not None and t.significant(alpha)
               and r.none_above_trivial(("bert", "gpt"), alpha)]
    if trivial:
        refs = _join(sorted({baseline_label(r.reference) for r in trivial if r.reference}))
        out.append(f"On {_join([r.task for r in trivial])} neither BERT nor GPT scores significantly above the trivial "
                   f"baseline ({refs}): {'that win separates' if len(trivial) == 1 else 'those wins separate'} "
                   f"two models that did not learn the task.")
    if ties:
        out.append(f"The difference between BERT and GPT is not significant on {_join(ties)}.")
    if not bert_wins and not gpt_wins and ties:
        out.append("On no task does either pre-training objective win significantly in this run.")
    if untested:
        out.append(f"No paired test was possible on {_join(untested)} (no per-example predictions).")
    return out


def _by_significance(results: Sequence[TaskResult], pair: tuple[str, str], alpha: float,
                     significant: Callable[[TaskResult, Any], str], level: Callable[[TaskResult, Any], str]
                     ) -> tuple[list[str], list[str], list[str]]:
    """The tasks where ``pair[0]`` scores significantly above / below ``pair[1]`` and where they are level,
    each task written by ``significant`` or ``level`` (task result, paired test)."""
    above: list[str] = []
    below: list[str] = []
    flat: list[str] = []
    for r in results:
        t = r.tests.get(pair)
        if t is None:
            continue
        if t.significant(alpha):
            (above if t.delta > 0 else below).append(significant(r, t))
        else:
            flat.append(level(r, t))
    return above, below, flat


def _not_above(r: TaskResult, model: str, alpha: float) -> str:
    """``, not above <trivial baseline>`` where ``model`` was tested against the task's trivial baseline and is not
    significantly above it (a gain over scratch there is not a skill); empty otherwise."""
    return f", not above {baseline_label(r.reference)}" if r.above_trivial(model, alpha) is False else ""


def pretraining_gain(results: Sequence[TaskResult], alpha: float) -> list[str]:
    out = []
    for model, twin in TWINS.items():
        helped, hurt, flat = _by_significance(
            results, (model, twin), alpha,
            lambda r, t: f"{r.task} ({'+' if t.delta > 0 else '−'}{_pts(t.delta, r.metric)}{_not_above(r, model, alpha)})",
            lambda r, t: r.task)
        if not (helped or hurt or flat):
            continue
        name, scratch = model_label(model), model_label(twin)
        parts = []
        if helped:
            parts.append(f"pre-training helped {name} significantly over {scratch} on {_join(helped)}")
        if hurt:
            parts.append(f"{name} scored significantly below {scratch} on {_join(hurt)}")
        if flat:
            parts.append(f"{name} and {scratch} are not significantly different on {_join(flat)}")
        sentence = "; ".join(parts)
        out.append(sentence[0].upper() + sentence[1:] + ".")
    return out


def published_vs_ours(results: Sequence[TaskResult], alpha: float, published: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Per published checkpoint: where it scores significantly above, below or level with our pre-trained model of its family."""
    out = []
    for name, family in published_families(published).items():
        above, below, level = _by_significance(
            results, (name, family), alpha,
            lambda r, t: f"{r.task} ({_pts(t.delta, r.metric)}, p {fmt_p(t.p_value, t.n_resamples)})",
            lambda r, t: f"{r.task} (p {fmt_p(t.p_value, t.n_resamples)})")
        if not (above or below or level):
            continue
        label, ours = model_label(name, published), model_label(family)
        parts = []
        if above:
            parts.append(f"{label} scores significantly higher than {ours} (p < {alpha:g}) on {_join(above)}")
        if below:
            parts.append(f"{'it' if above else label} scores significantly below {ours} on {_join(below)}")
        if level:
            parts.append(f"{'it' if above or below else label} is not significantly different from {ours} on {_join(level)}")
        out.append("; ".join(parts) + ".")
    return out


def against_baselines(results: Sequence[TaskResult], alpha: float) -> list[str]:
    """Per pre-trained model: where it beats, ties or trails the task's trivial baseline, and where a classical baseline beats it."""
    out = []
    for model in PRETRAINED:
        name = model_label(model)
        above, level, below, classical = [], [], [], []
        for r in results:
            t = r.baseline_tests.get((model, r.reference)) if r.reference else None
            if t is not None:
                sign = "" if t.significant(alpha) else "+" if t.delta >= 0 else "−"  # the direction of a non-significant difference
                item = f"{r.task} ({baseline_label(r.reference)}, {sign}{_pts(t.delta, r.metric)}, p {fmt_p(t.p_value, t.n_resamples)})"
                (level if not t.significant(alpha) else above if t.delta > 0 else below).append(item)
            for b in r.baselines:
                bt = r.baseline_tests.get((model, b))
                if b != r.reference and bt is not None and bt.significant(alpha) and bt.delta < 0:
                    classical.append(f"{r.task} ({baseline_label(b)}, {_pts(bt.delta, r.metric)} higher, p {fmt_p(bt.p_value, bt.n_resamples)})")
        parts = []
        if above and not level and not below:
            parts.append(f"{name} beats the trivial baseline significantly (p < {alpha:g}) on every task tested")
        elif above:
            parts.append(f"{name} beats the trivial baseline significantly on {_join([i.split(' (')[0] for i in above])}")
        if level:
            parts.append(f"{name} is not significantly different from it on {_join(level)}" if above
                         else f"{name} is not significantly different from the trivial baseline on {_join(level)}")
        if below:
            parts.append(f"{name} scores significantly below the trivial baseline on {_join(below)}")
        if parts:
            out.append("; ".join(parts) + ".")
        if classical:
            out.append(f"A classical baseline scores significantly higher than {name} on {_join(classical)}.")
    return out


def by_group(groups: Sequence[GroupResult], alpha: float, results: Sequence[TaskResult] = ()) -> list[str]:
    """One sentence per group: who wins it; a win also names the group's tasks (of ``results``) where neither
    model is significantly above the trivial baseline."""
    trivial = {r.task for r in results if r.none_above_trivial(("bert", "gpt"), alpha)}
    out = []
    for g in groups:
        a, b = g.means.get("bert"), g.means.get("gpt")
        if a is None or b is None:
            continue
        scope = "Over all tasks" if g.name == "overall" else f"On {g.name} ({', '.join(g.tasks)})"
        avg = f"average {100 * a:.1f} vs {100 * b:.1f}"
        if g.test is None:
            lead = "BERT" if a > b else "GPT" if b > a else "neither"
            out.append(f"{scope}, {lead} leads on the {avg} (untested).")
        elif g.test.significant(alpha):
            lead = "BERT" if g.test.delta > 0 else "GPT"
            flat = [t for t in g.tasks if t in trivial]
            caveat = f", but neither model is significantly above the trivial baseline on {_join(flat)}" if flat else ""
            out.append(f"{scope}, {lead} wins: {avg} (p {fmt_p(g.test.p_value, g.test.n_resamples)}){caveat}.")
        else:
            out.append(f"{scope}, neither objective wins significantly: {avg} (p {fmt_p(g.test.p_value, g.test.n_resamples)}).")
    return out


def _total_seconds(summary: dict[str, Any]) -> float | None:
    """Wall time of all of an objective's pre-training runs (``runs``), or of the one run the summary describes."""
    runs = [r for r in (summary.get("runs") or {}).values() if isinstance(r, dict)]
    values = [r.get("train_seconds") for r in runs] if runs else [summary.get("train_seconds")]
    return float(sum(values)) if values and all(isinstance(v, (int, float)) and v for v in values) else None


def compute_sentence(pretrain: dict[str, dict[str, Any]]) -> list[str]:
    b, g = pretrain.get("bert") or {}, pretrain.get("gpt") or {}
    keys = ("train_flops", "tokens_seen", "train_seconds")
    if not all(isinstance(d.get(k), (int, float)) and d.get(k) for d in (b, g) for k in keys):
        return []
    tb, tg = _total_seconds(b), _total_seconds(g)
    n = len(g.get("runs") or {}) if isinstance(g.get("runs"), dict) else 0
    over = f" over its {n} pre-training runs" if n > 1 and n == len(b.get("runs") or {}) else ""
    time = f" and {tg / tb:.2f}× its wall time{over}" if tb and tg else ""
    return [
        f"For {fmt_count(b['tokens_seen'])} (BERT) and {fmt_count(g['tokens_seen'])} (GPT) pre-training tokens, "
        f"GPT used {g['train_flops'] / b['train_flops']:.2f}× BERT's training FLOPs{time}."
    ]


def contamination_sentence(overlaps: Sequence[Overlap], n: int) -> list[str]:
    if not overlaps:
        return []
    worst = max(overlaps, key=lambda o: o.share)
    if worst.n_overlapping == 0:
        return [f"No test example of any task shares {n} consecutive words with the pre-training corpus."]
    return [f"At most {100 * worst.share:.1f} % of a task's test examples share {n} consecutive words with the "
            f"pre-training corpus ({worst.task}); see *Data*."]


def findings(
    results: Sequence[TaskResult],
    groups: Sequence[GroupResult],
    pretrain: dict[str, dict[str, Any]],
    overlaps: Sequence[Overlap],
    alpha: float,
    ngram: int,
    published: Mapping[str, Mapping[str, Any]] | None = None,
    label_sentences: Sequence[str] = (),
) -> list[str]:
    """The report's opening list; ``label_sentences`` (:func:`.label_efficiency.label_efficiency_findings`) follow the
    gains over scratch."""
    return [
        *bert_vs_gpt(results, alpha),
        *by_group(groups, alpha, results),
        *pretraining_gain(results, alpha),
        *label_sentences,
        *published_vs_ours(results, alpha, published or {}),
        *against_baselines(results, alpha),
        *compute_sentence(pretrain),
        *contamination_sentence(overlaps, ngram),
    ]
