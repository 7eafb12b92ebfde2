"""Sentence-pair classification (entailment, fact verification): the task kind.

BERT (Devlin et al., 2019, §4.1, MNLI): ``[CLS] a [SEP] b [SEP]``, segment 0 for ``a`` and 1 for ``b``,
classified from the pooled ``[CLS]``. GPT (Radford et al., 2018, §3.3, "Textual entailment"):
``<|start|> a <|delim|> b <|extract|>``, classified from the extract token's state. Head, module,
metrics and outputs are classification's (:mod:`.classification`); only the table differs: a
``text_b`` column beside ``text`` (VitaminC: the Wikipedia evidence, then the claim), which
:func:`~bertvsgpt.tasks.data.build_task_data` encodes as the pair. Truncation drops tokens from the
end of the longer text first.
"""

from __future__ import annotations

import polars as pl

from .classification import Classification
from .finetune import TaskContext, TaskInputs


class PairClassification(Classification):
    """Classification of ``(text, text_b)`` pairs into labels (True / False / Neither for VitaminC)."""

    def encode(self, table: pl.DataFrame, ctx: TaskContext) -> TaskInputs:
        if "text_b" not in table.columns:
            raise ValueError(f"a pair_classification table needs a 'text_b' column (has {table.columns})")
        return super().encode(table, ctx)


PAIR_CLASSIFICATION = PairClassification()
