"""Downstream tasks: input formats, heads, the task kinds and the fine-tuning driver they share.

``finetune.py`` is the driver and the :class:`~bertvsgpt.tasks.finetune.TaskKind` protocol; each kind
is one file (``classification.py``, ``multiple_choice.py``, ``token_classification.py``,
``extractive_qa.py``, ``translation.py``, ``pair_classification.py``) registered in ``registry.py``, whose ``finetune_task`` is
what the pipeline's stages call. Importing this package stays cheap (no Lightning): import the
modules you need.
"""
