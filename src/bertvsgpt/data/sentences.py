"""Sentence splitting: BlingFire for English, :func:`.chinese.split_chinese_sentences` for Chinese.

Blank lines are hard paragraph boundaries (no sentence spans two paragraphs); single line
breaks inside a paragraph are treated as spaces (hard-wrapped text), and all whitespace runs are
collapsed to one space.
"""

from __future__ import annotations

import re

import blingfire

_PARAGRAPH = re.compile(r"\n[ \t\r\f\v\u00a0]*\n")


def normalise_whitespace(text: str) -> str:
    """Collapse every whitespace run (newlines, tabs, NBSP, ...) to one space and strip."""
    return " ".join(text.split())


def split_paragraphs(text: str) -> list[str]:
    """Blank-line separated paragraphs, whitespace-normalised, empty ones dropped."""
    out = []
    for para in _PARAGRAPH.split(text.replace("\r\n", "\n").replace("\r", "\n")):
        para = normalise_whitespace(para)
        if para:
            out.append(para)
    return out


def split_sentences(text: str, language: str = "en") -> list[str]:
    """Split ``text`` into sentences, whitespace-normalised: BlingFire ``text_to_sentences`` for English
    (``language="en"``), the Chinese terminators (。！？ and their closing quotes) for ``"zh"``."""
    if not text:
        return []
    if language == "zh":
        from .chinese import split_chinese_sentences  # chinese imports this module

        return split_chinese_sentences(text)
    sentences: list[str] = []
    for para in split_paragraphs(text):
        for sent in blingfire.text_to_sentences(para).split("\n"):
            sent = normalise_whitespace(sent)
            if sent:
                sentences.append(sent)
    return sentences
