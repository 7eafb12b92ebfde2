"""Shared fixtures: the small fixed pipeline outputs of :mod:`tests.report.fixtures`, loaded and rendered once."""

from __future__ import annotations

import pytest

from bertvsgpt.report import ReportOptions, load_inputs, render_report
from tests.report.fixtures import params, write_all

B = 200  # resamples: enough for the hand-checked extremes (smallest p = 1/201)


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory):
    return write_all(tmp_path_factory.mktemp("run"))


@pytest.fixture(scope="session")
def options():
    return ReportOptions(n_resamples=B, alpha=0.05, ngram=8, errors_per_task=2, seed=0)


@pytest.fixture(scope="session")
def inputs(run_dir):
    return load_inputs(run_dir, params())


@pytest.fixture(scope="session")
def report(run_dir, inputs, options):
    return render_report(inputs, run_dir / "reports", options)
