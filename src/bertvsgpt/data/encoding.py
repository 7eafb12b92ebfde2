"""Strict decoding of source files with the source's declared ``encoding`` (``data.sources.<name>.encoding``).

Undecodable bytes stop the stage with one line naming the file, the byte offset and the encoding,
instead of turning into U+FFFD replacement characters without a word.
"""

from __future__ import annotations

import codecs

from ..cjk import is_unspaced


class UndecodableError(ValueError):
    """A source file holds bytes that are not valid in the declared encoding."""

    def __init__(self, where: str, encoding: str, exc: UnicodeDecodeError, source: str | None = None) -> None:
        self.where, self.encoding, self.offset = where, encoding, exc.start
        self.byte = exc.object[exc.start : exc.start + 1]
        self.found = guess_chinese_encoding(exc.object) if is_utf8(encoding) else None
        super().__init__(self.message(source))

    def message(self, source: str | None = None) -> str:
        key = f"data.sources.{source}.encoding" if source else "the source's encoding:"
        if self.found:
            return (
                f"{self.where}: not valid {self.encoding} (byte 0x{self.byte.hex()} at offset {self.offset}); "
                f"it reads as {self.found} (Chinese text): set {key}: {self.found} in params.yaml, or convert the file to UTF-8"
            )
        return (
            f"{self.where}: byte 0x{self.byte.hex()} at offset {self.offset} is not valid {self.encoding}; "
            f"if the file uses another encoding, set {key} in params.yaml (e.g. latin-1)"
        )


def guess_chinese_encoding(data: bytes, sample: int = 1 << 16) -> str | None:
    """``"gbk"`` (or ``"gb18030"``) when bytes that are not UTF-8 decode strictly as that Chinese encoding and
    most of what they decode to is CJK: a People's Daily or review file saved in GBK, the usual mistake."""
    head = data[:sample]
    for codec in ("gbk", "gb18030"):
        try:
            text = head.decode(codec)
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 4:  # not just a multi-byte character cut by the sample's end
                continue
            text = head[: exc.start].decode(codec)
        non_ascii = [c for c in text if ord(c) > 0x7F]
        cjk = sum(map(is_unspaced, non_ascii))
        if non_ascii and cjk >= 0.8 * len(non_ascii):
            return codec
    return None


def is_utf8(encoding: str) -> bool:
    return codecs.lookup(encoding).name in ("utf-8", "utf-8-sig")


def decode(data: bytes, encoding: str, where: str, source: str | None = None, strip_bom: bool = False) -> str:
    """``data`` decoded strictly; ``strip_bom`` drops a leading UTF-8 byte-order mark (for UTF-8)."""
    codec = "utf-8-sig" if strip_bom and is_utf8(encoding) else encoding
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        raise UndecodableError(where, encoding, exc, source) from None
