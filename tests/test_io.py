"""Atomic writes: a failing body leaves the old output untouched; success replaces it."""

from __future__ import annotations

import json

import pytest

from bertvsgpt.io import atomic_path, read_json, write_json, write_text


class Boom(RuntimeError):
    pass


def test_failure_keeps_old_directory_and_leaves_no_temp_dirs(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.txt").write_text("old")
    with pytest.raises(Boom):
        with atomic_path(out) as tmp:
            tmp.mkdir()
            (tmp / "a.txt").write_text("new")
            (tmp / "b.txt").write_text("new")
            raise Boom()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert sorted(p.name for p in out.iterdir()) == ["a.txt"]
    assert (out / "a.txt").read_text() == "old"


def test_failure_keeps_old_file_and_leaves_no_temp_dirs(tmp_path):
    out = tmp_path / "f.json"
    out.write_text("old")
    with pytest.raises(Boom):
        with atomic_path(out) as tmp:
            tmp.write_text("half-writ")
            raise Boom()
    assert out.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]


def test_failure_without_previous_output_creates_nothing(tmp_path):
    with pytest.raises(Boom):
        with atomic_path(tmp_path / "new") as tmp:
            tmp.mkdir()
            raise Boom()
    assert list(tmp_path.iterdir()) == []


def test_temp_path_is_a_hidden_sibling_with_the_same_name(tmp_path):
    with atomic_path(tmp_path / "out") as tmp:
        assert tmp.name == "out"
        assert tmp.parent.parent == tmp_path and tmp.parent.name.startswith(".out.")
        assert not tmp.exists()
        tmp.write_text("x")


def test_success_replaces_directory(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "stale.txt").write_text("old")
    (out / "sub").mkdir()
    with atomic_path(out) as tmp:
        tmp.mkdir()
        (tmp / "fresh.txt").write_text("new")
    assert sorted(p.name for p in out.iterdir()) == ["fresh.txt"]
    assert (out / "fresh.txt").read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_success_replaces_file_and_creates_parents(tmp_path):
    out = tmp_path / "deep" / "er" / "f.txt"
    with atomic_path(out) as tmp:
        tmp.write_text("one")
    assert out.read_text() == "one"
    with atomic_path(out) as tmp:
        tmp.write_text("two")
    assert out.read_text() == "two"
    assert [p.name for p in out.parent.iterdir()] == ["f.txt"]


def test_write_and_read_json_roundtrip(tmp_path):
    path = tmp_path / "m.json"
    write_json(path, {"b": 1, "a": [1.5, None]})
    text = path.read_text()
    assert text.endswith("\n") and text.index('"a"') < text.index('"b"')  # sorted keys
    assert json.loads(text) == {"a": [1.5, None], "b": 1} == read_json(path)
    write_text(path, "plain")
    assert path.read_text() == "plain"


def test_read_json_missing_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="absent.json"):
        read_json(tmp_path / "absent.json")


def test_only_global_rank_zero_writes_under_ddp(tmp_path, monkeypatch):
    """A DDP rank > 0 runs the same stage code; its writes go to a scratch folder that is discarded."""
    out = tmp_path / "metrics.json"
    monkeypatch.setenv("RANK", "1")
    write_json(out, {"rank": 1})
    with atomic_path(tmp_path / "model") as tmp:
        tmp.mkdir()
        (tmp / "weights").write_text("rank 1")
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setenv("RANK", "0")
    write_json(out, {"rank": 0})
    assert read_json(out) == {"rank": 0}


def test_sha256_file_hashes_the_bytes_across_chunks(tmp_path):
    import hashlib

    from bertvsgpt.io import sha256_file

    data = bytes(range(256)) * 5000  # > 1 MiB: more than one chunk
    (tmp_path / "f").write_bytes(data)
    assert sha256_file(tmp_path / "f") == hashlib.sha256(data).hexdigest()
