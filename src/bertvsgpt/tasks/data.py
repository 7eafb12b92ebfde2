"""Task tables (splits, caps) for every kind; datasets and batching for classification.

A task table is a polars DataFrame with columns ``id``, ``split`` (``train`` / ``dev`` /
``test``) and the kind's columns (:data:`bertvsgpt.kinds.SPECS`); a classification table has
``text`` and ``label`` (and a sentence-pair one ``text_b``). Labels map to ids by their position
in the sorted list of all labels in the table, so the mapping is the same for every model and seed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import torch
from tokenizers import Tokenizer
from torch.utils.data import Dataset

from ..kinds import SPECS
from .formatting import encode_classification, pad_token_id

TABLE_COLUMNS = SPECS["classification"].table
SPLITS = ("train", "dev", "test")


def check_task_table(table: pl.DataFrame, columns: Sequence[str], what: str = "task table") -> None:
    """Every task kind's table: the kind's ``columns`` exist, split names are train/dev/test, none is empty."""
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"{what} lacks column(s) {missing} (has {table.columns})")
    present = set(table.get_column("split").unique().to_list())
    unknown = present - set(SPLITS)
    if unknown:
        raise ValueError(f"{what} has unknown split name(s) {sorted(unknown)} (expected {SPLITS})")
    for split in SPLITS:
        if split not in present:
            raise ValueError(f"{what} has no '{split}' rows")


def split_frames(table: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """The three splits, each in table order."""
    return {s: table.filter(pl.col("split") == s) for s in SPLITS}


def encode_splits(
    table: pl.DataFrame, encode: Callable[[pl.DataFrame], tuple[Any, int]]
) -> tuple[dict[str, pl.DataFrame], dict[str, Any], dict[str, int]]:
    """The splits of ``table``, each through ``encode(frame) -> (dataset, n_truncated)``:
    ``(frames, datasets, n_truncated)``, each keyed by split."""
    frames = split_frames(table)
    datasets, n_truncated = {}, {}
    for s in SPLITS:
        datasets[s], n_truncated[s] = encode(frames[s])
    return frames, datasets, n_truncated


def require_classes(classes: Sequence[Any], what: str, task: str) -> None:
    """At least two classes (labels, tags) in the table, or a one-line error."""
    if len(classes) < 2:
        raise ValueError(f"task has {len(classes)} {what}(s); {task} needs at least 2")


def min_cap(*caps: int | None) -> int | None:
    """The smallest of the given caps (``None`` = no cap)."""
    given = [c for c in caps if c is not None]
    return min(given) if given else None


def cap_splits(table: pl.DataFrame, max_train: int | None, max_eval: int | None, seed: int = 0) -> pl.DataFrame:
    """Keep at most ``max_train`` training rows and ``max_eval`` dev and test rows each: a fixed,
    seeded subset (:func:`subsample_train`), the same for every model and fine-tuning seed, so
    comparisons stay paired."""
    caps = {"train": max_train, "dev": max_eval, "test": max_eval}
    return pl.concat([subsample_train(table.filter(pl.col("split") == s), caps[s], seed) for s in SPLITS])


def check_table(table: pl.DataFrame) -> None:
    check_task_table(table, TABLE_COLUMNS)
    for column in ("text", "text_b", "label"):
        if column in table.columns and table.get_column(column).null_count():
            raise ValueError(f"task table has null values in column '{column}'")


def label_list(table: pl.DataFrame) -> list[Any]:
    """All labels of the table (every split), sorted; a label's id is its index here."""
    return sorted(table.get_column("label").unique().to_list())


def tag_list(table: pl.DataFrame) -> list[str]:
    """All tags of the table (every split, ``O`` included), sorted; a tag's id is its index here."""
    return sorted(table.get_column("tags").explode().unique().to_list())


class ExampleDataset(Dataset):
    """One split's encoded examples as equally long per-example lists, one attribute each; item ``i``
    maps each key of ``ITEM`` to element ``i`` of the attribute it names. Every kind's dataset is one."""

    ITEM: dict[str, str] = {}  # item key -> attribute

    def __init__(self, **columns: Sequence[Any]) -> None:
        lengths = {name: len(column) for name, column in columns.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"{', '.join(lengths)} differ in length ({lengths})")
        for name, column in columns.items():
            setattr(self, name, list(column))

    def __len__(self) -> int:
        return len(self.ids)  # type: ignore[attr-defined]

    def __getitem__(self, i: int) -> dict[str, Any]:
        return {key: getattr(self, attr)[i] for key, attr in self.ITEM.items()}


class ClassificationDataset(ExampleDataset):
    """Encoded examples of one split: ids, token ids, segment ids and label ids."""

    ITEM = {"id": "ids", "input_ids": "input_ids", "token_type_ids": "token_type_ids", "label": "labels"}

    def __init__(
        self, ids: Sequence[Any], input_ids: Sequence[list[int]], token_type_ids: Sequence[list[int]], labels: Sequence[int]
    ) -> None:
        super().__init__(ids=ids, input_ids=input_ids, token_type_ids=token_type_ids, labels=labels)

    @classmethod
    def from_frame(
        cls,
        frame: pl.DataFrame,
        tokenizer: Tokenizer,
        arch: str,
        max_length: int,
        labels: Sequence[Any],
    ) -> tuple["ClassificationDataset", int]:
        """Encode a (single-split) frame; returns the dataset and its number of truncated examples."""
        label_to_id = {lab: i for i, lab in enumerate(labels)}
        unknown = set(frame.get_column("label").unique().to_list()) - set(label_to_id)
        if unknown:
            raise ValueError(f"labels {sorted(unknown)} are not in the label list {list(labels)}")
        texts = frame.get_column("text").to_list()
        if "text_b" in frame.columns:  # a sentence pair: [CLS] a [SEP] b [SEP] / <s> a <d> b <e>
            texts = list(zip(texts, frame.get_column("text_b").to_list()))
        input_ids, type_ids, n_truncated = encode_classification(tokenizer, texts, arch, max_length)
        label_ids = [label_to_id[lab] for lab in frame.get_column("label").to_list()]
        return cls(frame.get_column("id").to_list(), input_ids, type_ids, label_ids), n_truncated


def pad_inputs(input_ids: Sequence[Sequence[int]], token_type_ids: Sequence[Sequence[int]], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-padded ``(B, T)`` ``input_ids`` (``pad_id``), ``token_type_ids`` (0) and ``attention_mask``
    (1 = real token), ``T`` the longest row: the input tensors of every kind's batches."""
    B, T = len(input_ids), max(len(row) for row in input_ids)
    ids = torch.full((B, T), pad_id, dtype=torch.long)
    types = torch.zeros((B, T), dtype=torch.long)
    mask = torch.zeros((B, T), dtype=torch.long)
    for i, (row, type_row) in enumerate(zip(input_ids, token_type_ids)):
        n = len(row)
        ids[i, :n] = torch.tensor(row, dtype=torch.long)
        types[i, :n] = torch.tensor(type_row, dtype=torch.long)
        mask[i, :n] = 1
    return {"input_ids": ids, "token_type_ids": types, "attention_mask": mask}


@dataclass
class Collator:
    """Right-pads a list of examples into a batch (``attention_mask`` 1 = real token)."""

    pad_id: int

    def __call__(self, examples: Sequence[dict[str, Any]]) -> dict[str, Any]:
        return {
            "id": [e["id"] for e in examples],
            **pad_inputs([e["input_ids"] for e in examples], [e["token_type_ids"] for e in examples], self.pad_id),
            "labels": torch.tensor([e["label"] for e in examples], dtype=torch.long),
        }


@dataclass
class TaskData:
    """The encoded splits of one task for one tokenizer."""

    labels: list[Any]
    train: ClassificationDataset
    dev: ClassificationDataset
    test: ClassificationDataset
    frames: dict[str, pl.DataFrame]
    n_truncated: dict[str, int] = field(default_factory=dict)
    pad_id: int = 0

    @property
    def n_labels(self) -> int:
        return len(self.labels)

    def collator(self) -> Collator:
        return Collator(self.pad_id)


def subsample_train(train: pl.DataFrame, max_examples: int | None, seed: int = 0) -> pl.DataFrame:
    """A random subset of ``max_examples`` rows drawn with ``seed``, in table order.

    Stratified when the frame has a ``label`` column: each label keeps its share of the rows
    (largest-remainder rounding, at least one row per label while the cap allows), so a small
    capped dev or test split has the full split's label distribution and the majority-class
    score of the capped split is the full split's. The seed is fixed by default, so every model
    and training seed sees the same subset. ``None`` (or a cap above the frame's size) keeps every row.
    """
    if max_examples is None or train.height <= max_examples:
        return train
    indexed = train.with_row_index("_row")
    if "label" not in train.columns:
        return indexed.sample(n=max_examples, seed=seed).sort("_row").drop("_row")
    counts = indexed.group_by("label").len().sort("label")
    quota = stratified_quota(dict(zip(counts.get_column("label").to_list(), counts.get_column("len").to_list())), max_examples)
    parts = [
        indexed.filter(pl.col("label") == label).sample(n=n, seed=seed)
        for label, n in quota.items()
        if n > 0
    ]
    return pl.concat(parts).sort("_row").drop("_row")


def stratified_quota(counts: dict[Any, int], total: int) -> dict[Any, int]:
    """Rows per label for a sample of ``total``: proportional to ``counts`` by largest remainder, at
    least one per label when ``total`` allows it; ties broken by label order."""
    n = sum(counts.values())
    labels = sorted(counts, key=str)
    exact = {lab: total * counts[lab] / n for lab in labels}
    quota = {lab: min(counts[lab], int(exact[lab])) for lab in labels}
    if total >= len(labels):
        for lab in labels:
            if quota[lab] == 0 and counts[lab] > 0:
                quota[lab] = 1
    order = sorted(labels, key=lambda lab: (-(exact[lab] - int(exact[lab])), str(lab)))
    while sum(quota.values()) < total:
        for lab in order:
            if sum(quota.values()) < total and quota[lab] < counts[lab]:
                quota[lab] += 1
    while sum(quota.values()) > total:  # the minimum of one row pushed it over: take from labels with more
        candidates = [lab for lab in labels if quota[lab] > 1] or [lab for lab in labels if quota[lab] > 0]
        lab = max(candidates, key=lambda lab: (quota[lab] - exact[lab], str(lab)))
        quota[lab] -= 1
    return quota


def build_task_data(table: pl.DataFrame, tokenizer: Tokenizer, arch: str, max_length: int) -> TaskData:
    """Split and encode a classification table (labels: every label of every split, sorted)."""
    check_table(table)
    labels = label_list(table)
    require_classes(labels, "label", "classification")
    frames, datasets, n_truncated = encode_splits(
        table, lambda frame: ClassificationDataset.from_frame(frame, tokenizer, arch, max_length, labels)
    )
    return TaskData(
        labels=labels,
        train=datasets["train"],
        dev=datasets["dev"],
        test=datasets["test"],
        frames=frames,
        n_truncated=n_truncated,
        pad_id=pad_token_id(tokenizer, arch),
    )
