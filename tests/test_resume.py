"""The resume helpers' fingerprints: what they hash and what they leave out."""

from __future__ import annotations

from pathlib import Path

import pytest

from bertvsgpt.resume import PACKAGE_ROOT, fingerprint_of, source_fingerprint


def _package(root: Path) -> Path:
    (root / "models").mkdir(parents=True)
    (root / "models" / "bert.py").write_text("x = 1\n")
    (root / "models" / "notes.txt").write_text("not code\n")
    (root / "optim.py").write_text("lr = 1\n")
    (root / "report.py").write_text("table = 1\n")
    return root


def test_source_fingerprint_follows_the_named_code_only(tmp_path):
    root = _package(tmp_path / "pkg")
    fp = source_fingerprint("models", "optim.py", root=root)
    assert len(fp) == 16 and fp == source_fingerprint("models", "optim.py", root=root)
    (root / "report.py").write_text("table = 2\n")  # not named: no effect
    (root / "models" / "notes.txt").write_text("edited\n")  # not Python: no effect
    assert source_fingerprint("models", "optim.py", root=root) == fp
    (root / "models" / "bert.py").write_text("x = 2\n")
    assert source_fingerprint("models", "optim.py", root=root) != fp


def test_source_fingerprint_sees_renames_and_new_files(tmp_path):
    root = _package(tmp_path / "pkg")
    fp = source_fingerprint("models", root=root)
    (root / "models" / "bert.py").rename(root / "models" / "gpt.py")  # same bytes, other module
    assert source_fingerprint("models", root=root) != fp
    (root / "models" / "gpt.py").rename(root / "models" / "bert.py")
    (root / "models" / "loss.py").write_text("")
    assert source_fingerprint("models", root=root) != fp


def test_source_fingerprint_of_a_missing_part_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="modelz: no such module"):
        source_fingerprint("modelz", root=_package(tmp_path / "pkg"))


def test_source_fingerprint_reads_this_library():
    assert (PACKAGE_ROOT / "models" / "bert.py").is_file()
    assert source_fingerprint("models", "optim.py") != source_fingerprint("models")


def test_fingerprint_of_hashes_file_contents_not_paths(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text("{}")
    b.write_text("{}")
    fp = fingerprint_of({"f": a})
    assert fingerprint_of({"f": b}) == fp  # same bytes elsewhere: the same input
    a.write_text("[]")
    assert fingerprint_of({"f": a}) != fp
