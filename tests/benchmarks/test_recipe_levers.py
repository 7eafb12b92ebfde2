"""benchmarks/recipe_levers.py: a cell is LABEL=override,override,..."""

from __future__ import annotations

import pytest

from benchmarks.recipe_levers import parse_cell


def test_parse_cell_splits_the_label_from_its_overrides():
    assert parse_cell("NSP off=pretrain.bert.nsp=false") == ("NSP off", ["pretrain.bert.nsp=false"])
    assert parse_cell("15 %=pretrain.bert.masked_lm_prob=0.15,pretrain.bert.max_predictions_per_seq=20") == (
        "15 %", ["pretrain.bert.masked_lm_prob=0.15", "pretrain.bert.max_predictions_per_seq=20"])
    assert parse_cell("default=") == ("default", [])


@pytest.mark.parametrize("spec", ["no-equals-sign", "=pretrain.lr=0.001"])
def test_parse_cell_refuses_a_cell_without_a_label(spec):
    with pytest.raises(SystemExit, match="LABEL=override"):
        parse_cell(spec)
