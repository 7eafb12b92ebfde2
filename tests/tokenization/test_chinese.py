"""Chinese text through our tokenizers, as the Chinese track needs them (issue 15).

BERT's WordPiece is character-level on CJK as ``bert-base-chinese`` is: BERT's normaliser
(``handle_chinese_chars``) puts spaces around every CJK ideograph, so each is its own word and
WordPiece never merges two of them, while Latin words and digits are split into pieces as usual.
GPT's byte-level BPE merges frequent character sequences (on People's Daily at 8,192 tokens:
1.49 characters per token, against WordPiece's 1.01).
"""

from __future__ import annotations

import re

from bertvsgpt.tokenization import train_byte_level_bpe, train_wordpiece

CJK = re.compile(r"[\u4e00-\u9fff]")
TEXTS = [
    "政治工作是红军的生命线。",
    "中国人民银行今天发布了新的政策，经济增长百分之八。",
    "北京是中国的首都，上海是中国最大的城市。",
    "江泽民主席在人民大会堂会见了外国客人。",
    "Windows 95 的销量在1998年增长了。",
] * 20


def test_wordpiece_gives_every_cjk_character_its_own_token():
    tok = train_wordpiece(TEXTS, vocab_size=300, min_frequency=1)
    for text in set(TEXTS):
        tokens = tok.encode(text, add_special_tokens=False).tokens
        cjk_tokens = [t for t in tokens if CJK.search(t)]
        assert cjk_tokens == CJK.findall(text), (text, tokens)  # one token per character, in order
        assert not any(t.startswith("##") and CJK.search(t) for t in tokens)
    latin = tok.encode("Windows 95", add_special_tokens=False).tokens
    assert "".join(t.removeprefix("##") for t in latin) == "Windows95"


def test_byte_level_bpe_merges_frequent_chinese_sequences_and_round_trips():
    tok = train_byte_level_bpe(TEXTS, vocab_size=600, min_frequency=2)
    text = TEXTS[1]
    enc = tok.encode(text, add_special_tokens=False)
    assert tok.decode(enc.ids) == text
    assert len(enc.ids) < len(text)  # some multi-character tokens (one CJK character is 3 bytes)
