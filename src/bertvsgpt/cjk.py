"""Which characters are CJK ideographs or syllables: the scripts written without spaces between words."""


def is_cjk(ch: str) -> bool:
    """A CJK ideograph (unified, extension A/B..., compatibility) or a kana/hangul syllable."""
    cp = ord(ch)
    return (
        0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x3134F or 0xF900 <= cp <= 0xFAFF
        or 0x3040 <= cp <= 0x30FF or 0xAC00 <= cp <= 0xD7AF
    )


def is_unspaced(ch: str) -> bool:
    """Written without spaces around it: a CJK character, CJK punctuation (U+3000-303F: 。、「」) or a
    full-width form (U+FF00-FFEF: ，！？（）)."""
    cp = ord(ch)
    return is_cjk(ch) or 0x3000 <= cp <= 0x303F or 0xFF00 <= cp <= 0xFFEF
