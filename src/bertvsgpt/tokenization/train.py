"""Train each model's tokenizer with HF ``tokenizers``.

BERT uses WordPiece (Wu et al., 2016) with BERT's normaliser and pre-tokeniser; GPT uses a
byte-level BPE (as GPT-2; GPT-1's BPE ran over ftfy-cleaned, spaCy-tokenised text, which a
byte-level BPE makes unnecessary and which never produces unknown tokens).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

from .special import BERT_CLS, BERT_SEP, BERT_SPECIAL_TOKENS, BERT_UNK, GPT_SPECIAL_TOKENS


def train_wordpiece(
    texts: Iterable[str], vocab_size: int, min_frequency: int = 2, lowercase: bool = False
) -> Tokenizer:
    """A BERT WordPiece tokenizer; encoding a pair yields ``[CLS] A [SEP] B [SEP]`` with type ids 0/1.

    Deterministic: ``WordPieceTrainer`` numbers the ``##c`` continuation pieces in hash-map order and
    breaks merge ties by id, so the same text gives a different vocabulary on every call
    (huggingface/tokenizers#1794). The trainer numbers its special tokens first, so every ``##c``
    piece the text needs is handed over in sorted order as a (temporary) special token; the model is
    then rebuilt from the trained vocabulary with only BERT's special tokens marked special.
    """
    texts = list(texts)
    normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, lowercase=lowercase)
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=BERT_SPECIAL_TOKENS + continuation_pieces(texts, normalizer, pre_tokenizer),
        show_progress=True,
    )
    trained = Tokenizer(models.WordPiece(unk_token=BERT_UNK))
    trained.normalizer, trained.pre_tokenizer = normalizer, pre_tokenizer
    trained.train_from_iterator(texts, trainer=trainer)

    tok = Tokenizer(models.WordPiece(vocab=trained.get_vocab(with_added_tokens=False), unk_token=BERT_UNK))
    tok.normalizer, tok.pre_tokenizer = normalizer, pre_tokenizer
    tok.add_special_tokens(BERT_SPECIAL_TOKENS)
    cls_id, sep_id = tok.token_to_id(BERT_CLS), tok.token_to_id(BERT_SEP)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BERT_CLS} $A {BERT_SEP}",
        pair=f"{BERT_CLS} $A {BERT_SEP} $B:1 {BERT_SEP}:1",
        special_tokens=[(BERT_CLS, cls_id), (BERT_SEP, sep_id)],
    )
    tok.decoder = decoders.WordPiece()
    return tok


def continuation_pieces(texts: Iterable[str], normalizer, pre_tokenizer, prefix: str = "##") -> list[str]:
    """``##c`` for every character ``c`` that continues a pre-tokenised word of ``texts``, sorted."""
    chars: set[str] = set()
    for text in texts:
        for word, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(text)):
            chars.update(word[1:])
    return [prefix + c for c in sorted(chars)]


def train_byte_level_bpe(texts: Iterable[str], vocab_size: int, min_frequency: int = 2) -> Tokenizer:
    """A GPT byte-level BPE tokenizer with the fine-tuning tokens (start, delimiter, extract)."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=GPT_SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=True,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.decoder = decoders.ByteLevel()
    return tok


def train_tokenizer(kind: str, texts: Iterable[str], vocab_size: int, min_frequency: int, lowercase: bool) -> Tokenizer:
    if kind == "bert":
        return train_wordpiece(texts, vocab_size, min_frequency, lowercase)
    if kind == "gpt":
        return train_byte_level_bpe(texts, vocab_size, min_frequency)
    raise ValueError(f"unknown tokenizer kind '{kind}' (known: bert, gpt)")


def load_tokenizer(path: str | Path) -> Tokenizer:
    path = Path(path)
    if path.is_dir():
        path = path / "tokenizer.json"
    if not path.is_file():
        raise FileNotFoundError(f"tokenizer not found: {path} (run the tokenizer stage first)")
    return Tokenizer.from_file(str(path))


def iter_sentences(corpus_sentences: Iterable[list[str]]) -> Iterator[str]:
    for sentences in corpus_sentences:
        yield from sentences
