"""Translation baselines: copy the source, and the nearest training pair's target (scored with sacreBLEU)."""

from __future__ import annotations

import pytest
from sacrebleu.metrics import BLEU, CHRF

from bertvsgpt.baselines.translation import copy_source, nearest_pair, run
from tests.baselines.helpers import frames_of

COLUMNS = ["id", "source", "reference", "hypothesis", "chrf"]  # as the translation kind's
TRAIN = {"text": ["Das Haus ist groß.", "Ich habe einen Hund.", "Es regnet heute."],
         "target": ["The house is big.", "I have a dog.", "It is raining today."]}
TEST = {"text": ["Ich habe einen kleinen Hund.", "Berlin ist groß."], "target": ["I have a small dog.", "Berlin is big."]}


def frames():
    return frames_of(TRAIN, {"text": ["Hallo."], "target": ["Hello."]}, TEST)


def test_copy_source_bleu_is_sacrebleus_on_the_same_strings():
    r = copy_source(frames())
    assert r.predictions.columns == COLUMNS and r.metrics["reference"] is True
    assert r.predictions.get_column("hypothesis").to_list() == TEST["text"]
    assert r.metrics["test_bleu"] == pytest.approx(BLEU().corpus_score(TEST["text"], [TEST["target"]]).score)
    assert r.metrics["test_chrf"] == pytest.approx(CHRF().corpus_score(TEST["text"], [TEST["target"]]).score)
    assert r.predictions.get_column("chrf").to_list() == pytest.approx(
        [CHRF().sentence_score(h, [ref]).score for h, ref in zip(TEST["text"], TEST["target"])])
    assert r.metrics["primary_metric"] == "test_bleu" and "tok:13a" in r.metrics["bleu_signature"]


def test_nearest_pair_outputs_the_closest_training_sources_target():
    r = nearest_pair(frames())
    assert r.predictions.get_column("hypothesis").to_list() == ["I have a dog.", "The house is big."]
    hyps = ["I have a dog.", "The house is big."]
    assert r.metrics["test_bleu"] == pytest.approx(BLEU().corpus_score(hyps, [TEST["target"]]).score)
    assert r.metrics["no_overlap"] == 0


def test_run_order():
    assert [r.name for r in run(frames())] == ["copy-source", "nearest-pair"]
