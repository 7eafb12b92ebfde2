"""Extractive question answering (Quoref-style reading comprehension): span heads and the task kind.

The answer is a span of the passage. Both models read the question and a window of the passage
and score every token as the answer's start and end with one linear layer on the last layer's
states (BERT, Devlin et al., 2019, §4.2):

- BERT: ``[CLS] question [SEP] passage-window [SEP]``, segment ids 0 for ``[CLS] question [SEP]``
  and 1 for the rest (§4.2, figure 4c).
- GPT: ``<|start|> question <|delim|> passage-window <|extract|>`` (Radford et al., 2018, §3.3
  input transformations). The question comes first so that the causal state of every passage
  token has already read it.

Long passages are cut into overlapping windows (BERT's ``run_squad.py`` "doc spans"): each
holds as many passage tokens as fit after the question and three special tokens, and the next
one starts ``doc_stride`` tokens later. Questions longer than half the budget are cut to it
(counted, never silent). A training window that does not contain the whole answer targets a
"no answer here" position: ``[CLS]`` (index 0) for BERT, as in ``run_squad.py``; for GPT the
``<|extract|>`` token, the only state that has read the whole window (the state at index 0 has
seen nothing but ``<|start|>``, so it cannot tell windows apart).

Inference (as ``run_squad.py``): in every window, the best span ``start <= end`` inside the
passage, at most ``max_answer_tokens`` long, whose start token has its most context in that
window, scored by ``start_logit + end_logit``; the example's answer is the best-scoring span
over all its windows, mapped back to passage characters through the tokenizer's offsets and
stripped of whitespace (byte-level BPE offsets include the leading space). The metrics are
SQuAD exact match and F1 (:mod:`bertvsgpt.metrics.qa`); the dev metric is F1.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
import polars as pl
import torch
import torch.nn.functional as F
from tokenizers import Tokenizer
from torch import nn
from torch.utils.data import Dataset

from ..kinds import SPECS
from ..metrics.qa import squad_example_scores, squad_scores
from ..config.schema import ExtractiveQAConfig
from ..models import ModelConfig
from ..tokenization.special import BERT_CLS, BERT_SEP, GPT_DELIM, GPT_EXTRACT, GPT_START
from .base import MONITOR, TaskModule, protocol_kwargs
from .data import SPLITS, check_task_table, pad_inputs, split_frames
from .finetune import TaskContext, TaskInputs
from .formatting import check_arch, pad_token_id, special_token_id
from .heads import SpanExtractor
from .trainer import FitResult

log = logging.getLogger(__name__)

QA_COLUMNS = SPECS["extractive_qa"].table
N_SPECIAL = 3  # [CLS] q [SEP] p [SEP]  /  <|start|> q <|delim|> p <|extract|>
DEFAULT_DOC_STRIDE = ExtractiveQAConfig.doc_stride  # the schema's default (one place)
MAX_ANSWER_TOKENS = 30  # run_squad.py's max_answer_length


# ----------------------------------------------------------------------------------------------
# Input format: windows over the passage


def qa_special_ids(tokenizer: Tokenizer, arch: str) -> tuple[int, int, int]:
    """``(first, separator, last)`` token ids: ``[CLS] [SEP] [SEP]`` or ``<|start|> <|delim|> <|extract|>``."""
    check_arch(arch)
    names = (BERT_CLS, BERT_SEP, BERT_SEP) if arch == "bert" else (GPT_START, GPT_DELIM, GPT_EXTRACT)
    first, sep, last = (special_token_id(tokenizer, t) for t in names)
    return first, sep, last


def default_max_question_tokens(max_length: int) -> int:
    """Questions keep at most half of the room left by the three special tokens."""
    return (max_length - N_SPECIAL) // 2


def window_spans(n_tokens: int, budget: int, doc_stride: int) -> list[tuple[int, int]]:
    """``(start, length)`` of each passage window (BERT ``run_squad.py`` doc spans).

    A window holds up to ``budget`` passage tokens; the next one starts ``doc_stride`` tokens
    later, but never past the current window's end, so no token is skipped; the last window
    reaches the passage's end. A passage that fits (or is empty) is one window.
    """
    if budget < 1:
        raise ValueError(f"window budget={budget} must be >= 1 passage token")
    if doc_stride < 1:
        raise ValueError(f"doc_stride={doc_stride} must be >= 1")
    spans = []
    start = 0
    while True:
        length = min(n_tokens - start, budget)
        spans.append((start, length))
        if start + length >= n_tokens:
            return spans
        start += min(length, doc_stride)


def max_context_windows(spans: Sequence[tuple[int, int]], n_tokens: int) -> np.ndarray:
    """For each passage token, the window in which it has the most context (``_check_is_max_context``).

    A token's score in a window is ``min(tokens left, tokens right) + 0.01 * window length``;
    the first window wins ties. Returns an ``(n_tokens,)`` array of window indices.
    """
    best = np.full(n_tokens, -1, dtype=np.int64)
    best_score = np.full(n_tokens, -np.inf)
    for w, (start, length) in enumerate(spans):
        pos = np.arange(start, start + length)
        score = np.minimum(pos - start, start + length - 1 - pos) + 0.01 * length
        better = score > best_score[start : start + length]
        best[start : start + length][better] = w
        best_score[start : start + length][better] = score[better]
    return best


def char_span_to_tokens(offsets: np.ndarray, char_start: int, char_end: int) -> Optional[tuple[int, int]]:
    """First and last (inclusive) token overlapping the characters ``[char_start, char_end)``.

    ``offsets`` is ``(n, 2)``: each token's ``[start, end)`` characters (``Encoding.offsets``).
    ``None`` when no token overlaps the span.
    """
    offsets = np.asarray(offsets).reshape(-1, 2)
    hit = np.flatnonzero((offsets[:, 1] > char_start) & (offsets[:, 0] < char_end))
    if hit.size == 0:
        return None
    return int(hit[0]), int(hit[-1])


@dataclass
class Window:
    """One model input: the question and ``length`` passage tokens from passage token ``start``."""

    example: int  # row of the split
    start: int
    length: int
    start_position: int  # training targets, positions in the window's input
    end_position: int
    has_answer: bool  # the whole answer lies inside the window (else the targets are the null position)
    max_context: np.ndarray  # (length,) bool: passage tokens that have their most context here


@dataclass
class QADataset(Dataset):
    """The encoded windows of one split; item ``i`` is window ``i`` in ``arch``'s input format.

    Passages shared by several questions are tokenised once (their arrays are shared).
    """

    arch: str
    special_ids: tuple[int, int, int]
    ids: list[Any]
    questions: list[str]
    contexts: list[str]
    answers: list[str]
    question_ids: list[list[int]]  # after truncation
    passage_ids: list[np.ndarray]
    passage_offsets: list[np.ndarray]  # (n, 2) characters of ``contexts[i]`` per passage token
    windows: list[Window]
    n_truncated_questions: int = 0
    n_unlocated_answers: int = 0  # answers no passage token overlaps (never a training target)

    def __len__(self) -> int:
        return len(self.windows)

    @property
    def n_examples(self) -> int:
        return len(self.ids)

    @property
    def n_multi_window(self) -> int:
        """Examples whose passage needs more than one window."""
        return sum(n > 1 for n in Counter(w.example for w in self.windows).values())

    @property
    def n_windows_without_answer(self) -> int:
        return sum(not w.has_answer for w in self.windows)

    def prefix_length(self, window: Window) -> int:
        """Input position of the window's first passage token (after ``[CLS] q [SEP]`` / ``<|start|> q <|delim|>``)."""
        return len(self.question_ids[window.example]) + 2

    def __getitem__(self, i: int) -> dict[str, Any]:
        w = self.windows[i]
        first, sep, last = self.special_ids
        question = self.question_ids[w.example]
        passage = self.passage_ids[w.example][w.start : w.start + w.length].tolist()
        input_ids = [first, *question, sep, *passage, last]
        n_a = len(question) + 2
        segment_b = 1 if self.arch == "bert" else 0  # GPT has no segment table
        return {
            "feature": i,
            "input_ids": input_ids,
            "token_type_ids": [0] * n_a + [segment_b] * (w.length + 1),
            "passage": (n_a, w.length),
            "max_context": w.max_context,
            "start_position": w.start_position,
            "end_position": w.end_position,
        }

    @classmethod
    def from_frame(
        cls, frame: pl.DataFrame, tokenizer: Tokenizer, arch: str, max_length: int, doc_stride: int
    ) -> "QADataset":
        """Encode a (single-split) frame with columns ``id, context, question, answer, answer_start``."""
        return encode_qa(
            tokenizer,
            frame.get_column("question").to_list(),
            frame.get_column("context").to_list(),
            frame.get_column("answer").to_list(),
            frame.get_column("answer_start").to_list(),
            arch,
            max_length,
            doc_stride,
            ids=frame.get_column("id").to_list(),
        )


def encode_qa(
    tokenizer: Tokenizer,
    questions: Sequence[str],
    contexts: Sequence[str],
    answers: Sequence[str],
    answer_starts: Sequence[int],
    arch: str,
    max_length: int,
    doc_stride: int = DEFAULT_DOC_STRIDE,
    max_question_tokens: Optional[int] = None,
    ids: Optional[Sequence[Any]] = None,
) -> QADataset:
    """Tokenise questions and passages and cut each example into windows of ``max_length`` tokens.

    ``max_question_tokens`` (default: half of ``max_length - 3``) caps the question, keeping its
    start; each window then holds ``max_length - 3 - len(question)`` passage tokens.
    ``answers[i]`` must be ``contexts[i][answer_starts[i]:][:len(answers[i])]``.
    """
    check_arch(arch)
    n = len(questions)
    if not (len(contexts) == len(answers) == len(answer_starts) == n):
        raise ValueError("questions, contexts, answers and answer_starts differ in length")
    ids = list(range(n)) if ids is None else list(ids)
    if len(ids) != n:
        raise ValueError("ids and questions differ in length")
    room = max_length - N_SPECIAL
    if max_question_tokens is None:
        max_question_tokens = default_max_question_tokens(max_length)
    if not 0 <= max_question_tokens < room:
        raise ValueError(f"max_question_tokens={max_question_tokens} must leave room for the passage (< {room})")
    for i in range(n):
        s, a = answer_starts[i], answers[i]
        if not 0 <= s <= len(contexts[i]) - len(a) or contexts[i][s : s + len(a)] != a:
            raise ValueError(f"example {ids[i]!r}: answer {a!r} is not at character {s} of its context")

    q_enc = tokenizer.encode_batch(list(questions), add_special_tokens=False)
    unique = list(dict.fromkeys(contexts))
    row = {c: k for k, c in enumerate(unique)}
    c_enc = tokenizer.encode_batch(unique, add_special_tokens=False)
    u_ids = [np.asarray(e.ids, dtype=np.int64) for e in c_enc]
    u_offsets = [np.asarray(e.offsets, dtype=np.int64).reshape(-1, 2) for e in c_enc]

    question_ids: list[list[int]] = []
    passage_ids: list[np.ndarray] = []
    passage_offsets: list[np.ndarray] = []
    windows: list[Window] = []
    n_truncated = n_unlocated = 0
    for i in range(n):
        q = q_enc[i].ids
        if len(q) > max_question_tokens:
            q = q[:max_question_tokens]
            n_truncated += 1
        k = row[contexts[i]]
        p_ids, p_offsets = u_ids[k], u_offsets[k]
        question_ids.append(q)
        passage_ids.append(p_ids)
        passage_offsets.append(p_offsets)

        answer = char_span_to_tokens(p_offsets, answer_starts[i], answer_starts[i] + len(answers[i]))
        n_unlocated += answer is None
        spans = window_spans(len(p_ids), room - len(q), doc_stride)
        best = max_context_windows(spans, len(p_ids))
        prefix = len(q) + 2
        for w, (start, length) in enumerate(spans):
            inside = answer is not None and start <= answer[0] and answer[1] < start + length
            if inside:
                sp, ep = prefix + answer[0] - start, prefix + answer[1] - start  # type: ignore[index]
            else:  # BERT: [CLS]; GPT: <|extract|>, the state that has read the whole window
                sp = ep = 0 if arch == "bert" else prefix + length
            windows.append(Window(i, start, length, sp, ep, inside, best[start : start + length] == w))
    return QADataset(
        arch=arch,
        special_ids=qa_special_ids(tokenizer, arch),
        ids=ids,
        questions=list(questions),
        contexts=list(contexts),
        answers=list(answers),
        question_ids=question_ids,
        passage_ids=passage_ids,
        passage_offsets=passage_offsets,
        windows=windows,
        n_truncated_questions=n_truncated,
        n_unlocated_answers=n_unlocated,
    )


@dataclass
class QACollator:
    """Right-pads windows into a batch with the passage masks the span decoder needs.

    ``end_mask`` marks the window's passage tokens; ``start_mask`` those of them that have their
    most context in this window (an answer may only start there).
    """

    pad_id: int

    def __call__(self, items: Sequence[dict[str, Any]]) -> dict[str, torch.Tensor]:
        inputs = pad_inputs([x["input_ids"] for x in items], [x["token_type_ids"] for x in items], self.pad_id)
        B, T = inputs["input_ids"].shape
        start_mask = torch.zeros((B, T), dtype=torch.bool)
        end_mask = torch.zeros((B, T), dtype=torch.bool)
        for i, x in enumerate(items):
            a, length = x["passage"]
            end_mask[i, a : a + length] = True
            start_mask[i, a : a + length] = torch.from_numpy(np.asarray(x["max_context"], dtype=bool))
        return {
            "feature": torch.tensor([x["feature"] for x in items], dtype=torch.long),
            **inputs,
            "start_mask": start_mask,
            "end_mask": end_mask,
            "start_positions": torch.tensor([x["start_position"] for x in items], dtype=torch.long),
            "end_positions": torch.tensor([x["end_position"] for x in items], dtype=torch.long),
        }


# ----------------------------------------------------------------------------------------------
# Span head and decoding


def span_loss(
    start_logits: torch.Tensor, end_logits: torch.Tensor, start_positions: torch.Tensor, end_positions: torch.Tensor
) -> torch.Tensor:
    """Mean of the start and end cross-entropies over the window's positions (``run_squad.py``)."""
    return (F.cross_entropy(start_logits, start_positions) + F.cross_entropy(end_logits, end_positions)) / 2


def best_spans(
    start_logits: torch.Tensor,
    end_logits: torch.Tensor,
    start_mask: torch.Tensor,
    end_mask: torch.Tensor,
    max_answer_tokens: int = MAX_ANSWER_TOKENS,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Each window's best span: ``(score, start, end)``, each ``(B,)``.

    Over ``start <= end < start + max_answer_tokens`` with ``start_mask[start]`` and
    ``end_mask[end]``, maximising ``start_logits[start] + end_logits[end]``. A window with no
    valid span scores ``-inf``.
    """
    if max_answer_tokens < 1:
        raise ValueError(f"max_answer_tokens={max_answer_tokens} must be >= 1")
    B, T = start_logits.shape
    pos = torch.arange(T, device=start_logits.device)
    length = pos[None, :] - pos[:, None]  # [start, end] -> end - start
    valid = (length >= 0) & (length < max_answer_tokens)
    valid = valid[None] & start_mask[:, :, None] & end_mask[:, None, :]
    scores = start_logits.float()[:, :, None] + end_logits.float()[:, None, :]
    scores = scores.masked_fill(~valid, float("-inf"))
    score, flat = scores.view(B, T * T).max(dim=1)
    return score, flat // T, flat % T


def decode_answers(
    data: QADataset, feature: torch.Tensor, score: torch.Tensor, start: torch.Tensor, end: torch.Tensor
) -> list[str]:
    """One answer string per example: its best window's span, as passage characters, whitespace-stripped.

    ``feature[k]`` is a window index of ``data`` and ``(score, start, end)[k]`` that window's best
    span (:func:`best_spans`). Examples without a scored window (or any valid span) get ``""``.
    """
    order = torch.argsort(feature, stable=True)  # ties go to the earliest window
    best_score = [float("-inf")] * data.n_examples
    best: list[Optional[tuple[int, int, int]]] = [None] * data.n_examples
    for f, sc, s, e in zip(feature[order].tolist(), score[order].tolist(), start[order].tolist(), end[order].tolist()):
        i = data.windows[f].example
        if sc > best_score[i]:
            best_score[i], best[i] = sc, (f, s, e)
    answers = []
    for i, b in enumerate(best):
        if b is None:
            answers.append("")
            continue
        f, s, e = b
        w = data.windows[f]
        base = w.start - data.prefix_length(w)  # input position -> passage token
        offsets = data.passage_offsets[i]
        answers.append(data.contexts[i][offsets[base + s, 0] : offsets[base + e, 1]].strip())
    return answers


def _cat_spans(outputs: Sequence[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    return {k: torch.cat([o[k] for o in outputs]) for k in ("feature", "score", "start", "end")}


# ----------------------------------------------------------------------------------------------
# Training


class ExtractiveQAModule(TaskModule):
    """Trains a :class:`SpanExtractor`; logs ``train_loss``, ``val_loss``, ``val_exact_match`` and ``val_score`` (F1).

    The dev metric needs whole examples, so each validation step keeps its windows' best spans
    and the epoch's end decodes and scores them against ``dev``.
    """

    def __init__(
        self, model: SpanExtractor, dev: QADataset, max_answer_tokens: int = MAX_ANSWER_TOKENS, **protocol: Any
    ) -> None:
        super().__init__(model, **protocol)
        self.dev = dev
        self.max_answer_tokens = max_answer_tokens
        self._val_outputs: list[dict[str, torch.Tensor]] = []

    def forward(self, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model(batch["input_ids"], batch["token_type_ids"], batch["attention_mask"])

    def _best(self, batch: dict[str, Any], start: torch.Tensor, end: torch.Tensor) -> dict[str, torch.Tensor]:
        score, s, e = best_spans(start, end, batch["start_mask"], batch["end_mask"], self.max_answer_tokens)
        return {"feature": batch["feature"].cpu(), "score": score.cpu(), "start": s.cpu(), "end": e.cpu()}

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        hidden = self.model.hidden(batch["input_ids"], batch["token_type_ids"], batch["attention_mask"])
        start, end = self.model.span_logits(hidden, batch["attention_mask"])
        loss = span_loss(start, end, batch["start_positions"], batch["end_positions"])
        loss = loss + self.aux_lm_loss(hidden, batch["input_ids"], batch["attention_mask"])
        self.log("train_loss", loss, on_step=True, on_epoch=True, prog_bar=True, sync_dist=True, batch_size=start.size(0))
        return loss

    def on_validation_epoch_start(self) -> None:
        self._val_outputs = []

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        start, end = self(batch)
        loss = span_loss(start, end, batch["start_positions"], batch["end_positions"])
        self.log("val_loss", loss, on_step=False, on_epoch=True, batch_size=start.size(0))
        self._val_outputs.append(self._best(batch, start, end))

    def on_validation_epoch_end(self) -> None:
        if not self._val_outputs:
            return
        preds = decode_answers(self.dev, **_cat_spans(self._val_outputs))
        scores = squad_scores(preds, self.dev.answers)
        self.log("val_exact_match", scores["exact_match"], prog_bar=True)
        self.log(MONITOR, scores["f1"], prog_bar=True)
        self._val_outputs = []

    def predict_step(self, batch: dict[str, Any], batch_idx: int, dataloader_idx: int = 0) -> dict[str, torch.Tensor]:
        """Each window's best span: ``{"feature", "score", "start", "end"}``, ``(B,)`` tensors on CPU."""
        start, end = self(batch)
        return self._best(batch, start, end)


def split_qa_table(table: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """Check a QA table and split it."""
    check_task_table(table, QA_COLUMNS, "QA table")
    for c in ("context", "question", "answer", "answer_start"):
        if table.get_column(c).null_count():
            raise ValueError(f"QA table has null values in column '{c}'")
    return split_frames(table)


class ExtractiveQA:
    """Span extraction as a :class:`~bertvsgpt.tasks.finetune.TaskKind`: the answer is a passage span.

    ``tasks.<task>.max_length`` is tokens per window and ``doc_stride`` tokens between window starts;
    a split's size in ``metrics.json`` counts questions, not windows.
    """

    primary_metric = "test_f1"

    def encode(self, table: pl.DataFrame, ctx: TaskContext) -> TaskInputs:
        max_length, doc_stride = ctx.task_cfg.max_length, ctx.task_cfg.doc_stride
        frames = split_qa_table(table)
        data = {s: QADataset.from_frame(frames[s], ctx.tokenizer, ctx.arch, max_length, doc_stride) for s in SPLITS}
        truncated = {s: d.n_truncated_questions for s, d in data.items()}
        n_truncated = sum(truncated.values())
        if n_truncated:
            log.warning("%d question(s) truncated to %d tokens (by split: %s)", n_truncated, default_max_question_tokens(max_length), truncated)
        unlocated = {s: d.n_unlocated_answers for s, d in data.items()}
        if sum(unlocated.values()):
            log.warning("%d answer(s) overlap no passage token (by split: %s)", sum(unlocated.values()), unlocated)
        multi = {s: d.n_multi_window for s, d in data.items()}
        windows = {s: len(d) for s, d in data.items()}
        log.info(
            "windows by split: %s; examples with >1 window: %s; train windows without the answer: %d",
            windows, multi, data["train"].n_windows_without_answer,
        )
        collate = QACollator(pad_token_id(ctx.tokenizer, ctx.arch))
        sizes = {s: d.n_examples for s, d in data.items()}
        state = {"windows": windows, "multi": multi, "unlocated": unlocated}
        return TaskInputs(frames, data, collate, truncated, sizes=sizes, state=state)  # type: ignore[arg-type]

    def build(self, pretrained: nn.Module, config: ModelConfig, inputs: TaskInputs, ctx: TaskContext) -> TaskModule:
        model = SpanExtractor.from_pretrained(pretrained, ctx.arch)
        return ExtractiveQAModule(model, inputs.datasets["dev"], MAX_ANSWER_TOKENS, **protocol_kwargs(ctx.ft_cfg, pretrained))

    def score(self, fit: FitResult, inputs: TaskInputs, ctx: TaskContext) -> tuple[pl.DataFrame, dict[str, Any]]:
        test: QADataset = inputs.datasets["test"]  # type: ignore[assignment]
        preds = decode_answers(test, **_cat_spans(fit.batches))
        scores = squad_scores(preds, test.answers)
        exact, f1 = squad_example_scores(preds, test.answers)
        predictions = pl.DataFrame(
            {
                "id": inputs.frames["test"].get_column("id"),
                "question": test.questions,
                "answer": test.answers,
                "pred": preds,
                "exact_match": exact,
                "f1": f1,
            }
        )
        multi, unlocated = inputs.state["multi"], inputs.state["unlocated"]
        return predictions, {
            "test_f1": scores["f1"],
            "test_exact_match": scores["exact_match"],
            "best_dev_f1": fit.best_dev_score,
            "n_windows_by_split": inputs.state["windows"],
            "n_multi_window": sum(multi.values()),
            "n_multi_window_by_split": multi,
            "n_train_windows_without_answer": inputs.datasets["train"].n_windows_without_answer,  # type: ignore[attr-defined]
            "n_unlocated_answers": sum(unlocated.values()),
            "doc_stride": ctx.task_cfg.doc_stride,
            "max_question_tokens": default_max_question_tokens(ctx.task_cfg.max_length),
            "max_answer_tokens": MAX_ANSWER_TOKENS,
        }


EXTRACTIVE_QA = ExtractiveQA()
