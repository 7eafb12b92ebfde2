"""Token classification (named entities, BIO tags): encoding, module and the task kind (the head is in ``heads.py``).

Input format. BERT (Devlin et al., 2019, §5.3): ``[CLS] w1 w2 ... [SEP]`` where each word is
split into sub-words; the word's tag goes on its FIRST sub-word, the other sub-words and the
specials get the ignore label -100, and a word is predicted from its first sub-word's state.
GPT (Radford et al., 2018, §3.3 gives no tagging format; we use its single-text one):
``<|start|> w1 w2 ... <|extract|>`` with the word's tag on its LAST sub-word: GPT's causal state
there has seen the whole word and the words to its LEFT, never the right context BERT attends to;
that asymmetry is exactly what this task compares. At the first sub-word it would have seen only
the word's first piece (79 % of WNUT's test entity words are several byte-level BPE pieces at the
8,192-token vocabulary), which cost GPT 9.8 entity-F1 points (README, "The recipe").
``tasks.<task>.word_subword.{bert,gpt}`` (``first`` | ``last``) sets the position per objective.

Each word is tokenised on its own, as it tokenises in running text: the WordPiece
pre-tokeniser splits on whitespace anyway, and for the byte-level BPE (trained with
``add_prefix_space=False``) every word after the first gets a leading space, so the sub-words
of a sentence are those of ``" ".join(words)`` (as :mod:`..tokenization.encode` does for
pre-training; with ``add_prefix_space=True`` the first word would get its space from the
tokenizer in both cases). Chinese is written without spaces, so no space goes between two words
where either side is a CJK character or CJK punctuation (the character-level People's Daily NER: each character a word,
no leading space, as in the pre-training text). A word with no sub-words (BERT's normaliser drops e.g. a lone zero-width
character) becomes ``[UNK]``, so every word has a first sub-word.

Truncation keeps whole words from the start of the sentence while their sub-words fit into
``max_length`` (specials included). Truncated sentences are counted and logged. For scoring, a
truncated word is predicted ``O``: its gold entities stay in the test (and dev) score as misses
and are never silently dropped.

Head: dropout + linear over the last layer's state at every position; loss: cross-entropy over
the tagged sub-words (plus GPT's auxiliary LM loss when ``finetune.aux_lm_weight > 0``). The dev
metric is entity-level micro F1 (seqeval, :mod:`..metrics.entities`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
import torch
import torch.nn.functional as F
from tokenizers import Tokenizer
from torch import nn
from torch.nn.utils.rnn import pad_sequence

from ..cjk import is_unspaced
from ..config.schema import SUBWORDS
from ..kinds import SPECS
from ..metrics.entities import entity_f1
from ..models import ModelConfig
from ..models.config import IGNORE_INDEX
from ..tokenization.special import BERT_CLS, BERT_SEP, BERT_UNK, GPT_EXTRACT, GPT_START
from .base import MONITOR, TaskModule, protocol_kwargs
from .data import SPLITS, ExampleDataset, check_task_table, encode_splits, require_classes, tag_list
from .finetune import TaskContext, TaskInputs, predicted_ids, warn_truncated
from .formatting import check_arch, pad_token_id, special_token_id
from .heads import TokenClassifier
from .scoring import scored_tags
from .trainer import FitResult

TABLE_COLUMNS = SPECS["token_classification"].table
TAG_PATTERN = re.compile(r"^(O|[BI]-.+)$")


# ----------------------------------------------------------------------------- table and encoding


def check_tagged_table(table: pl.DataFrame) -> None:
    """Columns, split names, and per row: a non-empty word list, one BIO tag per word."""
    check_task_table(table, TABLE_COLUMNS)
    for row_id, words, tags in table.select("id", "tokens", "tags").iter_rows():
        if not words:
            raise ValueError(f"row {row_id!r} has no words")
        if tags is None or len(tags) != len(words):
            raise ValueError(f"row {row_id!r} has {len(words)} words but {0 if tags is None else len(tags)} tags")
        if any(not w for w in words):
            raise ValueError(f"row {row_id!r} has an empty word")
        bad = [t for t in tags if not TAG_PATTERN.match(t)]
        if bad:
            raise ValueError(f"row {row_id!r} has tag(s) {bad[:3]} that are not O, B-X or I-X")


def spaced(previous: str, word: str) -> bool:
    """Whether running text puts a space between ``previous`` and ``word``: not when either side of the
    boundary is a CJK character or CJK / full-width punctuation (Chinese is written without spaces)."""
    return not (previous and word and (is_unspaced(previous[-1]) or is_unspaced(word[0])))


def word_pieces(tokenizer: Tokenizer, sentences: Sequence[Sequence[str]], arch: str) -> list[list[list[int]]]:
    """Sub-word ids of every word of every sentence, as the word tokenises in running text.

    GPT's byte-level BPE marks a word boundary by a leading space, so words after the first get
    one; BERT's WordPiece splits on whitespace, so each word is encoded as is. A word without
    sub-words becomes ``[UNK]`` (BERT); for GPT every non-empty word has at least one byte.
    """
    check_arch(arch)
    flat = [
        w if (arch == "bert" or j == 0 or not spaced(words[j - 1], w)) else " " + w
        for words in sentences
        for j, w in enumerate(words)
    ]
    encoded = tokenizer.encode_batch(flat, add_special_tokens=False) if flat else []
    unk = special_token_id(tokenizer, BERT_UNK) if arch == "bert" else None
    out: list[list[list[int]]] = []
    k = 0
    for words in sentences:
        pieces = []
        for w in words:
            ids = encoded[k].ids
            k += 1
            if not ids:
                if unk is None:
                    raise ValueError(f"word {w!r} has no sub-words")
                ids = [unk]
            pieces.append(ids)
        out.append(pieces)
    return out


def encode_words(
    tokenizer: Tokenizer, sentences: Sequence[Sequence[str]], arch: str, max_length: int, subword: str = "first"
) -> tuple[list[list[int]], list[list[int]], int]:
    """Encode word lists in ``arch``'s format (see the module docstring).

    Returns ``(input_ids, word_positions, n_truncated)``: per sentence the token ids (at most
    ``max_length``) and the position of each kept word's tagged sub-word, its first or its last
    (``subword``; ``len(word_positions[i])`` words are kept, the rest were truncated), and the
    number of truncated sentences.
    """
    budget = max_length - 2
    if budget < 1:
        raise ValueError(f"max_length={max_length} leaves no room for words after the 2 special tokens")
    if subword not in SUBWORDS:
        raise ValueError(f"subword must be one of {SUBWORDS}, not {subword!r}")
    if arch == "bert":
        first, last = special_token_id(tokenizer, BERT_CLS), special_token_id(tokenizer, BERT_SEP)
    else:
        first, last = special_token_id(tokenizer, GPT_START), special_token_id(tokenizer, GPT_EXTRACT)
    all_ids: list[list[int]] = []
    all_positions: list[list[int]] = []
    n_truncated = 0
    for pieces in word_pieces(tokenizer, sentences, arch):
        ids, positions = [first], []
        for p in pieces:
            if len(ids) - 1 + len(p) > budget:
                n_truncated += 1
                break
            positions.append(len(ids) if subword == "first" else len(ids) + len(p) - 1)
            ids.extend(p)
        ids.append(last)
        all_ids.append(ids)
        all_positions.append(positions)
    return all_ids, all_positions, n_truncated


# ----------------------------------------------------------------------------- data


class TaggedDataset(ExampleDataset):
    """Encoded sentences of one split: token ids, per-token labels (-100 off the tagged sub-words), gold tags."""

    ITEM = {"id": "ids", "input_ids": "input_ids", "labels": "labels", "tags": "tags"}

    def __init__(
        self,
        ids: Sequence[Any],
        input_ids: Sequence[list[int]],
        word_positions: Sequence[list[int]],
        tags: Sequence[list[str]],
        tag_to_id: dict[str, int],
    ) -> None:
        # tags: all words' gold tags, truncated ones included
        super().__init__(ids=ids, input_ids=input_ids, word_positions=word_positions, tags=[list(t) for t in tags])
        self.labels = []
        for ids_, positions, tags_ in zip(self.input_ids, self.word_positions, self.tags):
            labels = [IGNORE_INDEX] * len(ids_)
            for pos, tag in zip(positions, tags_):
                labels[pos] = tag_to_id[tag]
            self.labels.append(labels)
        self.n_kept = [len(s) for s in self.word_positions]  # words that fit into max_length
        self.n_truncated_words = sum(len(t) - k for t, k in zip(self.tags, self.n_kept))

    @classmethod
    def from_frame(
        cls,
        frame: pl.DataFrame,
        tokenizer: Tokenizer,
        arch: str,
        max_length: int,
        tags: Sequence[str],
        subword: str = "first",
    ) -> tuple["TaggedDataset", int]:
        """Encode a (single-split) frame; returns the dataset and its number of truncated sentences."""
        tag_to_id = {t: i for i, t in enumerate(tags)}
        sentences = frame.get_column("tokens").to_list()
        gold = frame.get_column("tags").to_list()
        unknown = {t for s in gold for t in s} - set(tag_to_id)
        if unknown:
            raise ValueError(f"tags {sorted(unknown)} are not in the tag list {list(tags)}")
        input_ids, positions, n_truncated = encode_words(tokenizer, sentences, arch, max_length, subword)
        return cls(frame.get_column("id").to_list(), input_ids, positions, gold, tag_to_id), n_truncated


@dataclass
class TaggedCollator:
    """Right-pads ``input_ids`` (pad id) and ``labels`` (-100); gold tag lists pass through."""

    pad_id: int

    def __call__(self, examples: Sequence[dict[str, Any]]) -> dict[str, Any]:
        def pad(key: str, value: int) -> torch.Tensor:
            rows = [torch.tensor(e[key], dtype=torch.long) for e in examples]
            return pad_sequence(rows, batch_first=True, padding_value=value)

        return {
            "id": [e["id"] for e in examples],
            "input_ids": pad("input_ids", self.pad_id),
            "attention_mask": pad_sequence(
                [torch.ones(len(e["input_ids"]), dtype=torch.long) for e in examples], batch_first=True
            ),
            "labels": pad("labels", IGNORE_INDEX),
            "tags": [e["tags"] for e in examples],
        }


# ----------------------------------------------------------------------------- model


def decode_tags(
    logits: torch.Tensor, labels: torch.Tensor, tags: Sequence[Sequence[str]], tag_names: Sequence[str]
) -> list[list[str]]:
    """Predicted tag of every word of every sentence (``tags``: the gold tags, for the word counts).

    The argmax at each kept word's tagged sub-word (where ``labels != -100``); ``O`` for the
    truncated words.
    """
    pred = logits.argmax(-1).cpu()
    tagged_at = (labels != IGNORE_INDEX).cpu()
    out = []
    for row, tagged, gold in zip(pred, tagged_at, tags):
        words = [tag_names[i] for i in row[tagged].tolist()]
        out.append(words + ["O"] * (len(gold) - len(words)))
    return out


class TokenClassificationModule(TaskModule):
    """Trains a :class:`TokenClassifier`; logs ``train_loss``, ``val_loss`` and ``val_score`` (dev entity F1)."""

    def __init__(self, model: TokenClassifier, tags: Sequence[str], **protocol: Any) -> None:
        super().__init__(model, **protocol)
        self.tags = list(tags)
        self._dev_gold: list[list[str]] = []
        self._dev_pred: list[list[str]] = []

    def forward(self, batch: dict[str, Any]) -> torch.Tensor:
        return self.model(batch["input_ids"], batch["attention_mask"])

    def _loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy over the tagged sub-words; 0 (not NaN) for a batch whose words were all truncated."""
        total = F.cross_entropy(
            logits.reshape(-1, logits.size(-1)), labels.reshape(-1), ignore_index=IGNORE_INDEX, reduction="sum"
        )
        return total / (labels != IGNORE_INDEX).sum().clamp(min=1)

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        hidden = self.model.hidden(batch["input_ids"], batch["attention_mask"])
        logits = self.model.classify(hidden).float()
        loss = self._loss(logits, batch["labels"])
        loss = loss + self.aux_lm_loss(hidden, batch["input_ids"], batch["attention_mask"])
        self.log("train_loss", loss, on_step=True, on_epoch=True, prog_bar=True, sync_dist=True, batch_size=logits.size(0))
        return loss

    def on_validation_epoch_start(self) -> None:
        self._dev_gold, self._dev_pred = [], []

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        logits = self(batch).float()
        loss = self._loss(logits, batch["labels"])
        self.log("val_loss", loss, on_step=False, on_epoch=True, batch_size=logits.size(0))
        self._dev_gold.extend(batch["tags"])
        self._dev_pred.extend(decode_tags(logits, batch["labels"], batch["tags"], self.tags))

    def on_validation_epoch_end(self) -> None:
        """Entity F1 over the whole dev split (not an average of per-batch F1s)."""
        self.log(MONITOR, entity_f1(self._dev_gold, self._dev_pred), prog_bar=True)

    def predict_step(self, batch: dict[str, Any], batch_idx: int, dataloader_idx: int = 0) -> dict[str, Any]:
        """``{"id": [...], "pred": [[tag per word], ...]}`` (truncated words predicted ``O``)."""
        pred = decode_tags(self(batch).float(), batch["labels"], batch["tags"], self.tags)
        return {"id": list(batch["id"]), "pred": pred}


# ----------------------------------------------------------------------------- fine-tuning run


class TokenClassification:
    """Tagging as a :class:`~bertvsgpt.tasks.finetune.TaskKind`: one BIO tag per word.

    The tag set is every tag of every split. Words cut off by ``max_length`` are predicted ``O``, so
    the test score still counts their gold entities (as misses); ``n_truncated*`` in ``metrics.json``
    report how many sentences and words that is.
    """

    primary_metric = "test_entity_f1"

    def encode(self, table: pl.DataFrame, ctx: TaskContext) -> TaskInputs:
        check_tagged_table(table)
        tags = tag_list(table)
        require_classes(tags, "tag", "tagging")
        subword = getattr(ctx.task_cfg.word_subword, ctx.arch)
        frames, datasets, n_truncated = encode_splits(
            table,
            lambda frame: TaggedDataset.from_frame(frame, ctx.tokenizer, ctx.arch, ctx.task_cfg.max_length, tags, subword),
        )
        warn_truncated(n_truncated, "sentence(s)", ctx.task_cfg.max_length, "; their cut-off words are predicted 'O'")
        collate = TaggedCollator(pad_token_id(ctx.tokenizer, ctx.arch))
        return TaskInputs(frames, datasets, collate, n_truncated, state={"tags": tags})

    def build(self, pretrained: nn.Module, config: ModelConfig, inputs: TaskInputs, ctx: TaskContext) -> TaskModule:
        tags = inputs.state["tags"]
        model = TokenClassifier.from_pretrained(pretrained, ctx.arch, len(tags), config.dropout)
        return TokenClassificationModule(model, tags, **protocol_kwargs(ctx.ft_cfg, pretrained))

    def score(self, fit: FitResult, inputs: TaskInputs, ctx: TaskContext) -> tuple[pl.DataFrame, dict[str, Any]]:
        test, tags = inputs.frames["test"], inputs.state["tags"]
        predicted_ids(fit, test)
        pred = [p for b in fit.batches for p in b["pred"]]
        kept = inputs.datasets["test"].n_kept  # type: ignore[attr-defined]
        truncated = [k < len(g) for k, g in zip(kept, test.get_column("tags").to_list())]
        predictions, test_metrics = scored_tags(test, pred, truncated)
        return predictions, {
            **test_metrics,
            "best_dev_entity_f1": fit.best_dev_score,
            "n_labels": len(tags),
            "labels": tags,
            "n_truncated_words_by_split": {s: inputs.datasets[s].n_truncated_words for s in SPLITS},  # type: ignore[attr-defined]
        }


TOKEN_CLASSIFICATION = TokenClassification()
