"""Fine-tuning input formats, as the papers define them.

BERT (Devlin et al., 2019, §3.2 and figure 4): a single text is ``[CLS] text [SEP]`` with
segment ids 0; a pair is ``[CLS] a [SEP] b [SEP]`` with segment ids 0 for ``[CLS] a [SEP]``
and 1 for ``b [SEP]``. The classifier reads the pooled ``[CLS]`` state.

GPT (Radford et al., 2018, §3.3 and figure 1): a single text is ``<|start|> text <|extract|>``;
a pair is ``<|start|> a <|delim|> b <|extract|>``. The classifier reads the last layer's state
at the extract token, which is therefore always the last real token. GPT has no segment table,
so its type ids are all 0 (and never reach the model).

Truncation keeps the start of each text and never drops a special token. For pairs the longer
text loses its last token until the whole fits (BERT's ``_truncate_seq_pair``). Every truncated
example is counted, never silently cut.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Union

from tokenizers import Tokenizer

from ..tokenization.special import (
    BERT_CLS,
    BERT_SEP,
    GPT_DELIM,
    GPT_EXTRACT,
    GPT_START,
    PAD_TOKEN,
)

ARCHS = ("bert", "gpt")

TextOrPair = Union[str, tuple[str, str], list[str]]


def special_token_id(tokenizer: Tokenizer, token: str) -> int:
    """The id of ``token``; a clear error when the tokenizer lacks it (wrong tokenizer for the model)."""
    idx = tokenizer.token_to_id(token)
    if idx is None:
        raise ValueError(f"tokenizer has no special token {token!r}: is it the right tokenizer for this model?")
    return idx


def pad_token_id(tokenizer: Tokenizer, arch: str) -> int:
    check_arch(arch)
    return special_token_id(tokenizer, PAD_TOKEN[arch])


def check_arch(arch: str) -> None:
    if arch not in ARCHS:
        raise ValueError(f"unknown architecture '{arch}' (known: {ARCHS})")


def _truncate_pair(a: list[int], b: list[int], budget: int) -> tuple[list[int], list[int]]:
    """Drop the last token of the longer text until ``len(a) + len(b) <= budget``."""
    a, b = list(a), list(b)
    while len(a) + len(b) > budget:
        if len(a) >= len(b):
            a.pop()
        else:
            b.pop()
    return a, b


def _split_texts(texts: Sequence[TextOrPair]) -> tuple[list[str], list[str] | None]:
    firsts: list[str] = []
    seconds: list[str] = []
    kinds = set()
    for t in texts:
        if isinstance(t, str):
            kinds.add(1)
            firsts.append(t)
        elif isinstance(t, (tuple, list)) and len(t) == 2 and all(isinstance(x, str) for x in t):
            kinds.add(2)
            firsts.append(t[0])
            seconds.append(t[1])
        else:
            raise TypeError(f"each example must be a string or a (text_a, text_b) pair of strings, got {t!r}")
    if len(kinds) > 1:
        raise ValueError("mix of single texts and text pairs in one call")
    return firsts, (seconds if kinds == {2} else None)


def encode_classification(
    tokenizer: Tokenizer,
    texts: Sequence[TextOrPair],
    arch: str,
    max_length: int,
) -> tuple[list[list[int]], list[list[int]], int]:
    """Encode single texts or ``(a, b)`` pairs in ``arch``'s fine-tuning format.

    Returns ``(input_ids, token_type_ids, n_truncated)``: one id list and one segment-id list
    per example (unpadded, each at most ``max_length`` long) and the number of examples whose
    text had to be shortened to fit.
    """
    ids, types, truncated = encode_examples(tokenizer, texts, arch, max_length)
    return ids, types, sum(truncated)


def encode_examples(
    tokenizer: Tokenizer,
    texts: Sequence[TextOrPair],
    arch: str,
    max_length: int,
) -> tuple[list[list[int]], list[list[int]], list[bool]]:
    """:func:`encode_classification` with a per-example "was truncated" flag instead of the count."""
    check_arch(arch)
    firsts, seconds = _split_texts(texts)
    pair = seconds is not None
    n_special = 3 if pair else 2  # [CLS] a [SEP] (b [SEP]) / start a (delim b) extract
    budget = max_length - n_special
    if budget < (2 if pair else 1):
        raise ValueError(f"max_length={max_length} leaves no room for text after {n_special} special tokens")

    enc_a = [e.ids for e in tokenizer.encode_batch(firsts, add_special_tokens=False)]
    enc_b = [e.ids for e in tokenizer.encode_batch(seconds, add_special_tokens=False)] if pair else None

    if arch == "bert":
        cls_id, sep_id = special_token_id(tokenizer, BERT_CLS), special_token_id(tokenizer, BERT_SEP)
    else:
        start_id, extract_id = special_token_id(tokenizer, GPT_START), special_token_id(tokenizer, GPT_EXTRACT)
        delim_id = special_token_id(tokenizer, GPT_DELIM) if pair else None

    all_ids: list[list[int]] = []
    all_types: list[list[int]] = []
    truncated: list[bool] = []
    for i, a in enumerate(enc_a):
        if pair:
            b = enc_b[i]  # type: ignore[index]
            truncated.append(len(a) + len(b) > budget)
            if truncated[-1]:
                a, b = _truncate_pair(a, b, budget)
        else:
            b = None
            truncated.append(len(a) > budget)
            a = a[:budget]
        if arch == "bert":
            ids = [cls_id, *a, sep_id]
            types = [0] * len(ids)
            if b is not None:
                ids += [*b, sep_id]
                types += [1] * (len(b) + 1)
        else:
            ids = [start_id, *a]
            if b is not None:
                ids += [delim_id, *b]  # type: ignore[list-item]
            ids.append(extract_id)
            types = [0] * len(ids)
        all_ids.append(ids)
        all_types.append(types)
    return all_ids, all_types, truncated
