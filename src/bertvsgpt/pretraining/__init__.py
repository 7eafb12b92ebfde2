"""Pre-training data (token store, BERT instances, datasets) and FLOP accounting.

Import from the modules (``bertvsgpt.pretraining.<module>``): the package imports nothing, so a stage
that uses one module neither loads nor depends on the others (see tests/test_stage_deps.py).
"""
