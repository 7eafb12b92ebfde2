"""Shared artifacts: push the pipeline's outputs to a local DVC remote, clone the repository afresh, pull,
and ``dvc repro`` has nothing to do.

A temporary git repository holds a copy of the pipeline (``dvc.yaml``, ``pipeline/``, ``src/``, the real
``.gitignore``) with the tiny params of ``workspace.py``; ``dvc repro pretrain@bert`` runs fetch,
prepare, tokenizer@bert and pretrain@bert, the cheapest target that produces every kind of output
the pipeline declares: cached folders (``data/raw``, ``data/prepared``, ``data/tokenizers/bert``,
``data/models/bert``), ``cache: false`` metrics and plots (committed to git, as the real repository
commits ``metrics/`` and ``plots/``) and the ``persist: true, cache: false`` resume folder
``data/resume/pretrain-bert`` (ignored by git through ``/data/*``, as in the real repository).
The outputs and ``dvc.lock`` are committed, ``dvc push`` sends the cache to a folder remote, and a
``git clone`` of the repository runs ``dvc pull``, ``dvc status`` and ``dvc repro``.
"""

from __future__ import annotations

import filecmp
import json
import time
from types import SimpleNamespace

import pytest
import yaml

from tests.reliability.workspace import ROOT, git, make_repo, run, stage_env

pytestmark = pytest.mark.slow

TARGET = "pretrain@bert"
STAGES = {"fetch", "prepare", "tokenizer@bert", "pretrain@bert"}
CACHED = ("data/raw", "data/prepared", "data/tokenizers/bert", "data/models/bert")
IN_GIT = ("dvc.lock", "metrics/pretrain/bert.json", "plots/pretrain/bert.csv")


def uncached_outs_outside_git() -> list[str]:
    """Outputs of dvc.yaml that neither DVC (``cache: false``) nor git (``/data/*`` is ignored) keeps."""
    spec = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    found = []
    for name, stage in spec["stages"].items():
        body = stage.get("do", stage)
        for out in body.get("outs", []):
            if isinstance(out, dict):
                ((path, opts),) = out.items()
                if (opts or {}).get("cache") is False and str(path).startswith("data/"):
                    found.append(f"{name}: {path}")
    return found


UNKEPT = uncached_outs_outside_git()


def stages_run(stdout: str) -> set[str]:
    return {line.split("'")[1] for line in stdout.splitlines() if line.startswith("Running stage")}


@pytest.fixture(scope="module")
def pushed_and_cloned(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dvc-remote")
    repo = make_repo(tmp)
    env = stage_env(repo)
    git(repo, "init", "-q", "-b", "main")
    run(["dvc", "init", "-q"], repo, env)
    run(["dvc", "config", "core.analytics", "false"], repo, env)
    remote = tmp / "remote"
    run(["dvc", "remote", "add", "-d", "shared", str(remote)], repo, env)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "pipeline")

    t0 = time.monotonic()
    first = run(["dvc", "repro", TARGET], repo, env, timeout=900)
    print(f"dvc repro {TARGET}: {time.monotonic() - t0:.1f} s")
    assert stages_run(first.stdout) == STAGES
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "run")
    pushed = run(["dvc", "push", "--with-deps", TARGET], repo, env)

    clone = tmp / "clone"
    git(tmp, "clone", "-q", str(repo), str(clone))
    clone_env = stage_env(clone)
    pulled = run(["dvc", "pull", "--with-deps", TARGET], clone, clone_env)
    return SimpleNamespace(repo=repo, clone=clone, env=clone_env, remote=remote, pushed=pushed, pulled=pulled)


def test_push_sends_the_cache_to_the_remote(pushed_and_cloned):
    ws = pushed_and_cloned
    assert "pushed" in ws.pushed.stdout, ws.pushed.stdout
    assert any(p.is_file() for p in (ws.remote / "files" / "md5").rglob("*"))


def test_pull_restores_every_cached_output_byte_for_byte(pushed_and_cloned):
    ws = pushed_and_cloned
    for out in CACHED:
        a, b = ws.repo / out, ws.clone / out
        files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
        assert files, out
        assert sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file()) == files, out
        _, mismatch, errors = filecmp.cmpfiles(a, b, [str(f) for f in files], shallow=False)
        assert mismatch == [] and errors == [], (out, mismatch, errors)


def test_uncached_metrics_and_plots_travel_with_git(pushed_and_cloned):
    ws = pushed_and_cloned
    tracked = set(git(ws.clone, "ls-files").splitlines())
    for path in IN_GIT:
        assert path in tracked, path
        assert (ws.clone / path).read_bytes() == (ws.repo / path).read_bytes(), path


def test_status_in_the_clone_differs_at_most_in_unkept_resume_folders(pushed_and_cloned):
    """Whatever ``dvc status`` reports in the fresh clone is an output nobody keeps (see UNKEPT)."""
    ws = pushed_and_cloned
    status = run(["dvc", "status", TARGET, "--json"], ws.clone, ws.env).stdout
    changed = json.loads(status or "{}")
    for stage, entries in changed.items():
        for entry in entries:
            outs = entry.get("changed outs", {}) if isinstance(entry, dict) else {}
            assert outs and all(path.startswith("data/resume/") for path in outs), (stage, entry)


@pytest.mark.xfail(bool(UNKEPT), strict=True, raises=AssertionError, reason=(
    "dvc.yaml declares outputs with persist: true, cache: false under data/ (git-ignored), so a fresh clone "
    f"lacks them and dvc repro re-runs their stages: {UNKEPT}"))
def test_repro_in_the_clone_is_a_noop(pushed_and_cloned):
    ws = pushed_and_cloned
    status = run(["dvc", "status", TARGET], ws.clone, ws.env).stdout
    assert "Data and pipelines are up to date." in status, status
    dry = run(["dvc", "repro", "--dry", TARGET], ws.clone, ws.env).stdout
    assert stages_run(dry) == set(), dry
    t0 = time.monotonic()
    proc = run(["dvc", "repro", TARGET], ws.clone, ws.env)
    assert "Running stage" not in proc.stdout, proc.stdout
    for stage in STAGES:
        assert f"Stage '{stage}' didn't change, skipping" in proc.stdout, (stage, proc.stdout)
    print(f"no-op dvc repro in the clone: {time.monotonic() - t0:.1f} s")
