"""Machine translation (German -> English): formats, models, module and the task kind.

Both models keep their own tokenizer, trained on English text, for both languages: German
words therefore split into more (and rarer) pieces than English ones; the run reports pieces
per word for each side, and BERT's WordPiece share of ``[UNK]`` source pieces.

GPT (decoder-only; Radford et al., 2018, §3.3 style input): one sequence
``<|start|> source <|delim|> target <|endoftext|>``. The loss is the language-model loss on the
target tokens only (source positions are labelled -100); the end-of-text token, which already
separates documents in pre-training, is predicted as part of the target so generation knows
where to stop. Translating = generating after ``<|start|> source <|delim|>``.

BERT (encoder-decoder, "BERT2RND" of Rothe et al., 2020, TACL): the pre-trained bidirectional
encoder reads ``[CLS] source [SEP]``; a randomly initialised Transformer decoder
(:class:`~bertvsgpt.models.TransformerDecoder`, ``decoder_layers`` blocks, post-LN, same
``d_model``) with cross-attention over the encoder states reads ``[CLS] target`` and predicts
``target [SEP]``: ``[CLS]`` starts and ``[SEP]`` ends a target. It embeds tokens with BERT's
embedding layer and projects onto BERT's word-embedding matrix, so it speaks the same vocabulary.

Lengths: ``max_length`` bounds BERT's source sequence and GPT's *whole* sequence;
``max_target_length`` (default 48) bounds the target tokens including the end token, which is
also the generation budget. GPT's source therefore gets ``max_length - max_target_length - 2``
tokens. Truncation keeps the start of each text and never drops the end token; every truncated
pair is counted.

Decoding is greedy, or beam search with ``num_beams`` (:func:`~bertvsgpt.models.beam_search`),
with a KV cache. The dev metric is chrF of greedy translations of (at most ``max_dev_generate``)
dev examples; the test split is scored by sacreBLEU's BLEU (primary) and chrF on the detokenised
translations; the predictions table holds id, source, reference, hypothesis and sentence chrF.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Optional

import polars as pl
import torch
import torch.nn.functional as F
from tokenizers import Tokenizer
from torch import nn

from ..kinds import SPECS
from ..metrics.generation import translation_metrics
from ..config.schema import TranslationConfig
from ..models import BertForPreTraining, GPTForPreTraining, KVCache, ModelConfig, TransformerDecoder, beam_search
from ..models.config import IGNORE_INDEX
from ..tokenization.special import BERT_CLS, BERT_SEP, BERT_UNK, GPT_DELIM, GPT_EOT, GPT_START
from .backbone import unwrapped
from .base import MONITOR, TaskModule, protocol_kwargs
from .data import ExampleDataset, check_task_table, split_frames
from .finetune import TaskContext, TaskInputs, predicted_ids
from .formatting import ARCHS, check_arch, pad_token_id, special_token_id
from .scoring import scored_translations
from .trainer import FitResult

log = logging.getLogger(__name__)

TABLE_COLUMNS = SPECS["translation"].table
# the schema's defaults (one place)
DEFAULT_MAX_TARGET_LENGTH = TranslationConfig.max_target_length
DEFAULT_DECODER_LAYERS = TranslationConfig.decoder_layers
DEFAULT_MAX_DEV_GENERATE = TranslationConfig.max_dev_generate


# ----------------------------------------------------------------------------- table and encoding


def check_translation_table(table: pl.DataFrame) -> None:
    """Columns, split names, and no null source or reference text."""
    check_task_table(table, TABLE_COLUMNS, "translation table")
    if table.get_column("text").null_count() or table.get_column("target").null_count():
        raise ValueError("translation table has null text or target values")


@dataclass
class TranslationEncoding:
    """Encoded pairs: the model's source side and the target tokens (ending with the end token)."""

    source_ids: list[list[int]]  # BERT: [CLS] src [SEP]; GPT: <|start|> src <|delim|>
    target_ids: list[list[int]]  # tgt + end token ([SEP] / <|endoftext|>)
    source_truncated: list[bool]
    target_truncated: list[bool]

    @property
    def n_truncated(self) -> int:
        """Pairs with either side shortened."""
        return sum(s or t for s, t in zip(self.source_truncated, self.target_truncated))


def source_budget(arch: str, max_length: int, max_target_length: int) -> int:
    """Source tokens that fit: ``max_length - 2`` (BERT) or ``max_length - max_target_length - 2`` (GPT)."""
    check_arch(arch)
    if max_target_length < 2:
        raise ValueError(f"max_target_length={max_target_length} must be >= 2 (a token and the end token)")
    budget = max_length - 2 - (max_target_length if arch == "gpt" else 0)
    if budget < 1:
        raise ValueError(
            f"max_length={max_length} leaves no room for the source (max_target_length={max_target_length})"
        )
    return budget


def end_token_id(tokenizer: Tokenizer, arch: str) -> int:
    """The token that ends a target: BERT's ``[SEP]``, GPT's ``<|endoftext|>``."""
    return special_token_id(tokenizer, BERT_SEP if arch == "bert" else GPT_EOT)


def encode_translation(
    tokenizer: Tokenizer,
    sources: Sequence[str],
    targets: Sequence[str],
    arch: str,
    max_length: int,
    max_target_length: int = DEFAULT_MAX_TARGET_LENGTH,
) -> TranslationEncoding:
    """Encode (source, target) pairs in ``arch``'s format (module docstring), truncating as needed."""
    if len(sources) != len(targets):
        raise ValueError(f"{len(sources)} sources but {len(targets)} targets")
    budget = source_budget(arch, max_length, max_target_length)
    if arch == "bert":
        first, last = special_token_id(tokenizer, BERT_CLS), special_token_id(tokenizer, BERT_SEP)
    else:
        first, last = special_token_id(tokenizer, GPT_START), special_token_id(tokenizer, GPT_DELIM)
    end = end_token_id(tokenizer, arch)
    src = [e.ids for e in tokenizer.encode_batch(list(sources), add_special_tokens=False)]
    tgt = [e.ids for e in tokenizer.encode_batch(list(targets), add_special_tokens=False)]
    out = TranslationEncoding([], [], [], [])
    for s, t in zip(src, tgt):
        out.source_truncated.append(len(s) > budget)
        out.target_truncated.append(len(t) > max_target_length - 1)
        out.source_ids.append([first, *s[:budget], last])
        out.target_ids.append([*t[: max_target_length - 1], end])
    return out


# BERT's pre-tokeniser splits off every punctuation mark, so its decoded text has spaces the
# reference does not ("don ' t", "state - of - the - art", "( twice )"). chrF ignores spaces,
# but BLEU's 13a tokeniser keeps "don't", "don’t" and "state-of-the-art" whole, so these rules undo the
# common cases (a light, rule-based detokeniser in the spirit of Moses'). Apostrophes come in two
# forms, ASCII ' and typographic ’ (a sixth of the Ding pairs' English sides have one); both get the
# same rules, or every "don’t" of BERT's would miss its reference while GPT's byte-level BPE decodes it
# exactly. The order matters: contractions first, then possessives and quotes.
_CONTRACTION = r"(?:t|s|m|d|re|ve|ll)\b"
_DETOK_RULES = [
    (re.compile(rf"(\w) (['’]) (?={_CONTRACTION})", re.IGNORECASE), r"\1\2"),  # don ' t -> don't, it ’ s -> it’s
    (re.compile(r"(\ws) ’ (?=\w)"), r"\1’ "),  # the Grimms ’ tales -> the Grimms’ tales (’ is rarely a quote)
    (re.compile(r"(\w) ’ (?=\w)"), r"\1’"),  # o ’ clock -> o’clock
    (re.compile(r"(^|\s)' (.+?) '(?!\w)"), r"\1'\2'"),  # said ' yes ' to -> said 'yes' to
    (re.compile(r"(\ws) ' (?=\w)"), r"\1' "),  # an unpaired one after -s: the girls ' room -> the girls' room
    (re.compile(r"(\w) ' (?=\w)"), r"\1'"),  # O ' Brien -> O'Brien
    (re.compile(r"(\w) - (?=\w)"), r"\1-"),  # state - of - the - art -> state-of-the-art
    (re.compile(r"([(\[{$£€]) "), r"\1"),  # ( x -> (x, $ 5 -> $5
    (re.compile(r" ([)\]}:;%])"), r"\1"),  # x ) -> x), 5 % -> 5%
    (re.compile(r'" ([^"]*?) "'), r'"\1"'),  # " Hello " -> "Hello"
    (re.compile(r"(\d)([.:]) (?=\d)"), r"\1\2"),  # 3. 5 -> 3.5, 10: 30 -> 10:30
    (re.compile(r"(\d), (?=\d{3}\b)"), r"\1,"),  # 1, 000 -> 1,000 (not "2019, 50"; "2019, 500" is rarer than "1,000")
]


def detokenize_wordpiece(text: str) -> str:
    """Remove the spaces BERT's punctuation splitting put into decoded text (see the rules above)."""
    for pattern, repl in _DETOK_RULES:
        text = pattern.sub(repl, text)
    return text


def decode_translation(tokenizer: Tokenizer, ids: Sequence[int], end_id: int, arch: str) -> str:
    """Text of generated ids, up to the first end token.

    Byte-level BPE (GPT) decodes losslessly; WordPiece (BERT) joins ``##`` pieces and is then
    passed through :func:`detokenize_wordpiece`.
    """
    ids = list(ids)
    if end_id in ids:
        ids = ids[: ids.index(end_id)]
    text = tokenizer.decode(ids, skip_special_tokens=True).strip()
    return detokenize_wordpiece(text) if arch == "bert" else text


def pieces_per_word(tokenizer: Tokenizer, texts: Sequence[str]) -> float:
    """Tokens per whitespace-separated word (how finely the tokenizer cuts a language)."""
    n_words = sum(len(t.split()) for t in texts)
    n_pieces = sum(len(e.ids) for e in tokenizer.encode_batch(list(texts), add_special_tokens=False))
    return n_pieces / max(1, n_words)


# ----------------------------------------------------------------------------- dataset and batching


class TranslationDataset(ExampleDataset):
    """One item per pair: raw texts (for scoring) and the encoded source / target ids."""

    ITEM = {"id": "ids", "source": "sources", "reference": "references", "source_ids": "source_ids", "target_ids": "target_ids"}

    def __init__(
        self, ids: list[Any], sources: list[str], references: list[str], encoding: TranslationEncoding
    ) -> None:
        super().__init__(
            ids=ids, sources=sources, references=references, source_ids=encoding.source_ids, target_ids=encoding.target_ids
        )
        self.encoding = encoding


def _pad(rows: Sequence[Sequence[int]], value: int, left: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """``(B, T)`` padded ids and their ``(B, T)`` mask (1 = real token), right- or left-padded."""
    T = max(len(r) for r in rows)
    ids = torch.full((len(rows), T), value, dtype=torch.long)
    mask = torch.zeros((len(rows), T), dtype=torch.long)
    for i, r in enumerate(rows):
        span = slice(T - len(r), T) if left else slice(0, len(r))
        ids[i, span] = torch.tensor(r, dtype=torch.long)
        mask[i, span] = 1
    return ids, mask


@dataclass
class TranslationCollator:
    """Batches pairs for ``arch`` (keys below); ``id``/``source``/``reference`` stay lists.

    BERT: ``src_ids``/``src_mask`` (right-padded encoder input), ``decoder_ids`` = ``[CLS] tgt``
    and ``labels`` = ``tgt [SEP]`` (-100 on padding).
    GPT: ``input_ids``/``attention_mask`` = the whole right-padded sequence, ``labels[t]`` = the
    token at ``t + 1`` on target positions, else -100; ``prompt_ids``/``prompt_mask`` = the
    left-padded ``<|start|> src <|delim|>`` that generation continues.
    """

    arch: str
    pad_id: int
    bos_id: Optional[int] = None  # BERT: the decoder's start token ([CLS])

    def __call__(self, examples: Sequence[dict[str, Any]]) -> dict[str, Any]:
        batch: dict[str, Any] = {k: [e[k] for e in examples] for k in ("id", "source", "reference")}
        srcs = [e["source_ids"] for e in examples]
        tgts = [e["target_ids"] for e in examples]
        if self.arch == "bert":
            batch["src_ids"], batch["src_mask"] = _pad(srcs, self.pad_id)
            batch["decoder_ids"], _ = _pad([[self.bos_id, *t[:-1]] for t in tgts], self.pad_id)
            batch["labels"], _ = _pad(tgts, IGNORE_INDEX)
        else:
            batch["input_ids"], batch["attention_mask"] = _pad([s + t for s, t in zip(srcs, tgts)], self.pad_id)
            # position p predicts token p + 1; the first target token is predicted at the delimiter
            batch["labels"], _ = _pad([[IGNORE_INDEX] * (len(s) - 1) + t + [IGNORE_INDEX] for s, t in zip(srcs, tgts)], IGNORE_INDEX)
            batch["prompt_ids"], batch["prompt_mask"] = _pad(srcs, self.pad_id, left=True)
        return batch


# ----------------------------------------------------------------------------- models


class GPTTranslator(nn.Module):
    """The pre-trained GPT (backbone + tied LM head) continuing ``<|start|> src <|delim|>``."""

    def __init__(self, gpt: GPTForPreTraining) -> None:
        super().__init__()
        gpt = unwrapped(gpt, GPTForPreTraining, "GPTTranslator")
        self.config: ModelConfig = gpt.config
        self.transformer = gpt.transformer
        self.lm_head = gpt.lm_head

    def forward(self, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        """``(logits (B, T, V), hidden (B, T, d_model))`` of the whole sequence."""
        hidden = self.transformer(batch["input_ids"], attention_mask=batch["attention_mask"])
        return self.lm_head(hidden), hidden

    @torch.no_grad()
    def generate(self, batch: dict[str, Any], max_new_tokens: int, end_id: int, num_beams: int = 1) -> torch.Tensor:
        """``(B, L)`` generated ids after each left-padded prompt (KV cache; real tokens keep positions 0..)."""
        mask = batch["prompt_mask"].repeat_interleave(num_beams, dim=0)
        prompt = batch["prompt_ids"].repeat_interleave(num_beams, dim=0)
        next_pos = mask.sum(dim=1, keepdim=True)  # (N, 1) position of each row's next token
        n_pad = mask.size(1) - next_pos
        positions = (torch.arange(mask.size(1), device=mask.device)[None, :] - n_pad).clamp(min=0)
        cache = KVCache(self.config.n_layer)
        first = self.lm_head(self.transformer(prompt, attention_mask=mask, position_ids=positions, cache=cache)[:, -1])

        def step(ids: torch.Tensor) -> torch.Tensor:
            nonlocal mask, next_pos
            mask = torch.cat([mask, mask.new_ones(mask.size(0), 1)], dim=1)
            hidden = self.transformer(ids, attention_mask=mask, position_ids=next_pos, cache=cache)
            next_pos = next_pos + 1
            return self.lm_head(hidden[:, -1])

        def reorder(index: torch.Tensor) -> None:
            nonlocal mask, next_pos
            cache.reorder(index)
            mask, next_pos = mask[index], next_pos[index]

        return beam_search(first, step, reorder, num_beams, max_new_tokens, end_id)


class BertTranslator(nn.Module):
    """The pre-trained BERT encoder + a randomly initialised decoder sharing its embedding layer.

    ``config`` is the fine-tuning config (``finetune.dropout`` in place of the pre-training dropout) the decoder is
    built with; without it, the encoder's own config. A pre-trained encoder keeps the config it was saved with
    (dropout 0) and gets its fine-tuning dropout set in place, so the decoder must not copy that config: it did, and
    the pre-trained BERT's decoder trained without dropout while its scratch twin's had 0.1."""

    def __init__(self, bert: BertForPreTraining, decoder_layers: int = DEFAULT_DECODER_LAYERS,
                 config: ModelConfig | None = None) -> None:
        super().__init__()
        bert = unwrapped(bert, BertForPreTraining, "BertTranslator")
        self.config: ModelConfig = bert.config
        self.encoder = bert.bert
        self.decoder = TransformerDecoder(config or bert.config, decoder_layers, self.encoder.embeddings)

    def encode(self, batch: dict[str, Any]) -> torch.Tensor:
        return self.encoder(batch["src_ids"], None, batch["src_mask"])  # segment ids all 0

    def forward(self, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        """``(logits (B, T, V), encoder states (B, S, d_model))`` for ``decoder_ids``."""
        memory = self.encode(batch)
        return self.decoder(batch["decoder_ids"], memory, batch["src_mask"]), memory

    @torch.no_grad()
    def generate(
        self, batch: dict[str, Any], max_new_tokens: int, end_id: int, bos_id: int, num_beams: int = 1
    ) -> torch.Tensor:
        """``(B, L)`` generated ids; the encoder runs once, its keys/values are cached per decoder layer."""
        memory = self.encode(batch).repeat_interleave(num_beams, dim=0)
        memory_mask = batch["src_mask"].repeat_interleave(num_beams, dim=0)
        cache = self.decoder.new_cache()
        start = memory_mask.new_full((memory.size(0), 1), bos_id)
        first = self.decoder(start, memory, memory_mask, cache)[:, -1]
        # the beams of one example share its source, so memory needs no reordering (the cache does)
        step = lambda ids: self.decoder(ids, memory, memory_mask, cache)[:, -1]  # noqa: E731
        return beam_search(first, step, cache.reorder, num_beams, max_new_tokens, end_id)


def build_translator(pretrained: nn.Module, arch: str, decoder_layers: int = DEFAULT_DECODER_LAYERS,
                     config: ModelConfig | None = None) -> nn.Module:
    """The translator of ``arch``; ``config`` (the fine-tuning config) sets a new decoder's dropout."""
    if arch == "bert":
        return BertTranslator(pretrained, decoder_layers, config)  # type: ignore[arg-type]
    if arch == "gpt":
        return GPTTranslator(pretrained)  # type: ignore[arg-type]
    raise ValueError(f"unknown architecture '{arch}' (known: {ARCHS})")


# ----------------------------------------------------------------------------- Lightning module


class TranslationModule(TaskModule):
    """Token cross-entropy on the targets; logs ``train_loss``, ``val_loss``, ``val_bleu`` and ``val_score`` (dev chrF).

    The dev translations are greedy, for the first ``max_dev_generate`` dev examples; the test
    ones (``predict_step``) use ``num_beams``.
    """

    def __init__(
        self,
        model: nn.Module,
        arch: str,
        tokenizer: Tokenizer,
        max_new_tokens: int,
        num_beams: int = 1,
        max_dev_generate: int = DEFAULT_MAX_DEV_GENERATE,
        **protocol: Any,
    ) -> None:
        super().__init__(model, **protocol)
        if num_beams < 1:
            raise ValueError(f"num_beams={num_beams} must be >= 1")
        if max_dev_generate < 1:
            raise ValueError(f"max_dev_generate={max_dev_generate} must be >= 1")
        self.arch = arch
        self.tokenizer = tokenizer
        self.end_id = end_token_id(tokenizer, arch)
        self.bos_id = special_token_id(tokenizer, BERT_CLS) if arch == "bert" else None
        self.max_new_tokens = max_new_tokens
        self.num_beams = num_beams
        self.max_dev_generate = max_dev_generate
        self._dev_hyps: list[str] = []
        self._dev_refs: list[str] = []

    def loss(self, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        """(target cross-entropy, the hidden states the GPT auxiliary LM loss reads)."""
        logits, hidden = self.model(batch)
        loss = F.cross_entropy(logits.float().flatten(0, 1), batch["labels"].flatten(), ignore_index=IGNORE_INDEX)
        return loss, hidden

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        loss, hidden = self.loss(batch)
        if self.arch == "gpt":  # Radford et al., 2018, eq. 5 (0 unless finetune.aux_lm_weight > 0)
            loss = loss + self.aux_lm_loss(hidden, batch["input_ids"], batch["attention_mask"])
        self.log("train_loss", loss, on_step=True, on_epoch=True, prog_bar=True, sync_dist=True, batch_size=len(batch["id"]))
        return loss

    def translate(self, batch: dict[str, Any], num_beams: int = 1) -> list[list[int]]:
        """Generated ids per example, cut after the first end token."""
        if self.arch == "bert":
            out = self.model.generate(batch, self.max_new_tokens, self.end_id, self.bos_id, num_beams)
        else:
            out = self.model.generate(batch, self.max_new_tokens, self.end_id, num_beams)
        rows = []
        for r in out.tolist():
            rows.append(r[: r.index(self.end_id) + 1] if self.end_id in r else r)
        return rows

    def decode(self, ids: Sequence[int]) -> str:
        return decode_translation(self.tokenizer, ids, self.end_id, self.arch)

    def on_validation_epoch_start(self) -> None:
        self._dev_hyps, self._dev_refs = [], []

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        loss, _ = self.loss(batch)
        self.log("val_loss", loss, on_step=False, on_epoch=True, batch_size=len(batch["id"]))
        n = min(len(batch["id"]), self.max_dev_generate - len(self._dev_hyps))
        if n > 0:
            head = {k: v[:n] for k, v in batch.items()}
            self._dev_hyps += [self.decode(ids) for ids in self.translate(head)]
            self._dev_refs += head["reference"]

    def on_validation_epoch_end(self) -> None:
        scores = translation_metrics(self._dev_hyps, self._dev_refs)
        self.log("val_bleu", scores["bleu"], prog_bar=True)
        self.log(MONITOR, scores["chrf"], prog_bar=True)

    def predict_step(self, batch: dict[str, Any], batch_idx: int, dataloader_idx: int = 0) -> dict[str, Any]:
        """``{"id": [...], "ids": generated ids per example, "hypothesis": their text}``."""
        ids = self.translate(batch, self.num_beams)
        return {"id": list(batch["id"]), "ids": ids, "hypothesis": [self.decode(r) for r in ids]}


# ----------------------------------------------------------------------------- fine-tuning run


class Translation:
    """Translation as a :class:`~bertvsgpt.tasks.finetune.TaskKind`: a target sentence per source sentence.

    Options (``tasks.<task>``): ``max_target_length``, ``decoder_layers`` (BERT's randomly
    initialised decoder blocks), ``num_beams`` (1 = greedy) and ``max_dev_generate`` (dev examples
    decoded per epoch for the dev metric, chrF); the test split is translated whole.
    """

    primary_metric = "test_bleu"

    def encode(self, table: pl.DataFrame, ctx: TaskContext) -> TaskInputs:
        cfg: TranslationConfig = ctx.task_cfg  # type: ignore[assignment]  # the translation kind's typed config
        check_translation_table(table)
        frames = split_frames(table)
        datasets: dict[str, TranslationDataset] = {}
        truncated: dict[str, dict[str, int]] = {"pairs": {}, "source": {}, "target": {}}
        for s, frame in frames.items():
            sources, refs = frame.get_column("text").to_list(), frame.get_column("target").to_list()
            enc = encode_translation(ctx.tokenizer, sources, refs, ctx.arch, cfg.max_length, cfg.max_target_length)
            datasets[s] = TranslationDataset(frame.get_column("id").to_list(), sources, refs, enc)
            truncated["pairs"][s] = enc.n_truncated
            truncated["source"][s], truncated["target"][s] = sum(enc.source_truncated), sum(enc.target_truncated)
        n_truncated = sum(truncated["pairs"].values())
        if n_truncated:
            log.warning(
                "%d pair(s) truncated (max_length=%d, max_target_length=%d; by split: %s)",
                n_truncated, cfg.max_length, cfg.max_target_length, truncated["pairs"],
            )
        bos_id = special_token_id(ctx.tokenizer, BERT_CLS) if ctx.arch == "bert" else None
        collate = TranslationCollator(ctx.arch, pad_token_id(ctx.tokenizer, ctx.arch), bos_id)
        return TaskInputs(frames, datasets, collate, truncated["pairs"], state={"truncated": truncated})  # type: ignore[arg-type]

    def build(self, pretrained: nn.Module, config: ModelConfig, inputs: TaskInputs, ctx: TaskContext) -> TaskModule:
        cfg: TranslationConfig = ctx.task_cfg  # type: ignore[assignment]  # the translation kind's typed config
        if cfg.max_target_length > config.max_seq_len:
            raise ValueError(f"max_target_length={cfg.max_target_length} exceeds the model's max_seq_len={config.max_seq_len}")
        model = build_translator(pretrained, ctx.arch, cfg.decoder_layers, config)
        return TranslationModule(
            model, ctx.arch, ctx.tokenizer, cfg.max_target_length, cfg.num_beams, cfg.max_dev_generate,
            **protocol_kwargs(ctx.ft_cfg, pretrained),
        )

    def score(self, fit: FitResult, inputs: TaskInputs, ctx: TaskContext) -> tuple[pl.DataFrame, dict[str, Any]]:
        cfg: TranslationConfig = ctx.task_cfg  # type: ignore[assignment]
        arch, tokenizer = ctx.arch, ctx.tokenizer
        test = inputs.frames["test"]
        predicted_ids(fit, test)
        hyps = [h for b in fit.batches for h in b["hypothesis"]]
        sources, refs = test.get_column("text").to_list(), test.get_column("target").to_list()
        predictions, test_metrics = scored_translations(test, hyps)
        test_src = [s[1:-1] for s in inputs.datasets["test"].encoding.source_ids]  # type: ignore[attr-defined]  # without the specials
        unk = tokenizer.token_to_id(BERT_UNK) if arch == "bert" else None  # byte-level BPE has no unknowns
        n_unk = sum(t == unk for s in test_src for t in s) if unk is not None else 0
        truncated = inputs.state["truncated"]
        return predictions, {
            **test_metrics,
            "best_dev_chrf": fit.best_dev_score,
            "n_dev_generated": min(len(inputs.datasets["dev"]), cfg.max_dev_generate),  # type: ignore[arg-type]
            "n_source_truncated_by_split": truncated["source"],
            "n_target_truncated_by_split": truncated["target"],
            "max_target_length": cfg.max_target_length,
            "num_beams": cfg.num_beams,
            "decoder_layers": cfg.decoder_layers if arch == "bert" else 0,
            "source_pieces_per_word": pieces_per_word(tokenizer, sources),
            "target_pieces_per_word": pieces_per_word(tokenizer, refs),
            "source_unk_rate": n_unk / max(1, sum(len(s) for s in test_src)),
        }


TRANSLATION = Translation()
