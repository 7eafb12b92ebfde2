"""Contamination check: how many test examples share an n-gram with the pre-training corpus.

Texts are lower-cased and split into word tokens (runs of letters, digits and underscores, so
tokenisation differences such as ``It 's`` vs ``It's`` or punctuation do not matter); Chinese is
written without spaces, so each CJK character is a token of its own (the zh preset sets a longer ``n``). A test
example overlaps when any n-gram (default ``n = 8``) of any of its text fields (the input text,
translation target, answer options) also occurs in a training-split document of the corpus
(n-grams may span sentence boundaries inside a document). The prepare stage already drops corpus
documents containing an evaluation sentence verbatim; this check measures what is left: shorter
shared passages, quotations, boilerplate.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

# a CJK ideograph or kana/hangul syllable alone (the ranges of bertvsgpt.cjk.is_cjk), else a run of word characters
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003134f"
_WORD = re.compile(f"[{_CJK}]|[^\\W{_CJK}]+")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def ngrams(tokens: Sequence[str], n: int) -> Iterable[str]:
    for i in range(len(tokens) - n + 1):
        yield " ".join(tokens[i : i + n])


@dataclass(frozen=True)
class Overlap:
    task: str
    n_examples: int
    n_overlapping: int
    n_checkable: int  # examples with at least one n-gram (at least n words)

    @property
    def share(self) -> float:
        return self.n_overlapping / self.n_examples if self.n_examples else 0.0


def contamination(corpus: Iterable[str], tests: Mapping[str, Sequence[Sequence[str]]], n: int = 8) -> list[Overlap]:
    """Per task: test examples sharing at least one word n-gram with the corpus documents."""
    if n < 1:
        raise ValueError("n must be >= 1")
    # n-gram -> the (task, example) pairs containing it; the test side is small, the corpus is streamed
    index: dict[str, list[tuple[str, int]]] = {}
    checkable: dict[str, int] = {}
    for task, examples in tests.items():
        checkable[task] = 0
        for i, fields in enumerate(examples):
            grams = {g for field in fields for g in ngrams(words(field), n)}
            checkable[task] += bool(grams)
            for g in grams:
                index.setdefault(g, []).append((task, i))
    hit: set[tuple[str, int]] = set()
    if index:
        for doc in corpus:
            for g in ngrams(words(doc), n):
                owners = index.pop(g, None)  # a shared n-gram needs counting once
                if owners:
                    hit.update(owners)
    return [
        Overlap(task, len(examples), sum(1 for t, _ in hit if t == task), checkable[task])
        for task, examples in tests.items()
    ]
