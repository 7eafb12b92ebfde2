"""bertvsgpt: which pre-training works better, BERT's or GPT's, for what, at what cost."""

__version__ = "0.1.0"
