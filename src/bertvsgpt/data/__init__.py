"""Raw data: fetch pinned archives, parse them, build the pre-training corpus and task splits.

Import from the modules (``bertvsgpt.data.<module>``): the package imports nothing, so a stage
that uses one module neither loads nor depends on the others (see tests/test_stage_deps.py).
"""
