"""benchmarks/pretrain_curves.py: smoothing and where a curve first falls below a threshold."""

import numpy as np
import polars as pl

from benchmarks.pretrain_curves import first_below, from_tokens, smoothed


def test_smoothed_is_a_rolling_mean_over_logged_points_and_skips_missing(tmp_path):
    path = tmp_path / "curve.csv"
    pl.DataFrame({"tokens_seen": [10.0, 20.0, 30.0, 40.0], "mlm_loss": [4.0, None, 2.0, 0.0]}).write_csv(path)
    tokens, values = smoothed(path, "mlm_loss", window=2)
    assert tokens.tolist() == [10.0, 30.0, 40.0] and values.tolist() == [4.0, 3.0, 1.0]


def test_first_below_finds_the_first_crossing_or_none():
    tokens, values = np.array([1.0, 2.0, 3.0, 4.0]), np.array([6.3, 6.2, 5.9, 6.1])
    assert first_below(tokens, values, 6.0) == 3.0
    assert first_below(tokens, values, 5.0) is None


def test_from_tokens_keeps_the_points_at_or_after_the_start():
    tokens, values = from_tokens(np.array([1.0, 2.0, 3.0]), np.array([9.0, 8.0, 7.0]), 2.0)
    assert tokens.tolist() == [2.0, 3.0] and values.tolist() == [8.0, 7.0]
