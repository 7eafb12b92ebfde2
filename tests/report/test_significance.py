"""Paired bootstrap: p-values, intervals and per-metric recomputation against hand-computed values."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from sacrebleu.metrics import BLEU, CHRF

from bertvsgpt.report.significance import (
    check_same_rows,
    compare,
    model_replicates,
    paired_test,
    resample_counts,
    supports,
)

B = 1000


def correct_frame(flags: list[bool]) -> pl.DataFrame:
    return pl.DataFrame({"id": list(range(len(flags))), "correct": flags})


def test_always_right_vs_always_wrong_gives_the_smallest_p():
    counts = resample_counts(50, B, seed=0)
    right = model_replicates([correct_frame([True] * 50)], "test_accuracy", counts)
    wrong = model_replicates([correct_frame([False] * 50)], "test_accuracy", counts)
    t = compare(right, wrong, 50)
    # every resample has difference exactly 1, so none is as far from the centre as the observed 1
    assert t.delta == 1.0 and t.ci_low == 1.0 and t.ci_high == 1.0
    assert t.p_value == pytest.approx(1 / (B + 1))  # ≈ 0.001, the smallest a bootstrap of B can give
    assert t.significant(0.05) and t.n_examples == 50 and t.n_resamples == B


def test_identical_predictions_give_p_one():
    flags = [True, False, True, True, False, False, True, False] * 5
    counts = resample_counts(len(flags), B, seed=1)
    a = model_replicates([correct_frame(flags)], "test_accuracy", counts)
    b = model_replicates([correct_frame(flags)], "test_accuracy", counts)
    t = compare(a, b, len(flags))
    assert t.delta == 0.0 and t.p_value == 1.0 and (t.ci_low, t.ci_high) == (0.0, 0.0)
    assert not t.significant(0.05)


def test_fixed_seed_reproduces_and_another_seed_differs():
    assert np.array_equal(resample_counts(30, 100, 7), resample_counts(30, 100, 7))
    assert not np.array_equal(resample_counts(30, 100, 7), resample_counts(30, 100, 8))


def test_resample_counts_match_a_naive_index_resampling():
    n, b, seed = 12, 200, 3
    counts = resample_counts(n, b, seed)
    assert counts.shape == (b, n) and np.all(counts.sum(axis=1) == n)
    idx = np.random.default_rng(seed).integers(0, n, size=(b, n))  # the same draws, one resample per row
    x = np.arange(n, dtype=float) ** 2
    assert np.allclose(counts @ x / n, x[idx].mean(axis=1))


def test_p_value_formula_by_hand():
    # observed 0.3; the replicates' mean is 1.5 / 5 = 0.3, |d* − 0.3| = 0.5, 0.1, 0.3, 0.1, 0.2 -> 2 of 5 are ≥ 0.3
    t = paired_test(0.3, np.array([-0.2, 0.2, 0.6, 0.4, 0.5]), n_examples=9)
    assert t.p_value == pytest.approx((1 + 2) / (5 + 1))
    assert t.delta == 0.3 and t.n_resamples == 5 and t.n_examples == 9
    lo, hi = np.percentile([-0.2, 0.2, 0.6, 0.4, 0.5], [2.5, 97.5])
    assert (t.ci_low, t.ci_high) == pytest.approx((lo, hi))


def test_mid_range_p_value_matches_a_plain_loop():
    """The documented test written out as a loop over resamples (the same numpy draws, one resample per row):
    per-resample accuracies of both models, their difference, centred, counted against the observed one."""
    n, b, seed = 60, 1000, 11
    rng = np.random.default_rng(5)
    a_flags = (rng.random(n) < 0.70).tolist()
    b_flags = (rng.random(n) < 0.62).tolist()
    counts = resample_counts(n, b, seed)
    t = compare(model_replicates([correct_frame(a_flags)], "test_accuracy", counts),
                model_replicates([correct_frame(b_flags)], "test_accuracy", counts), n)

    x, y = np.array(a_flags, dtype=float), np.array(b_flags, dtype=float)
    observed = x.mean() - y.mean()
    draws = np.random.default_rng(seed).integers(0, n, size=(b, n))
    replicates = []
    for draw in draws:
        replicates.append(sum(x[i] for i in draw) / n - sum(y[i] for i in draw) / n)
    centre = sum(replicates) / b
    as_extreme = sum(1 for d in replicates if abs(d - centre) >= abs(observed))
    p = (1 + as_extreme) / (b + 1)
    assert 0.1 < p < 0.9  # mid-range: neither end of the scale, where a wrong formula can still agree
    assert t.delta == pytest.approx(observed, abs=1e-12)
    assert t.p_value == pytest.approx(p, abs=1e-12)
    assert (t.ci_low, t.ci_high) == pytest.approx(tuple(np.percentile(replicates, [2.5, 97.5])), abs=1e-12)


def test_false_positive_rate_of_equal_models_is_alpha():
    """Two models that are truly equal (each example right with probability 0.7, independently): the test
    rejects at p < 0.05 in about 5 % of simulated pairs. 400 pairs: binomial sd of the rate 1.1 points;
    the band is 5 % ± 3.5 sd (the bootstrap's true rate here is about 5.6 %)."""
    n, b, sims, alpha = 100, 500, 400, 0.05
    rng = np.random.default_rng(2024)
    rejected = 0
    for s in range(sims):
        a_flags, b_flags = (rng.random(n) < 0.7).tolist(), (rng.random(n) < 0.7).tolist()
        counts = resample_counts(n, b, seed=s)
        t = compare(model_replicates([correct_frame(a_flags)], "test_accuracy", counts),
                    model_replicates([correct_frame(b_flags)], "test_accuracy", counts), n)
        rejected += t.significant(alpha)
    sd = (alpha * (1 - alpha) / sims) ** 0.5
    assert abs(rejected / sims - alpha) < 3.5 * sd, rejected / sims


def test_p_value_is_two_sided():
    reps = np.array([0.1, -0.1, 0.3, -0.3, 0.0])
    assert paired_test(0.25, reps, 5).p_value == paired_test(-0.25, -reps, 5).p_value == pytest.approx(3 / 6)


def test_seeds_are_averaged_per_resample():
    counts = resample_counts(4, 50, 0)
    s0, s1 = correct_frame([True, True, False, False]), correct_frame([True, True, True, True])
    r = model_replicates([s0, s1], "test_accuracy", counts)
    assert r.observed == pytest.approx((0.5 + 1.0) / 2) and r.n_seeds == 2
    x0 = np.array([1, 1, 0, 0.0])
    assert np.allclose(r.resampled, (counts @ x0 / 4 + 1.0) / 2)


def test_resampling_seeds_leaves_agreeing_seeds_alone_and_widens_disagreeing_ones():
    counts = resample_counts(40, B, 0)
    same = [correct_frame([True, False] * 20)] * 2
    fixed = model_replicates(same, "test_accuracy", counts)
    drawn = model_replicates(same, "test_accuracy", counts, np.random.default_rng(0))
    assert np.allclose(drawn.resampled, fixed.resampled) and drawn.observed == fixed.observed

    apart = [correct_frame([True] * 30 + [False] * 10), correct_frame([True] * 10 + [False] * 30)]  # 75 % and 25 %
    fixed = model_replicates(apart, "test_accuracy", counts)
    drawn = model_replicates(apart, "test_accuracy", counts, np.random.default_rng(0))
    assert drawn.observed == fixed.observed == pytest.approx(0.5)
    assert drawn.resampled.std() > 2 * fixed.resampled.std()
    # each resample averages two drawn seeds: about a quarter draw the 75 % seed twice, a quarter the 25 % one twice
    high = np.mean(drawn.resampled > 0.62)  # the twice-drawn 75 % seed (±7 points); a mixed draw stays near 50 %
    assert 0.18 < high < 0.32, high
    again = model_replicates(apart, "test_accuracy", counts, np.random.default_rng(0))
    assert np.array_equal(again.resampled, drawn.resampled)  # seeded: the same draws


def test_a_run_level_difference_is_not_significant_with_two_runs_that_disagree():
    """BERT's two pre-training runs score 90 % and 50 %, GPT's two 72 % and 68 %: averaged over the test examples
    alone BERT's mean 70 % vs GPT's 70 % is a tie anyway, so shift GPT down to 62/58 %: significant when only the
    examples are resampled, not once the runs are too."""
    n = 200
    counts = resample_counts(n, B, 3)
    bert = [correct_frame([True] * 180 + [False] * 20), correct_frame([True] * 100 + [False] * 100)]
    gpt = [correct_frame([True] * 124 + [False] * 76), correct_frame([True] * 116 + [False] * 84)]
    examples_only = compare(model_replicates(bert, "test_accuracy", counts), model_replicates(gpt, "test_accuracy", counts), n)
    both = compare(model_replicates(bert, "test_accuracy", counts, np.random.default_rng(1)),
                   model_replicates(gpt, "test_accuracy", counts, np.random.default_rng(2)), n)
    assert examples_only.delta == both.delta == pytest.approx(0.10)
    assert examples_only.significant(0.05) and not both.significant(0.05)


def test_entity_f1_from_summed_counts_by_hand():
    frame = pl.DataFrame({"id": [0, 1, 2], "n_gold_entities": [2, 1, 1], "n_pred_entities": [2, 0, 2], "n_correct_entities": [1, 0, 1]})
    # summed: gold 4, pred 4, correct 2 -> P = R = 0.5 -> F1 = 2*2/(4+4) = 0.5 (not the mean of sentence F1s)
    counts = resample_counts(3, 20, 0)
    r = model_replicates([frame], "test_entity_f1", counts)
    assert r.observed == pytest.approx(0.5)
    g = counts @ np.array([2, 1, 1.0])
    p = counts @ np.array([2, 0, 2.0])
    c = counts @ np.array([1, 0, 1.0])
    assert np.allclose(r.resampled, np.where(g + p > 0, 2 * c / np.maximum(g + p, 1), 0.0))


def test_entity_f1_without_entities_is_zero():
    frame = pl.DataFrame({"id": [0], "n_gold_entities": [0], "n_pred_entities": [0], "n_correct_entities": [0]})
    assert model_replicates([frame], "test_entity_f1", resample_counts(1, 5, 0)).observed == 0.0


def test_qa_f1_is_the_mean_of_example_f1():
    frame = pl.DataFrame({"id": [0, 1, 2, 3], "f1": [1.0, 0.5, 0.0, 0.25]})
    assert model_replicates([frame], "test_f1", resample_counts(4, 10, 0)).observed == pytest.approx(0.4375)


HYPS = ["the cat sat on the mat", "a dog barked", "it is raining today", "we go home now"]
REFS = ["the cat sat on a mat", "the dog barked loudly", "it is raining today", "we are going home"]


@pytest.mark.parametrize(("metric", "scorer"), [("test_bleu", BLEU), ("test_chrf", CHRF)])
def test_translation_metric_is_sacrebleus_corpus_score(metric, scorer):
    frame = pl.DataFrame({"id": [0, 1, 2, 3], "hypothesis": HYPS, "reference": REFS})
    counts = resample_counts(4, 30, 0)
    r = model_replicates([frame], metric, counts)
    assert r.observed == pytest.approx(scorer().corpus_score(HYPS, [REFS]).score)
    # one resample recomputed from its texts: the corpus score of the drawn sentences
    row = counts[0].astype(int)
    hyps = [h for h, k in zip(HYPS, row) for _ in range(k)]
    refs = [x for x, k in zip(REFS, row) for _ in range(k)]
    assert r.resampled[0] == pytest.approx(scorer().corpus_score(hyps, [refs]).score)


def test_supports_needs_the_columns():
    assert supports("test_accuracy", correct_frame([True]))
    assert not supports("test_entity_f1", correct_frame([True]))
    assert not supports("test_macro_f1", correct_frame([True]))  # not recomputable per example


def test_check_same_rows_rejects_different_test_rows():
    a = pl.DataFrame({"id": [1, 2, 3]})
    assert check_same_rows({"bert/x/seed_0": a, "gpt/x/seed_0": a}) == 3
    with pytest.raises(ValueError, match="gpt/x/seed_0"):
        check_same_rows({"bert/x/seed_0": a, "gpt/x/seed_0": pl.DataFrame({"id": [1, 3, 2]})})


def test_replicates_reject_a_wrong_number_of_rows():
    with pytest.raises(ValueError, match="3 predictions but 4 test examples"):
        model_replicates([correct_frame([True] * 3)], "test_accuracy", resample_counts(4, 5, 0))


def test_a_group_test_keeps_a_pre_training_runs_luck_shared_across_tasks():
    """BERT's run 0 is good and run 1 bad on every task (fine-tuning seed i starts from run i everywhere); GPT's two
    runs are equal. Resampling the runs per task averaged that luck away and narrowed the group's interval to ~60 %
    of one task's; drawn once for all tasks, the group's interval is as wide as a task's."""
    import numpy as np
    import polars as pl

    from bertvsgpt.report.comparison import group_results, seed_draws, task_results
    from bertvsgpt.report.inputs import ReportInputs

    rng = np.random.default_rng(0)
    tasks, n, acc = ["t1", "t2", "t3"], 400, {"bert": [0.90, 0.60], "gpt": [0.75, 0.75]}
    preds, rows = {}, []
    for t in tasks:
        for m, accs in acc.items():
            runs = {}
            for s, a in enumerate(accs):
                c = np.zeros(n)
                c[: int(a * n)] = 1
                rng.shuffle(c)
                runs[s] = pl.DataFrame({"id": list(range(n)), "correct": c})
            preds[(m, t)] = runs
            vals = [float(f["correct"].mean()) for f in runs.values()]
            rows.append({"model": m, "task": t, "metric": "test_accuracy", "mean": float(np.mean(vals)),
                         "std": float(np.std(vals, ddof=1)), "n": 2, "primary": True})
    inputs = ReportInputs(models=["bert", "gpt"], tasks=tasks, task_kinds={t: "classification" for t in tasks},
                          summary=pl.DataFrame(rows), predictions=preds, primary={t: "test_accuracy" for t in tasks})
    results = task_results(inputs, 400, 42)
    width = lambda t: t.ci_high - t.ci_low  # noqa: E731
    task_width = np.mean([width(r.tests[("bert", "gpt")]) for r in results])
    group = group_results(results, ["bert", "gpt"])[0]
    assert width(group.test) > 0.9 * task_width
    # the draws: the same on every task for one model, different between models
    a, b = seed_draws(42, "bert").integers(0, 2, 50), seed_draws(42, "bert").integers(0, 2, 50)
    assert (a == b).all() and not (a == seed_draws(42, "gpt").integers(0, 2, 50)).all()
