"""benchmarks/compile_ab.py: compiled against eager, paired block by block."""

import statistics

import pytest

from benchmarks import compile_ab

TINY_SHAPE = ["--layers", "1", "--d-model", "32", "--heads", "2", "--d-ff", "128", "--vocab", "128", "--seq-len", "16", "--batch", "2"]


def test_paired_timing_alternates_blocks_and_takes_per_pair_ratios(compile_calls):
    r = compile_ab.paired_timing("gpt", [*TINY_SHAPE, "--dtype", "fp32"], steps=2, blocks=3, warmup=1)
    assert compile_calls == ["GPTForPreTraining"]  # one of the two copies, and only it, went through the compiler
    assert r["arch"] == "gpt" and r["dtype"] == "float32"
    assert r["order"] == ["eager", "compiled", "compiled", "eager", "eager", "compiled"]  # ABBA
    for mode in compile_ab.MODES:
        assert len(r["ms_per_step"][mode]) == 3 and all(ms > 0 for ms in r["ms_per_step"][mode])
        assert r["warmup_seconds"][mode] > 0
    expected = [c / e for c, e in zip(r["ms_per_step"]["compiled"], r["ms_per_step"]["eager"])]
    assert r["ratios"] == pytest.approx(expected)
    assert r["median_ratio"] == pytest.approx(statistics.median(expected))


def test_main_prints_both_modes_and_the_median_ratio(capsys):
    assert compile_ab.main(["--model", "bert", "--dtype", "fp32", "--steps", "1", "--blocks", "1", *TINY_SHAPE]) == 0
    out = capsys.readouterr().out
    assert "bert float32    eager" in out and "bert float32 compiled" in out
    assert "compiled / eager, per pair: median" in out


def test_blocks_must_be_positive():
    with pytest.raises(SystemExit):
        compile_ab.main(["--model", "gpt", "--blocks", "0"])
