"""BERT pre-training instances: sentence-pair construction and MLM masking.

A port of google-research/bert ``create_pretraining_data.py``
(``create_instances_from_document``, ``truncate_seq_pair`` and
``create_masked_lm_predictions``; Devlin et al., 2019, §3.1 and Appendix A.2)
that works on token-id arrays instead of WordPiece strings.

Differences from the reference, all deliberate:

* the instances are created once (``dupe_factor=1``) and the masking is
  applied dynamically by the dataset (as later done by RoBERTa), so the two
  steps are separate functions here;
* the "random next" document is drawn uniformly among the *other* documents
  (the reference retries 10 times and may, with tiny probability, fall back
  to the same document), so segment B of a NotNext pair always comes from a
  different document;
* truncation trims index ranges instead of deleting list elements one by one
  (same random decisions, same result).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Optional, Protocol, Sequence, Union

import numpy as np


class _SentenceDocuments(Protocol):
    """Anything like :class:`~bertvsgpt.tokenization.token_store.TokenStore`."""

    @property
    def n_docs(self) -> int: ...

    def doc_sentences(self, i: int) -> list[np.ndarray]: ...


Documents = Union[_SentenceDocuments, Sequence[Sequence[Sequence[int]]]]


@dataclass
class TrainingInstance:
    """``[CLS] A [SEP] B [SEP]`` with its segment ids and provenance."""

    tokens: np.ndarray  # int64 (T,)
    segment_ids: np.ndarray  # int64 (T,), 0 for [CLS] A [SEP], 1 for B [SEP]
    is_random_next: bool
    doc_index: int  # document segment A comes from
    random_doc_index: int  # document segment B comes from when random, else -1


def _num_docs(documents: Documents) -> int:
    return documents.n_docs if hasattr(documents, "doc_sentences") else len(documents)  # type: ignore[union-attr,arg-type]


def _get_doc(documents: Documents, i: int) -> Sequence[np.ndarray]:
    if hasattr(documents, "doc_sentences"):
        return documents.doc_sentences(i)  # type: ignore[union-attr]
    return [np.asarray(s, dtype=np.int64) for s in documents[i]]  # type: ignore[index]


def truncate_seq_pair(len_a: int, len_b: int, max_num_tokens: int, rng: random.Random) -> tuple[slice, slice]:
    """Truncate a pair to ``max_num_tokens`` in total (reference ``truncate_seq_pair``).

    Repeatedly removes one token from the longer segment, from the front or
    the back with equal probability ("to add more randomness and avoid
    biases"). Returns the slices of A and B to keep.
    """
    a0, a1, b0, b1 = 0, len_a, 0, len_b
    while (a1 - a0) + (b1 - b0) > max_num_tokens:
        if (a1 - a0) > (b1 - b0):
            if rng.random() < 0.5:
                a0 += 1
            else:
                a1 -= 1
        else:
            if rng.random() < 0.5:
                b0 += 1
            else:
                b1 -= 1
    return slice(a0, a1), slice(b0, b1)


def _concat(segments: Sequence[np.ndarray]) -> np.ndarray:
    if not segments:
        return np.zeros(0, dtype=np.int64)
    return np.concatenate([np.asarray(s, dtype=np.int64) for s in segments])


def create_instances_from_document(
    documents: Documents,
    document_index: int,
    max_seq_length: int,
    short_seq_prob: float,
    cls_id: int,
    sep_id: int,
    rng: random.Random,
) -> list[TrainingInstance]:
    """Create the NSP sentence-pair instances of one document (no masking).

    Segment A is a run of consecutive sentences; B is the true continuation
    with probability 0.5, otherwise a span starting at a random sentence of a
    random *different* document, in which case the unused sentences of the
    current chunk are "put back" to be reused. With probability
    ``short_seq_prob`` the target length is drawn uniformly from
    ``[2, max_seq_length - 3]`` to reduce pre-train/fine-tune mismatch.
    """
    n_docs = _num_docs(documents)
    if n_docs < 2:
        raise ValueError(f"need at least 2 documents for random-next pairs, got {n_docs}")
    if max_seq_length < 5:
        raise ValueError(f"max_seq_length={max_seq_length} must be >= 5")
    document = _get_doc(documents, document_index)

    # Account for [CLS], [SEP], [SEP].
    max_num_tokens = max_seq_length - 3

    # We *usually* fill the whole sequence, but sometimes (short_seq_prob)
    # use a shorter one to minimise the mismatch with fine-tuning.
    target_seq_length = max_num_tokens
    if rng.random() < short_seq_prob:
        target_seq_length = rng.randint(2, max_num_tokens)

    instances: list[TrainingInstance] = []
    current_chunk: list[np.ndarray] = []
    current_length = 0
    i = 0
    while i < len(document):
        segment = document[i]
        current_chunk.append(segment)
        current_length += len(segment)
        if i == len(document) - 1 or current_length >= target_seq_length:
            if current_chunk:
                # How many chunk segments go into A.
                a_end = 1
                if len(current_chunk) >= 2:
                    a_end = rng.randint(1, len(current_chunk) - 1)
                tokens_a = _concat(current_chunk[:a_end])

                random_doc_index = -1
                if len(current_chunk) == 1 or rng.random() < 0.5:
                    is_random_next = True
                    target_b_length = target_seq_length - len(tokens_a)
                    # Uniform over the other documents.
                    random_doc_index = rng.randint(0, n_docs - 2)
                    if random_doc_index >= document_index:
                        random_doc_index += 1
                    random_document = _get_doc(documents, random_doc_index)
                    random_start = rng.randint(0, len(random_document) - 1)
                    b_segments: list[np.ndarray] = []
                    b_length = 0
                    for j in range(random_start, len(random_document)):
                        b_segments.append(random_document[j])
                        b_length += len(random_document[j])
                        if b_length >= target_b_length:
                            break
                    tokens_b = _concat(b_segments)
                    # Put the unused segments back so they are not wasted.
                    num_unused_segments = len(current_chunk) - a_end
                    i -= num_unused_segments
                else:
                    is_random_next = False
                    tokens_b = _concat(current_chunk[a_end:])

                keep_a, keep_b = truncate_seq_pair(len(tokens_a), len(tokens_b), max_num_tokens, rng)
                tokens_a, tokens_b = tokens_a[keep_a], tokens_b[keep_b]
                assert len(tokens_a) >= 1 and len(tokens_b) >= 1

                tokens = np.concatenate(
                    [[cls_id], tokens_a, [sep_id], tokens_b, [sep_id]]
                ).astype(np.int64)
                segment_ids = np.zeros(len(tokens), dtype=np.int64)
                segment_ids[len(tokens_a) + 2 :] = 1
                instances.append(
                    TrainingInstance(tokens, segment_ids, is_random_next, document_index, random_doc_index)
                )
            current_chunk = []
            current_length = 0
        i += 1
    return instances


def create_instances(
    documents: Documents,
    max_seq_length: int,
    short_seq_prob: float,
    cls_id: int,
    sep_id: int,
    rng: random.Random,
) -> list[TrainingInstance]:
    """:func:`create_instances_from_document` over every document, in order."""
    out: list[TrainingInstance] = []
    for d in range(_num_docs(documents)):
        out.extend(
            create_instances_from_document(documents, d, max_seq_length, short_seq_prob, cls_id, sep_id, rng)
        )
    return out


def num_predictions(seq_len: int, masked_lm_prob: float, max_predictions_per_seq: int) -> int:
    """``min(max_predictions_per_seq, max(1, round(seq_len * masked_lm_prob)))``."""
    return min(max_predictions_per_seq, max(1, int(round(seq_len * masked_lm_prob))))


def mask_tokens(
    tokens: np.ndarray,
    special_ids: set[int],
    vocab_size: int,
    mask_id: int,
    rng: random.Random,
    masked_lm_prob: float = 0.15,
    max_predictions_per_seq: int = 20,
    whole_word_starts: Optional[np.ndarray] = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Masked-LM corruption (reference ``create_masked_lm_predictions``).

    Selects ``num_predictions(len(tokens), ...)`` non-special positions; each
    selected token is replaced by ``mask_id`` with probability 0.8, kept
    unchanged with 0.1 and replaced by a uniformly random vocabulary id with
    0.1.

    Args:
        tokens: ``(T,)`` token ids (not modified).
        special_ids: ids that are never selected ([CLS], [SEP], [PAD], ...).
        whole_word_starts: optional boolean array indexed by token id, ``True``
            for ids that begin a word. When given, whole-word masking is used:
            a continuation piece (WordPiece ``##...``) is grouped with the
            preceding pieces and a word is masked entirely or not at all.

    Returns:
        ``(masked_tokens, positions, labels)``: the corrupted copy, the sorted
        selected positions and the original ids at those positions (int64).
    """
    tokens = np.asarray(tokens)
    token_list = tokens.tolist()
    is_start = None
    if whole_word_starts is not None:
        is_start = np.asarray(whole_word_starts, dtype=bool)[tokens].tolist()

    cand_indexes: list[list[int]] = []
    for i, tok in enumerate(token_list):
        if tok in special_ids:
            continue
        if is_start is not None and cand_indexes and not is_start[i] and cand_indexes[-1][-1] == i - 1:
            cand_indexes[-1].append(i)
        else:
            cand_indexes.append([i])
    rng.shuffle(cand_indexes)

    output = list(token_list)
    num_to_predict = num_predictions(len(token_list), masked_lm_prob, max_predictions_per_seq)
    positions: list[int] = []
    for index_set in cand_indexes:
        if len(positions) >= num_to_predict:
            break
        # Skip a whole word that would exceed the budget.
        if len(positions) + len(index_set) > num_to_predict:
            continue
        for index in index_set:
            if rng.random() < 0.8:
                masked = mask_id  # 80%: [MASK]
            elif rng.random() < 0.5:
                masked = token_list[index]  # 10%: keep
            else:
                masked = rng.randint(0, vocab_size - 1)  # 10%: random token
            output[index] = masked
            positions.append(index)
    positions.sort()
    pos = np.asarray(positions, dtype=np.int64)
    labels = tokens[pos].astype(np.int64) if len(pos) else np.zeros(0, dtype=np.int64)
    return np.asarray(output, dtype=np.int64), pos, labels
