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


@pytest.fixture
def compile_calls(monkeypatch):
    """The class names of what ``torch.compile`` is called on during the test, in order (it still compiles)."""
    names = []
    real_compile = torch.compile

    def spy(model, *args, **kwargs):
        names.append(type(model).__name__)
        return real_compile(model, *args, **kwargs)

    monkeypatch.setattr(torch, "compile", spy)
    return names
