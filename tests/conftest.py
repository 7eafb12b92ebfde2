"""Shared test set-up."""

import pytest
import torch


@pytest.fixture(autouse=True)
def _single_thread():
    """Tiny test models run fastest single-threaded (and do not fight parallel jobs for the cores)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
