"""Headline sentences against the trivial baseline: a win, a group win or a pre-training gain between models that do
not beat the task's trivial baseline is flagged as such, never reported as a plain win."""

from __future__ import annotations

from bertvsgpt.report.comparison import GroupResult, Score, TaskResult
from bertvsgpt.report.findings import bert_vs_gpt, by_group, pretraining_gain
from bertvsgpt.report.significance import PairedTest
from bertvsgpt.report.tables import headline_table

ALPHA = 0.05
MODELS = ["bert", "gpt", "bert-scratch", "gpt-scratch"]


def _test(delta: float, p: float) -> PairedTest:
    return PairedTest(delta, delta - 0.01, delta + 0.01, p, 100, 1000)


def _task(task: str, kind: str, metric: str, reference: str, bert_vs_ref: PairedTest, gpt_vs_ref: PairedTest,
          bert_minus_gpt: PairedTest, gains: tuple[PairedTest, PairedTest], means: tuple[float, float]) -> TaskResult:
    scores = {m: Score(v, 0.0, 2) for m, v in zip(MODELS, (*means, means[0] - gains[0].delta, means[1] - gains[1].delta))}
    return TaskResult(
        task=task, kind=kind, metric=metric, scores=scores,
        tests={("bert", "gpt"): bert_minus_gpt, ("bert", "bert-scratch"): gains[0], ("gpt", "gpt-scratch"): gains[1]},
        baselines={reference: Score(0.3 if metric == "test_bleu" else 0.5, 0.0, 1)}, reference=reference,
        baseline_tests={("bert", reference): bert_vs_ref, ("gpt", reference): gpt_vs_ref},
    )


def _mt() -> TaskResult:
    """MT as in the default run: GPT wins by 0.2 BLEU, neither is above copying the source; both gain over scratch."""
    return _task("mt", "translation", "test_bleu", "copy-source", bert_vs_ref=_test(-0.2, 0.101),
                 gpt_vs_ref=_test(0.04, 0.753), bert_minus_gpt=_test(-0.2, 0.021),
                 gains=(_test(0.1, 0.004), _test(0.3, 0.001)), means=(0.1, 0.3))


def _sentiment(gpt_above: bool = True) -> TaskResult:
    """Sentiment: GPT wins by 3.8 points; both far above the majority class (or, with ``gpt_above=False``, GPT level with it)."""
    gpt_vs_ref = _test(0.287, 0.001) if gpt_above else _test(0.01, 0.6)
    return _task("sentiment", "classification", "test_accuracy", "majority", bert_vs_ref=_test(0.249, 0.001),
                 gpt_vs_ref=gpt_vs_ref, bert_minus_gpt=_test(-0.038, 0.003),
                 gains=(_test(-0.016, 0.316), _test(0.019, 0.254)), means=(0.752, 0.791))


def test_a_win_where_neither_model_beats_the_trivial_baseline_is_flagged():
    text = " ".join(bert_vs_gpt([_sentiment(), _mt()], ALPHA))
    assert "GPT scores significantly higher than BERT (p < 0.05) on sentiment" in text
    assert ("On mt neither BERT nor GPT scores significantly above the trivial baseline (copy source): that win "
            "separates two models that did not learn the task.") in text
    assert "On sentiment neither" not in text


def test_a_win_is_not_flagged_when_one_model_beats_the_trivial_baseline():
    text = " ".join(bert_vs_gpt([_sentiment(gpt_above=False)], ALPHA))
    assert "neither BERT nor GPT" not in text  # BERT is above the majority class: the comparison means something


def test_an_untested_baseline_flags_nothing():
    mt = _mt()
    mt.baseline_tests.clear()
    assert "neither BERT nor GPT" not in " ".join(bert_vs_gpt([mt], ALPHA))
    assert "not above" not in " ".join(pretraining_gain([mt], ALPHA))


def test_a_pretraining_gain_below_the_trivial_baseline_says_so():
    text = " ".join(pretraining_gain([_sentiment(), _mt()], ALPHA))
    assert "Pre-training helped BERT significantly over BERT-scratch on mt (+0.1 points, not above copy source)" in text
    assert "Pre-training helped GPT significantly over GPT-scratch on mt (+0.3 points, not above copy source)" in text


def test_a_group_win_names_the_tasks_where_neither_beats_the_trivial_baseline():
    mt, sentiment = _mt(), _sentiment()
    groups = [GroupResult("generation", ["mt"], {"bert": 0.001, "gpt": 0.003}, {"bert": 1, "gpt": 1}, _test(-0.002, 0.021)),
              GroupResult("classification", ["sentiment"], {"bert": 0.752, "gpt": 0.791}, {"bert": 1, "gpt": 1},
                          _test(-0.038, 0.003))]
    text = by_group(groups, ALPHA, [mt, sentiment])
    assert text[0] == ("On generation (mt), GPT wins: average 0.1 vs 0.3 (p 0.021), but neither model is significantly "
                       "above the trivial baseline on mt.")
    assert text[1] == "On classification (sentiment), GPT wins: average 75.2 vs 79.1 (p 0.003)."


def test_the_winner_column_marks_a_win_at_the_trivial_level():
    table = headline_table([_sentiment(), _mt()], MODELS, ALPHA)
    rows = {line.split("|")[1].strip(): line for line in table.splitlines()[2:]}
    assert "| GPT (both ≤ trivial) |" in rows["mt"]
    assert "| GPT |" in rows["sentiment"] and "trivial" not in rows["sentiment"]
