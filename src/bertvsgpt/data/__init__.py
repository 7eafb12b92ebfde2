"""Raw data: fetch pinned archives, parse them, build the pre-training corpus and task splits."""

from .cards import card_markdown, data_card
from .corpus import build_corpus
from .fetch import FetchError, fetch_all, fetch_source
from .readers import Document, read_documents, read_examples
from .sentences import split_sentences
from .splits import split_examples

__all__ = [
    "Document",
    "FetchError",
    "build_corpus",
    "card_markdown",
    "data_card",
    "fetch_all",
    "fetch_source",
    "read_documents",
    "read_examples",
    "split_examples",
    "split_sentences",
]
