"""Tokenize the corpus once, into the memory-mapped token store that pre-training reads."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import numpy as np
from tokenizers import Tokenizer
from tqdm import tqdm


def encode_documents(
    tokenizer: Tokenizer, documents: Iterable[Sequence[str]], arch: str, batch_docs: int = 256
) -> Iterator[list[list[int]]]:
    """Yield each document as a list of sentences of token ids (no special tokens).

    For the byte-level BPE, sentences after the first get a leading space, so that concatenating
    a document's sentences decodes to the running text (GPT is trained on running text).
    """
    batch: list[Sequence[str]] = []

    def flush() -> Iterator[list[list[int]]]:
        flat: list[str] = []
        sizes: list[int] = []
        for doc in batch:
            kept = [s for s in doc if s.strip()]
            sents = [s if (arch != "gpt" or i == 0) else " " + s for i, s in enumerate(kept)]
            flat.extend(sents)
            sizes.append(len(sents))
        encs = tokenizer.encode_batch(flat, add_special_tokens=False)
        i = 0
        for n in sizes:
            yield [e.ids for e in encs[i : i + n] if e.ids]
            i += n

    for doc in tqdm(documents, desc=f"encode ({arch})", unit="doc", mininterval=2.0):
        batch.append(list(doc))
        if len(batch) >= batch_docs:
            yield from flush()
            batch = []
    if batch:
        yield from flush()


def word_start_mask(tokenizer: Tokenizer) -> np.ndarray:
    """Boolean array over the vocabulary: True where a WordPiece token starts a word (no ``##``)."""
    vocab = tokenizer.get_vocab()
    mask = np.ones(tokenizer.get_vocab_size(), dtype=bool)
    for tok, idx in vocab.items():
        if tok.startswith("##"):
            mask[idx] = False
    return mask
