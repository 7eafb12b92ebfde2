"""Data cards."""

from __future__ import annotations

import json

from bertvsgpt.config.schema import SourceConfig
from bertvsgpt.data.cards import card_markdown, data_card

SHA = "5d7c06e027fc8b99238edb0d53d970cf97066ef97654009890b83703849632f9"


def test_task_card():
    cfg = SourceConfig(client="pip", spec="vaderSentiment==3.3.2", dist="sdist", sha256=SHA,
                       members=["a/b.tar.gz"], format="vader_movie_reviews",
                       licence="Research use | MIT", description="Movie-review sentences")
    card = data_card("movie_reviews", cfg, {"train": 8000, "dev": 1000, "test": 1000},
                     {"positive": 4982, "negative": 5061},
                     fetched={"archive": "vaderSentiment-3.3.2.tar.gz", "sha256": SHA, "members": ["a/b.tar.gz"]})
    json.dumps(card)  # JSON-able
    assert card["name"] == "movie_reviews" and card["client"] == "pip" and card["spec"] == "vaderSentiment==3.3.2"
    assert card["sha256"] == SHA and card["sha256_pinned"] and card["dist"] == "sdist"
    assert card["licence"] == "Research use | MIT" and card["description"] == "Movie-review sentences"
    assert card["counts"] == {"train": 8000, "dev": 1000, "test": 1000}
    assert card["label_counts"] == {"negative": 5061, "positive": 4982}
    assert abs(sum(card["label_fractions"].values()) - 1) < 1e-9
    assert card["archive"] == "vaderSentiment-3.3.2.tar.gz"

    md = card_markdown(card)
    assert md.startswith("## Data card: movie_reviews")
    for piece in (SHA, "`vaderSentiment==3.3.2`", "`pip`", "Research use \\| MIT", "Movie-review sentences",
                  "| train | 8,000 |", "| negative | 5,061 | 50.4% |", "| positive | 4,982 | 49.6% |",
                  "vaderSentiment-3.3.2.tar.gz"):
        assert piece in md, piece


def test_corpus_card_unpinned_local():
    cfg = SourceConfig(client="local", spec="/data/wiki.parquet", format="parquet", licence="CC BY-SA")
    card = data_card("wiki", cfg, {"documents": 10, "sentences": 120, "words": 2400})
    assert "label_counts" not in card and card["sha256"] is None and not card["sha256_pinned"]
    md = card_markdown(card)
    assert "not pinned" in md and "| words | 2,400 |" in md and "label" not in md.split("| count")[1]
    card2 = data_card("wiki", cfg, {"documents": 10}, fetched={"archive": "wiki.parquet", "sha256": "ab" * 32})
    assert card2["sha256"] == "ab" * 32
    assert "(not pinned)" in card_markdown(card2)
