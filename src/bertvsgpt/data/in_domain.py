"""In-domain pre-training text: the fine-tuned tasks' *training* texts, unlabelled.

Domain- and task-adaptive pre-training (Howard & Ruder, 2018, ULMFiT; Gururangan et al., 2020,
"Don't Stop Pretraining") and self-pre-training on the downstream data (Krishna et al., 2023,
"Downstream Datasets Make Surprisingly Good Pretraining Corpora") show that unlabelled text of the
task's own domain is where a small pre-training budget pays most. Only the ``train`` split is used,
never dev or test, and labels are never read: both models get the same documents, and the scratch
twins are the controls that never see them.

What one document is, per task kind:

* extractive QA: one training passage (``context``), each passage once;
* every other kind: ``EXAMPLES_PER_DOCUMENT`` training examples' ``text`` (translation: the sources
  and, as a second document, their targets), drawn in a seeded random order. Grouping gives BERT's
  next-sentence prediction real "is next" pairs (a one-sentence document only ever yields random
  ones, a shortcut NSP would learn), and shuffling first keeps labels out of it (task tables are
  ordered by label, so neighbours in table order would mostly share one).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import polars as pl

from ..kinds import SPECS
from .readers import Document
from .sentences import split_sentences

SOURCE_PREFIX = "task:"
EXAMPLES_PER_DOCUMENT = 8


def in_domain_source(task: str) -> str:
    """The corpus ``source`` name of a task's in-domain documents, e.g. ``task:sentiment``."""
    return f"{SOURCE_PREFIX}{task}"


def _documents(kind: str, train: pl.DataFrame, seed: int) -> Iterator[tuple[str, list[str]]]:
    """``(id suffix, texts)`` of one task's in-domain documents."""
    if kind == "extractive_qa":
        passages = train.unique(subset="context", keep="first", maintain_order=True)
        for i, context in zip(passages.get_column("id").cast(pl.Utf8).to_list(), passages.get_column("context").to_list()):
            yield i, [context]
        return
    shuffled = train.sample(fraction=1.0, shuffle=True, seed=seed)
    columns = SPECS[kind].in_domain
    for start in range(0, shuffled.height, EXAMPLES_PER_DOCUMENT):
        group = shuffled.slice(start, EXAMPLES_PER_DOCUMENT)
        for column in columns:
            yield f"{start // EXAMPLES_PER_DOCUMENT}:{column}", group.get_column(column).to_list()


def in_domain_documents(
    tables: Mapping[str, pl.DataFrame], kinds: Mapping[str, str], seed: int, language: str = "en"
) -> Iterator[Document]:
    """Pre-training documents from the training split of each task table (``kinds``: task -> type),
    sentences split as ``language`` writes them (``data.language``)."""
    for task, table in tables.items():
        source = in_domain_source(task)
        for suffix, texts in _documents(kinds[task], table.filter(pl.col("split") == "train"), seed):
            sentences = [s for t in texts if isinstance(t, str) for s in split_sentences(t, language)]
            if sentences:
                yield Document(doc_id=f"{source}:{suffix}", source=source, sentences=sentences)


# the input (both texts of a pair), QA's passage and MT's reference (MT's training targets join the corpus too)
EVALUATION_COLUMNS = ("text", "text_b", "context", "target")


def evaluation_texts(tables: Mapping[str, pl.DataFrame]) -> list[str]:
    """The texts the contamination guard keeps out of the corpus: every dev and test example's input
    (both texts of a sentence pair, and QA's passage) and every translation reference. Training texts are not
    evaluation data."""
    texts: list[str] = []
    for df in tables.values():
        held = df.filter(pl.col("split") != "train")
        for column in EVALUATION_COLUMNS:
            if column in held.columns:
                texts.extend(dict.fromkeys(held.get_column(column).to_list()))
    return texts
