"""Near-duplicate examples, which exact de-duplication misses and which would put the same text on two sides of a split.

Two texts are near-duplicates when

- they are equal once case, punctuation and spacing are ignored (:func:`~bertvsgpt.data.corpus.normalise_for_match`:
  "I 'm tired" and "I'm tired", "Ich gebe auf." and "Ich gebe auf!"), or
- they share at least two long sentences (``CONTAINS_MIN_CHARS`` normalised characters, as the contamination
  guard counts them), and at least half of those of the one that has fewer: a BBC article filed twice under two
  headlines, a Quoref passage and its shortened copy. One shared sentence is not enough: Social IQa's templated
  questions ("What does Addison need to do before this?") follow different stories.

:func:`first_near_duplicate` drops the later of two near-duplicate examples (the first is kept, as exact
de-duplication keeps it); :func:`merge_near_duplicate_groups` keeps every example of a grouped task (several
questions on one passage) and puts near-duplicate groups together, so that the split assigns them to one side.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from .corpus import CONTAINS_MIN_CHARS, normalise_for_match
from .sentences import split_sentences

SHARED_FRACTION = 0.5  # of the shorter text's long sentences
MIN_SHARED = 2


def long_sentences(text: str, language: str = "en") -> frozenset[str]:
    """The normalised sentences of ``text`` at least ``CONTAINS_MIN_CHARS`` characters long."""
    normalised = (normalise_for_match(s) for s in split_sentences(text, language))
    return frozenset(s for s in normalised if len(s) >= CONTAINS_MIN_CHARS)


class _Index:
    """Texts seen so far, by normalised text and by long sentence."""

    def __init__(self, language: str):
        self.language = language
        self.by_text: dict[str, int] = {}
        self.by_sentence: dict[str, list[int]] = {}
        self.n_long: dict[int, int] = {}

    def matches(self, text: str) -> tuple[list[int], str, frozenset[str]]:
        """The indexed texts that ``text`` near-duplicates, earliest first, and ``text``'s keys."""
        norm, long = normalise_for_match(text), long_sentences(text, self.language)
        found = {self.by_text[norm]} if norm in self.by_text else set()
        shared = Counter(i for s in long for i in self.by_sentence.get(s, ()))
        found.update(i for i, n in shared.items()
                     if n >= MIN_SHARED and n >= SHARED_FRACTION * min(len(long), self.n_long[i]))
        return sorted(found), norm, long

    def add(self, i: int, norm: str, long: frozenset[str]) -> None:
        if norm:
            self.by_text.setdefault(norm, i)
        for s in long:
            self.by_sentence.setdefault(s, []).append(i)
        self.n_long[i] = len(long)


def first_near_duplicate(texts: Sequence[str], language: str = "en") -> list[int | None]:
    """For each text, the index of the earliest *kept* text it near-duplicates, or None when it is kept itself."""
    index, out = _Index(language), []
    for i, text in enumerate(texts):
        found, norm, long = index.matches(text)
        out.append(found[0] if found else None)
        if not found:
            index.add(i, norm, long)
    return out


def merge_near_duplicate_groups(texts: Sequence[str], groups: Sequence, language: str = "en") -> list:
    """``groups`` with every two groups that hold near-duplicate texts joined (transitively) under the group of
    the earliest text among them."""
    parent: dict = {}

    def root(g):
        while parent.setdefault(g, g) != g:
            parent[g] = parent[parent[g]]
            g = parent[g]
        return g

    index, first_of = _Index(language), {}
    for i, (text, group) in enumerate(zip(texts, groups)):
        first_of.setdefault(group, i)
        found, norm, long = index.matches(text)
        for j in found:
            a, b = root(groups[j]), root(group)
            if a != b:  # the root is the group whose first text came first
                a, b = sorted((a, b), key=lambda g: first_of[g])
                parent[b] = a
        index.add(i, norm, long)
    return [root(g) for g in groups]
