"""PyTorch datasets for the two pre-training objectives.

* :class:`BertPretrainingDataset`: NSP sentence pairs built once from the
  token store (Devlin et al., 2019), with MLM masking re-drawn every epoch
  ("dynamic masking", Liu et al., 2019, RoBERTa §4.1) from a seed derived
  from ``(seed, epoch, index)``, so every run is reproducible.
* :class:`GPTPackedDataset`: documents concatenated with an end-of-text token
  after each one and cut into fixed-length windows (Radford et al., 2018/2019
  style packing), read straight from the memory map.

:func:`build_dataset` picks one for an architecture from the params and :class:`BertBatch` collates;
the pre-training run and the intrinsic evaluation share them (:class:`~bertvsgpt.sampler.EpochSampler`
orders an epoch).
"""

from __future__ import annotations

import logging
import random
from typing import Iterable, Optional

import numpy as np
import torch
from torch.utils.data import Dataset

from ..config import Params
from ..models.config import IGNORE_INDEX
from ..tokenization.encode import word_start_mask
from ..tokenization.special import BERT_CLS, BERT_MASK, BERT_PAD, BERT_SEP, BERT_SPECIAL_TOKENS, GPT_EOT
from ..tokenization.token_store import TokenStore
from .bert_instances import TrainingInstance, create_instances, mask_tokens

logger = logging.getLogger(__name__)



class BertPretrainingDataset(Dataset):
    """Fixed-size, padded MLM + NSP examples.

    Instances are created deterministically from ``seed`` in ``__init__`` and
    stored compactly (one flat token array + offsets). Masking happens in
    ``__getitem__`` with ``random.Random`` seeded from ``(seed, epoch, index)``;
    call :meth:`set_epoch` before each epoch to draw new masks (DataLoader
    workers must be re-created after it, i.e. ``persistent_workers=False``).

    Items (all ``torch.long``): ``input_ids``, ``token_type_ids``,
    ``attention_mask`` of shape ``(max_seq_length,)``; ``masked_positions``
    and ``masked_labels`` (``-100`` padded) of shape
    ``(max_predictions_per_seq,)``; scalar ``nsp_label`` (1 = random next).
    """

    def __init__(
        self,
        store: TokenStore,
        *,
        cls_id: int,
        sep_id: int,
        mask_id: int,
        pad_id: int = 0,
        vocab_size: Optional[int] = None,
        max_seq_length: int = 128,
        short_seq_prob: float = 0.1,
        masked_lm_prob: float = 0.15,
        max_predictions_per_seq: int = 20,
        special_ids: Optional[Iterable[int]] = None,
        whole_word_starts: Optional[np.ndarray] = None,
        seed: int = 12345,
    ) -> None:
        self.vocab_size = int(vocab_size if vocab_size is not None else store.vocab_size)
        self.cls_id, self.sep_id, self.mask_id, self.pad_id = cls_id, sep_id, mask_id, pad_id
        self.max_seq_length = max_seq_length
        self.masked_lm_prob = masked_lm_prob
        self.max_predictions_per_seq = max_predictions_per_seq
        self.special_ids = set(special_ids) if special_ids is not None else {cls_id, sep_id, mask_id, pad_id}
        self.whole_word_starts = None if whole_word_starts is None else np.asarray(whole_word_starts, dtype=bool)
        self.seed = seed
        self.epoch = 0

        instances = create_instances(store, max_seq_length, short_seq_prob, cls_id, sep_id, random.Random(seed))
        self._pack(instances)
        logger.info(
            "BertPretrainingDataset: %d instances from %d documents (%.1f%% random next)",
            len(self),
            store.n_docs,
            100.0 * float(self.nsp_labels.mean()) if len(self) else 0.0,
        )

    def _pack(self, instances: list[TrainingInstance]) -> None:
        lengths = np.array([len(x.tokens) for x in instances], dtype=np.int64)
        self.offsets = np.zeros(len(instances) + 1, dtype=np.int64)
        np.cumsum(lengths, out=self.offsets[1:])
        dtype = np.uint16 if self.vocab_size <= 65535 else np.uint32
        self.tokens = (
            np.concatenate([x.tokens for x in instances]).astype(dtype)
            if instances
            else np.zeros(0, dtype=dtype)
        )
        # Index of the first segment-B token within each instance.
        self.b_starts = np.array([int(np.argmax(x.segment_ids)) for x in instances], dtype=np.int32)
        self.nsp_labels = np.array([x.is_random_next for x in instances], dtype=np.int64)
        self.doc_ids = np.array([x.doc_index for x in instances], dtype=np.int64)
        self.random_doc_ids = np.array([x.random_doc_index for x in instances], dtype=np.int64)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def set_epoch(self, epoch: int) -> None:
        """Select the masking pattern of ``epoch`` (instances stay the same)."""
        self.epoch = int(epoch)

    def instance(self, index: int) -> TrainingInstance:
        """The unmasked instance ``index`` (for inspection and tests)."""
        tokens = self.tokens[self.offsets[index] : self.offsets[index + 1]].astype(np.int64)
        segment_ids = np.zeros(len(tokens), dtype=np.int64)
        segment_ids[self.b_starts[index] :] = 1
        return TrainingInstance(
            tokens, segment_ids, bool(self.nsp_labels[index]), int(self.doc_ids[index]), int(self.random_doc_ids[index])
        )

    def _rng(self, index: int) -> random.Random:
        # Distinct, reproducible stream per (seed, epoch, index), independent
        # of worker count and iteration order.
        return random.Random((self.seed << 64) ^ (self.epoch << 40) ^ index)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if not 0 <= index < len(self):
            raise IndexError(index)
        inst = self.instance(index)
        masked, positions, labels = mask_tokens(
            inst.tokens,
            self.special_ids,
            self.vocab_size,
            self.mask_id,
            self._rng(index),
            masked_lm_prob=self.masked_lm_prob,
            max_predictions_per_seq=self.max_predictions_per_seq,
            whole_word_starts=self.whole_word_starts,
        )
        T, P, n = self.max_seq_length, self.max_predictions_per_seq, len(masked)
        input_ids = torch.full((T,), self.pad_id, dtype=torch.long)
        input_ids[:n] = torch.from_numpy(masked)
        token_type_ids = torch.zeros(T, dtype=torch.long)
        token_type_ids[:n] = torch.from_numpy(inst.segment_ids)
        attention_mask = torch.zeros(T, dtype=torch.long)
        attention_mask[:n] = 1
        masked_positions = torch.zeros(P, dtype=torch.long)
        masked_positions[: len(positions)] = torch.from_numpy(positions)
        masked_labels = torch.full((P,), IGNORE_INDEX, dtype=torch.long)
        masked_labels[: len(labels)] = torch.from_numpy(labels)
        return {
            "input_ids": input_ids,
            "token_type_ids": token_type_ids,
            "attention_mask": attention_mask,
            "masked_positions": masked_positions,
            "masked_labels": masked_labels,
            "nsp_label": torch.tensor(int(inst.is_random_next), dtype=torch.long),
        }


def packed_token_count(store: TokenStore) -> int:
    """Length of the packed GPT stream: every token plus one EOS per document."""
    return store.n_tokens + store.n_docs


class GPTPackedDataset(Dataset):
    """Causal-LM windows over ``doc_0 EOS doc_1 EOS ... doc_{n-1} EOS``.

    Window ``i`` covers stream positions ``[i*seq_len, i*seq_len + seq_len + 1)``:
    ``input_ids = window[:-1]``, ``targets = window[1:]``. Consecutive windows
    share exactly one boundary token, so the inputs tile the stream and every
    stream token after the first is a target exactly once: no token is lost.
    The final partial window (if any) is padded with ``eos_id`` inputs and
    ``-100`` targets unless ``drop_last=True``.

    The stream is never materialised: positions are mapped to the memory-mapped
    ids with vectorised numpy (``searchsorted`` over document boundaries).
    """

    def __init__(self, store: TokenStore, seq_len: int, eos_id: int, drop_last: bool = False) -> None:
        if seq_len < 1:
            raise ValueError(f"seq_len={seq_len} must be >= 1")
        self.store = store
        self.seq_len = seq_len
        self.eos_id = eos_id
        self.drop_last = drop_last
        doc_tok = store.doc_token_offsets()  # (n_docs + 1,) into ids
        self._doc_tok_start = doc_tok[:-1]
        self._doc_len = np.diff(doc_tok)
        # Start of each document in the packed stream (each followed by one EOS).
        self._stream_start = doc_tok[:-1] + np.arange(store.n_docs, dtype=np.int64)
        self.stream_length = packed_token_count(store)
        n_targets = max(self.stream_length - 1, 0)
        self._n_windows = n_targets // seq_len if drop_last else -(-n_targets // seq_len)

    def __len__(self) -> int:
        return self._n_windows

    def stream_slice(self, start: int, end: int) -> np.ndarray:
        """Packed-stream tokens ``[start, end)`` (clipped to the stream) as int64."""
        end = min(end, self.stream_length)
        pos = np.arange(start, end, dtype=np.int64)
        doc = np.searchsorted(self._stream_start, pos, side="right") - 1
        in_doc = pos - self._stream_start[doc]
        is_eos = in_doc >= self._doc_len[doc]
        src = np.where(is_eos, 0, self._doc_tok_start[doc] + in_doc)
        out = np.asarray(self.store.ids[src], dtype=np.int64)
        out[is_eos] = self.eos_id
        return out

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if not 0 <= index < len(self):
            raise IndexError(index)
        start = index * self.seq_len
        window = torch.from_numpy(self.stream_slice(start, start + self.seq_len + 1))
        input_ids = torch.full((self.seq_len,), self.eos_id, dtype=torch.long)
        targets = torch.full((self.seq_len,), IGNORE_INDEX, dtype=torch.long)
        n = len(window) - 1
        input_ids[:n] = window[:-1]
        targets[:n] = window[1:]
        return {"input_ids": input_ids, "targets": targets}


def build_dataset(arch: str, store: TokenStore, tokenizer, params: Params, seed: int) -> Dataset:
    """BERT: MLM+NSP instances (dynamic masking); GPT: packed causal-LM windows."""
    seq_len = params.pretrain.seq_len
    if arch == "bert":
        b = params.pretrain.bert
        ids = {t: tokenizer.token_to_id(t) for t in BERT_SPECIAL_TOKENS}
        return BertPretrainingDataset(
            store,
            cls_id=ids[BERT_CLS],
            sep_id=ids[BERT_SEP],
            mask_id=ids[BERT_MASK],
            pad_id=ids[BERT_PAD],
            vocab_size=tokenizer.get_vocab_size(),
            max_seq_length=seq_len,
            short_seq_prob=b.short_seq_prob,
            masked_lm_prob=b.masked_lm_prob,
            max_predictions_per_seq=b.max_predictions_per_seq,
            special_ids=set(ids.values()),
            whole_word_starts=word_start_mask(tokenizer) if b.whole_word_mask else None,
            seed=seed,
        )
    return GPTPackedDataset(store, seq_len, eos_id=tokenizer.token_to_id(GPT_EOT), drop_last=True)


class BertBatch:
    """Drop the NSP labels when NSP is switched off (RoBERTa's MLM-only ablation)."""

    def __init__(self, nsp: bool) -> None:
        self.nsp = nsp

    def __call__(self, items: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
        batch = torch.utils.data.default_collate(items)
        if not self.nsp:
            batch.pop("nsp_label", None)
        return batch
