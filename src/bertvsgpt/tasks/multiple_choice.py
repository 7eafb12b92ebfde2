"""Multiple choice (Social IQa commonsense): score each option, soft-max over the options.

BERT (Devlin et al., 2019, §4.4, SWAG): each option becomes ``[CLS] context [SEP] option [SEP]``;
a vector ``V`` dotted with the pooled ``[CLS]`` state gives the option's score, and the scores
of one question are normalised with a soft-max. GPT (Radford et al., 2018, §3.3, figure 1):
each option becomes ``<|start|> context <|delim|> option <|extract|>``, scored by a linear
layer on the extract-token state, soft-max over options. Both are a
:class:`SequenceClassifier` with one output (the score), trained by cross-entropy over the
options of a question.

A task table has columns ``id``, ``split``, ``text`` (context and question), ``choices``
(list of option strings, the same number for every row) and ``label`` (index of the correct one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl
import torch
import torch.nn.functional as F
from tokenizers import Tokenizer
from torch import nn
from torchmetrics.classification import MulticlassAccuracy

from ..kinds import SPECS
from ..metrics.classification import classification_metrics
from ..models import ModelConfig
from .base import MONITOR, TaskModule, protocol_kwargs
from .heads import SequenceClassifier
from .data import ExampleDataset, check_task_table, encode_splits, pad_inputs
from .finetune import TaskContext, TaskInputs, predicted_ids, warn_truncated
from .formatting import encode_examples, pad_token_id
from .trainer import FitResult

COLUMNS = SPECS["multiple_choice"].table


def check_choice_table(table: pl.DataFrame) -> int:
    """Validate a multiple-choice table; returns the number of options per question."""
    check_task_table(table, COLUMNS, "multiple-choice table")
    n_choices = table.get_column("choices").list.len().unique().to_list()
    if len(n_choices) != 1 or n_choices[0] < 2:
        raise ValueError(f"every question needs the same number (>= 2) of choices, found {sorted(n_choices)}")
    labels = table.get_column("label")
    if labels.null_count() or int(labels.min()) < 0 or int(labels.max()) >= n_choices[0]:
        raise ValueError(f"label must be an option index in [0, {n_choices[0]})")
    return int(n_choices[0])


class ChoiceDataset(ExampleDataset):
    """One item per question: its ``n_choices`` encoded (context, option) sequences and the answer index."""

    ITEM = {"id": "ids", "input_ids": "input_ids", "token_type_ids": "type_ids", "label": "labels"}

    def __init__(self, ids: list[Any], input_ids: list[list[list[int]]], type_ids: list[list[list[int]]], labels: list[int]):
        super().__init__(ids=ids, input_ids=input_ids, type_ids=type_ids, labels=labels)

    @classmethod
    def from_frame(cls, frame: pl.DataFrame, tokenizer: Tokenizer, arch: str, max_length: int) -> tuple["ChoiceDataset", int]:
        """Encode every (context, option) pair; returns the dataset and its number of truncated questions."""
        contexts = frame.get_column("text").to_list()
        choices = frame.get_column("choices").to_list()
        n = len(choices[0]) if choices else 0
        pairs = [(c, o) for c, opts in zip(contexts, choices) for o in opts]
        ids, types, truncated = encode_examples(tokenizer, pairs, arch, max_length) if pairs else ([], [], [])
        n_truncated = sum(any(truncated[q * n:(q + 1) * n]) for q in range(len(choices)))
        group = lambda xs: [xs[q * n:(q + 1) * n] for q in range(len(choices))]  # noqa: E731
        return cls(frame.get_column("id").to_list(), group(ids), group(types), frame.get_column("label").to_list()), n_truncated


@dataclass
class ChoiceCollator:
    """Right-pads a batch of questions into ``(B, n_choices, T)`` tensors."""

    pad_id: int

    def __call__(self, examples: list[dict[str, Any]]) -> dict[str, Any]:
        B, C = len(examples), len(examples[0]["input_ids"])
        flat = pad_inputs(
            [ids for e in examples for ids in e["input_ids"]], [t for e in examples for t in e["token_type_ids"]], self.pad_id
        )
        return {
            "id": [e["id"] for e in examples],
            **{k: v.view(B, C, -1) for k, v in flat.items()},
            "labels": torch.tensor([e["label"] for e in examples], dtype=torch.long),
        }


class MultipleChoiceModule(TaskModule):
    """Cross-entropy over the options' scores; the dev metric is accuracy."""

    def __init__(self, model: SequenceClassifier, n_choices: int, **protocol: Any) -> None:
        super().__init__(model, **protocol)
        self.n_choices = n_choices
        self.val_acc = MulticlassAccuracy(num_classes=n_choices, average="micro")

    def _scores(self, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        B, C, T = batch["input_ids"].shape
        flat = {k: batch[k].view(B * C, T) for k in ("input_ids", "token_type_ids", "attention_mask")}
        hidden = self.model.hidden(flat["input_ids"], flat["token_type_ids"], flat["attention_mask"])
        scores = self.model.classify(hidden, flat["attention_mask"]).float().view(B, C)
        return scores, hidden, flat["attention_mask"]

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        scores, hidden, mask = self._scores(batch)
        loss = F.cross_entropy(scores, batch["labels"])
        B, C, T = batch["input_ids"].shape
        loss = loss + self.aux_lm_loss(hidden, batch["input_ids"].view(B * C, T), mask)
        self.log("train_loss", loss, on_step=True, on_epoch=True, prog_bar=True, sync_dist=True, batch_size=B)
        return loss

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        scores, _, _ = self._scores(batch)
        B = scores.size(0)
        self.val_acc.update(scores.argmax(-1), batch["labels"])
        self.log("val_loss", F.cross_entropy(scores, batch["labels"]), on_step=False, on_epoch=True, batch_size=B)
        self.log(MONITOR, self.val_acc, on_step=False, on_epoch=True, prog_bar=True, batch_size=B)

    def predict_step(self, batch: dict[str, Any], batch_idx: int, dataloader_idx: int = 0) -> dict[str, Any]:
        probs = torch.softmax(self._scores(batch)[0], dim=-1)
        return {"id": list(batch["id"]), "pred": probs.argmax(-1).cpu(), "probs": probs.cpu()}


class MultipleChoice:
    """Multiple choice as a :class:`~bertvsgpt.tasks.finetune.TaskKind`: one option index per question."""

    primary_metric = "test_accuracy"

    def encode(self, table: pl.DataFrame, ctx: TaskContext) -> TaskInputs:
        n_choices = check_choice_table(table)
        frames, datasets, n_truncated = encode_splits(
            table, lambda frame: ChoiceDataset.from_frame(frame, ctx.tokenizer, ctx.arch, ctx.task_cfg.max_length)
        )
        warn_truncated(n_truncated, "question(s) with an option", ctx.task_cfg.max_length)
        collate = ChoiceCollator(pad_token_id(ctx.tokenizer, ctx.arch))
        return TaskInputs(frames, datasets, collate, n_truncated, state={"n_choices": n_choices})

    def build(self, pretrained: nn.Module, config: ModelConfig, inputs: TaskInputs, ctx: TaskContext) -> TaskModule:
        model = SequenceClassifier.from_pretrained(pretrained, ctx.arch, 1, config.dropout, ctx.ft_cfg.pooling)
        return MultipleChoiceModule(model, inputs.state["n_choices"], **protocol_kwargs(ctx.ft_cfg, pretrained))

    def score(self, fit: FitResult, inputs: TaskInputs, ctx: TaskContext) -> tuple[pl.DataFrame, dict[str, Any]]:
        test = inputs.frames["test"]
        n_choices = inputs.state["n_choices"]
        pred = torch.cat([b["pred"] for b in fit.batches])
        probs = torch.cat([b["probs"] for b in fit.batches])
        predicted_ids(fit, test)
        gold = torch.tensor(test.get_column("label").to_list(), dtype=torch.long)
        scores = classification_metrics(pred, gold, n_choices)
        predictions = test.select("id", "text", "choices", "label").with_columns(
            pl.Series("pred", pred.tolist(), dtype=pl.Int64),
            pl.Series("prob", probs.gather(1, pred[:, None]).squeeze(1).numpy()),
            pl.Series("correct", (pred == gold).numpy()),
        )
        return predictions, {"test_accuracy": scores["accuracy"], "n_choices": n_choices}


MULTIPLE_CHOICE = MultipleChoice()
