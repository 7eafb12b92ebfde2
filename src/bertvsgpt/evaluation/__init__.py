"""Evaluation: intrinsic metrics of pre-trained models and the tidy table of fine-tuning results.

Import from the modules (``bertvsgpt.evaluation.<module>``): the package imports nothing, so a stage
that uses one module neither loads nor depends on the others (see tests/test_stage_deps.py).
"""
