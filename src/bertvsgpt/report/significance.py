"""Paired bootstrap over test examples: is one model's score on a task really higher than another's?

Every model and seed of a task predicts the *same* test rows in the same order, so the models can
be compared example by example (Koehn, 2004, "Statistical Significance Tests for Machine
Translation Evaluation"; Berg-Kirkpatrick et al., 2012). One resample draws ``n`` test examples
with replacement; the *same* draws are used for every model and every seed of the task, so
comparisons stay paired. On a resample, each seed's corpus-level metric is recomputed from summed
per-example statistics and a model's score is the mean over its seeds, exactly as the headline mean
is computed on the full test set. A model's seeds are runs, and runs differ by more than their test
examples: fine-tuning seed ``i`` of a pre-trained model starts from its own pre-training run
(``pretrain.seeds``), and a pre-training run moves a score by up to 20 points. So each resample also
draws the model's seeds with replacement (a two-level bootstrap: runs, then test examples; Davison
& Hinkley 1997, sec. 3.8) and averages the drawn seeds' scores; a model with one seed, or seeds that
agree, is unaffected, seeds that disagree widen its interval. With two runs per model that draw is
coarse (it can only pick the first, the second or both); more seeds sharpen it:

* accuracy (classification, multiple choice), QA F1 and exact match: the mean of the per-example
  values (``correct``, ``f1``, ``exact_match``);
* entity F1 (NER): ``2·correct / (gold + predicted)`` from the summed per-sentence entity counts
  (micro F1, as seqeval computes it);
* BLEU and chrF (translation): sacreBLEU's corpus score from the summed sentence statistics
  (n-gram matches and totals, lengths), i.e. the exact corpus BLEU/chrF of the resampled
  hypotheses and references, not a mean of sentence scores.

The p-value of ``H0: the two models score the same`` is two-sided: the bootstrap distribution of
the difference ``d*`` is centred on zero and ``p = (1 + #{|d* − mean(d*)| ≥ |d|}) / (B + 1)``
with ``d`` the observed difference and ``B`` resamples (the +1 keeps an estimate from a finite
bootstrap above zero; sacreBLEU's ``--paired-bs`` uses the same form). Identical predictions give
``p = 1``; a model right on every example against one wrong on every example gives the smallest
possible value, ``1 / (B + 1)``. The 95 % interval is the 2.5th-97.5th percentile of ``d*``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

StatsFn = Callable[[pl.DataFrame], np.ndarray]
ScoreFn = Callable[[np.ndarray], np.ndarray]


def _mean_stats(column: str) -> StatsFn:
    def stats(frame: pl.DataFrame) -> np.ndarray:
        x = frame.get_column(column).cast(pl.Float64).fill_null(0.0).to_numpy()
        return np.stack([x, np.ones_like(x)], axis=1)

    return stats


def _mean_score(summed: np.ndarray) -> np.ndarray:
    return summed[:, 0] / np.maximum(summed[:, 1], 1e-300)


def _entity_stats(frame: pl.DataFrame) -> np.ndarray:
    cols = ("n_gold_entities", "n_pred_entities", "n_correct_entities")
    return np.stack([frame.get_column(c).cast(pl.Float64).to_numpy() for c in cols], axis=1)


def _entity_f1(summed: np.ndarray) -> np.ndarray:
    gold, pred, correct = summed[:, 0], summed[:, 1], summed[:, 2]
    denom = gold + pred
    return np.where(denom > 0, 2.0 * correct / np.where(denom > 0, denom, 1.0), 0.0)


def _sacrebleu_metric(name: str):
    from sacrebleu.metrics import BLEU, CHRF

    return BLEU() if name == "bleu" else CHRF()


def _sacrebleu_stats(name: str) -> StatsFn:
    def stats(frame: pl.DataFrame) -> np.ndarray:
        hyps = [h or "" for h in frame.get_column("hypothesis").to_list()]
        refs = [r or "" for r in frame.get_column("reference").to_list()]
        metric = _sacrebleu_metric(name)
        return np.asarray(metric._extract_corpus_statistics(hyps, [refs]), dtype=np.float64)

    return stats


def _sacrebleu_score(name: str) -> ScoreFn:
    def score(summed: np.ndarray) -> np.ndarray:
        metric = _sacrebleu_metric(name)
        ints = np.rint(summed).astype(np.int64)
        return np.array([metric._compute_score_from_stats(list(row)).score for row in ints])

    return score


# metric -> (per-example statistics of one prediction table, corpus score of summed statistics)
METRICS: dict[str, tuple[StatsFn, ScoreFn]] = {
    "test_accuracy": (_mean_stats("correct"), _mean_score),
    "test_f1": (_mean_stats("f1"), _mean_score),
    "test_exact_match": (_mean_stats("exact_match"), _mean_score),
    "test_entity_f1": (_entity_stats, _entity_f1),
    "test_bleu": (_sacrebleu_stats("bleu"), _sacrebleu_score("bleu")),
    "test_chrf": (_sacrebleu_stats("chrf"), _sacrebleu_score("chrf")),
}
HOW = {
    "test_accuracy": "mean of per-example correctness",
    "test_f1": "mean of per-example SQuAD F1",
    "test_exact_match": "mean of per-example exact match",
    "test_entity_f1": "micro entity F1 from summed entity counts",
    "test_bleu": "corpus BLEU recomputed with sacreBLEU from summed sentence statistics",
    "test_chrf": "corpus chrF recomputed with sacreBLEU from summed sentence statistics",
}


def supports(metric: str, frame: pl.DataFrame) -> bool:
    """Whether ``metric`` can be recomputed from a prediction table with these columns."""
    needs = {
        "test_accuracy": ("correct",),
        "test_f1": ("f1",),
        "test_exact_match": ("exact_match",),
        "test_entity_f1": ("n_gold_entities", "n_pred_entities", "n_correct_entities"),
        "test_bleu": ("hypothesis", "reference"),
        "test_chrf": ("hypothesis", "reference"),
    }
    return metric in needs and all(c in frame.columns for c in needs[metric])


def resample_counts(n: int, n_resamples: int, seed: int) -> np.ndarray:
    """``(B, n)``: how often each example is drawn in each resample (each row sums to ``n``)."""
    if n < 1:
        raise ValueError("no test examples to resample")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_resamples, n))
    counts = np.zeros((n_resamples, n), dtype=np.float64)
    np.add.at(counts, (np.arange(n_resamples)[:, None], idx), 1.0)
    return counts


@dataclass(frozen=True)
class Replicates:
    """One model on one task: its score on the full test set and on every resample (mean over seeds)."""

    observed: float
    resampled: np.ndarray  # (B,)
    n_seeds: int


def model_replicates(frames: Sequence[pl.DataFrame], metric: str, counts: np.ndarray, seed_rng: np.random.Generator | None = None) -> Replicates:
    """Score of a model (one prediction table per seed) on the full set and on each resample.

    ``seed_rng``: also resample the seeds (with replacement, ``len(frames)`` draws per resample, from this
    generator) and average the drawn seeds' scores; ``None`` averages every seed on every resample."""
    stats_fn, score_fn = METRICS[metric]
    observed, resampled = [], []
    for frame in frames:
        stats = stats_fn(frame)
        if stats.shape[0] != counts.shape[1]:
            raise ValueError(f"{stats.shape[0]} predictions but {counts.shape[1]} test examples")
        observed.append(float(score_fn(stats.sum(axis=0, keepdims=True))[0]))
        resampled.append(score_fn(counts @ stats))
    per_seed = np.stack(resampled)  # (seeds, B)
    if seed_rng is None or len(frames) == 1:
        return Replicates(float(np.mean(observed)), per_seed.mean(axis=0), len(frames))
    draws = seed_rng.integers(0, len(frames), size=(per_seed.shape[1], len(frames)))  # (B, seeds drawn)
    return Replicates(float(np.mean(observed)), per_seed[draws, np.arange(per_seed.shape[1])[:, None]].mean(axis=1), len(frames))


@dataclass(frozen=True)
class PairedTest:
    """``a − b``: observed difference, 95 % bootstrap interval, two-sided p-value."""

    delta: float
    ci_low: float
    ci_high: float
    p_value: float
    n_examples: int
    n_resamples: int

    def significant(self, alpha: float) -> bool:
        return self.p_value < alpha


def paired_test(delta: float, resampled: np.ndarray, n_examples: int) -> PairedTest:
    """Test ``H0: a = b`` from the observed difference and its bootstrap replicates."""
    resampled = np.asarray(resampled, dtype=np.float64)
    b = resampled.shape[0]
    centred = np.abs(resampled - resampled.mean())
    extreme = int(np.count_nonzero(centred >= abs(delta) - 1e-12))
    p = (1 + extreme) / (b + 1)
    lo, hi = np.percentile(resampled, [2.5, 97.5])
    return PairedTest(float(delta), float(lo), float(hi), float(min(1.0, p)), n_examples, b)


def compare(a: Replicates, b: Replicates, n_examples: int) -> PairedTest:
    return paired_test(a.observed - b.observed, a.resampled - b.resampled, n_examples)


def check_same_rows(frames: Mapping[str, pl.DataFrame]) -> int:
    """All prediction tables of a task list the same test ids in the same order; returns their number."""
    names = list(frames)
    first = frames[names[0]].get_column("id").to_list()
    for name in names[1:]:
        if frames[name].get_column("id").to_list() != first:
            raise ValueError(f"{name}: its test rows differ from {names[0]}'s (ids or order); a paired test needs the same rows")
    return len(first)
