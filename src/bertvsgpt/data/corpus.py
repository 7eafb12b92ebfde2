"""Build the pre-training corpus: sentence-split documents, a held-out split, a contamination guard.

Output: one row per document with columns ``doc_id`` (str), ``source`` (str), ``split``
(``"train"`` or ``"heldout"``) and ``sentences`` (list of str). Document order is the input order.

* Documents that come with ``text`` only are split with :func:`~.sentences.split_sentences`;
  sentences shorter than ``min_sentence_chars`` are dropped, then documents left empty.
* The held-out split is a pure function of ``(seed, doc_id)`` (SHA-256, not Python's ``hash()``),
  so a document stays on its side whatever else is in the corpus. If that leaves no held-out
  document (tiny corpora), the one with the smallest hash is held out; if it leaves no training
  document, the one with the largest hash is moved to train.
* Contamination guard: evaluation texts (the task examples) are normalised (lowercase, every run
  of non-alphanumeric characters to one space). A document is dropped when one of its normalised
  sentences equals an evaluation text, or when the normalised document (sentences joined by a
  space) contains a whole evaluation text of at least ``CONTAINS_MIN_CHARS`` characters, starting
  at a word boundary.
"""

from __future__ import annotations

import hashlib
import logging
import re
from itertools import accumulate
from typing import Iterable

import polars as pl

from .readers import Document
from .sentences import normalise_whitespace, split_sentences

log = logging.getLogger(__name__)

CONTAINS_MIN_CHARS = 40
SPLIT_TRAIN = "train"
SPLIT_HELDOUT = "heldout"
_NON_ALNUM = re.compile(r"[\W_]+")
_KEY_CHARS = CONTAINS_MIN_CHARS  # index evaluation texts by their first 40 normalised characters


def normalise_for_match(text: str) -> str:
    """Lowercase; every run of non-alphanumeric characters (incl. whitespace) becomes one space."""
    return _NON_ALNUM.sub(" ", text.lower()).strip()


def heldout_score(seed: int, doc_id: str) -> float:
    """A uniform number in [0, 1) from SHA-256 of ``(seed, doc_id)``; < heldout_fraction = held out."""
    digest = hashlib.sha256(f"{seed}\x1f{doc_id}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


class ContaminationGuard:
    """Finds documents that contain an evaluation text (see the module docstring)."""

    def __init__(self, eval_texts: Iterable[str]):
        self.exact: set[str] = set()
        self.by_prefix: dict[str, list[str]] = {}
        for t in eval_texts:
            if not isinstance(t, str):
                continue
            n = normalise_for_match(t)
            if not n:
                continue
            self.exact.add(n)
            if len(n) >= CONTAINS_MIN_CHARS:
                self.by_prefix.setdefault(n[:_KEY_CHARS], []).append(n)

    def __len__(self) -> int:
        return len(self.exact)

    def contaminated(self, sentences: list[str]) -> bool:
        if not self.exact:
            return False
        norm = [normalise_for_match(s) for s in sentences]
        if any(s in self.exact for s in norm):
            return True
        if not self.by_prefix:
            return False
        doc = " ".join(s for s in norm if s)
        limit = len(doc) - CONTAINS_MIN_CHARS
        if limit < 0:
            return False
        # word starts (the text is single-space separated after normalisation)
        starts = [p for p in accumulate(map((1).__add__, map(len, doc.split(" "))), initial=0) if p <= limit]
        keys = {doc[p:p + _KEY_CHARS] for p in starts}
        common = keys.intersection(self.by_prefix)
        if not common:
            return False
        for p in starts:
            key = doc[p:p + _KEY_CHARS]
            if key in common:
                for c in self.by_prefix[key]:
                    end = p + len(c)
                    if doc.startswith(c, p) and (end == len(doc) or doc[end] == " "):
                        return True
        return False


def _document_sentences(doc: Document, min_chars: int) -> tuple[list[str], int]:
    if doc.sentences is not None:
        raw = [normalise_whitespace(s) for s in doc.sentences if isinstance(s, str)]
        raw = [s for s in raw if s]
    else:
        raw = split_sentences(doc.text or "")
    kept = [s for s in raw if len(s) >= min_chars]
    return kept, len(raw) - len(kept)


def build_corpus(
    documents: Iterable[Document],
    heldout_fraction: float,
    seed: int,
    min_sentence_chars: int,
    eval_texts: Iterable[str] = (),
    train_only_sources: Iterable[str] = (),
) -> tuple[pl.DataFrame, dict]:
    """Return ``(corpus, stats)``: the frame (doc_id, source, split, sentences) and a JSON-able dict.

    ``stats``: documents_in, documents_dropped_empty, documents_dropped_contaminated,
    contaminated_doc_ids (first 100), sentences_dropped_short, eval_texts, documents,
    train_documents, heldout_documents, sentences, words and per_source ({source: {documents,
    heldout_documents, sentences, words}}). Raises ``ValueError`` when nothing is left.
    Documents of ``train_only_sources`` (the tasks' in-domain training texts) are never held out, so
    the held-out split, and the intrinsic metrics measured on it, stay general text.
    """
    if not 0.0 <= heldout_fraction < 1.0:
        raise ValueError(f"heldout_fraction must be in [0, 1), got {heldout_fraction}")
    guard = ContaminationGuard(eval_texts)
    ids: list[str] = []
    sources: list[str] = []
    sents: list[list[str]] = []
    scores: list[float] = []
    seen: set[tuple[str, str]] = set()
    stats = {
        "documents_in": 0,
        "documents_dropped_empty": 0,
        "documents_dropped_contaminated": 0,
        "sentences_dropped_short": 0,
        "eval_texts": len(guard),
        "contaminated_doc_ids": [],
    }
    for doc in documents:
        stats["documents_in"] += 1
        key = (doc.source, doc.doc_id)
        if key in seen:
            raise ValueError(f"duplicate document id '{doc.doc_id}' in source '{doc.source}'")
        seen.add(key)
        kept, short = _document_sentences(doc, min_sentence_chars)
        stats["sentences_dropped_short"] += short
        if not kept:
            stats["documents_dropped_empty"] += 1
            continue
        if guard.contaminated(kept):
            stats["documents_dropped_contaminated"] += 1
            if len(stats["contaminated_doc_ids"]) < 100:
                stats["contaminated_doc_ids"].append(doc.doc_id)
            continue
        ids.append(doc.doc_id)
        sources.append(doc.source)
        sents.append(kept)
        scores.append(heldout_score(seed, doc.doc_id))

    if not ids:
        raise ValueError(
            "pre-training corpus is empty after preparation: check data.corpus, data.min_sentence_chars and "
            "data.max_docs_per_source in params.yaml, and that the sources were fetched"
        )

    train_only = set(train_only_sources)
    held = [s < heldout_fraction and src not in train_only for s, src in zip(scores, sources)]
    eligible = [i for i, src in enumerate(sources) if src not in train_only]
    if heldout_fraction > 0 and len(eligible) >= 2:
        if not any(held):
            held[min(eligible, key=scores.__getitem__)] = True
        if all(held):
            held[max(range(len(ids)), key=scores.__getitem__)] = False
    splits = [SPLIT_HELDOUT if h else SPLIT_TRAIN for h in held]

    df = pl.DataFrame(
        {"doc_id": ids, "source": sources, "split": splits, "sentences": sents},
        schema={"doc_id": pl.Utf8, "source": pl.Utf8, "split": pl.Utf8, "sentences": pl.List(pl.Utf8)},
    )
    per_source: dict[str, dict] = {}
    summary = (
        df.with_columns(
            pl.col("sentences").list.len().alias("_n_sent"),
            pl.col("sentences").list.eval(pl.element().str.count_matches(r"\S+")).list.sum().alias("_n_words"),
        )
        .group_by("source", maintain_order=True)
        .agg(
            pl.len().alias("documents"),
            (pl.col("split") == SPLIT_HELDOUT).sum().alias("heldout_documents"),
            pl.col("_n_sent").sum().alias("sentences"),
            pl.col("_n_words").sum().alias("words"),
        )
    )
    for row in summary.iter_rows(named=True):
        src = row.pop("source")
        per_source[src] = {k: int(v) for k, v in row.items()}
    stats.update(
        documents=df.height,
        train_documents=int((df["split"] == SPLIT_TRAIN).sum()),
        heldout_documents=int((df["split"] == SPLIT_HELDOUT).sum()),
        sentences=sum(v["sentences"] for v in per_source.values()),
        words=sum(v["words"] for v in per_source.values()),
        per_source=per_source,
    )
    if stats["documents_dropped_contaminated"]:
        log.warning(
            "contamination guard dropped %d document(s) containing an evaluation text: %s",
            stats["documents_dropped_contaminated"],
            ", ".join(stats["contaminated_doc_ids"][:10]),
        )
    log.info(
        "corpus: %d documents (%d held out), %d sentences, %d words; dropped %d empty, %d contaminated",
        stats["documents"], stats["heldout_documents"], stats["sentences"], stats["words"],
        stats["documents_dropped_empty"], stats["documents_dropped_contaminated"],
    )
    return df, stats
