"""Small synthetic data for end-to-end runs: a text corpus and a labelled sentiment CSV."""

from __future__ import annotations

import csv
import random
from pathlib import Path

SUBJECTS = ["the senator", "a farmer", "the committee", "our nation", "the river", "a young writer", "the court"]
VERBS = ["describes", "questions", "remembers", "builds", "defends", "crosses", "studies"]
OBJECTS = ["the old bridge", "a new law", "the harvest", "its history", "the northern road", "a quiet town"]
TAILS = ["in the spring.", "with great care.", "before the vote.", "after the war.", "for many years."]
POSITIVE = ["wonderful", "moving", "brilliant", "delightful", "charming", "superb"]
NEGATIVE = ["dull", "tedious", "awful", "clumsy", "boring", "lifeless"]


def write_corpus(path: Path, n_docs: int = 60, seed: int = 0) -> None:
    """Documents separated by blank lines, a few sentences each."""
    rng = random.Random(seed)
    docs = []
    for _ in range(n_docs):
        sents = [
            f"{rng.choice(SUBJECTS).capitalize()} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(TAILS)}"
            for _ in range(rng.randint(4, 9))
        ]
        docs.append(" ".join(sents))
    path.write_text("\n\n".join(docs) + "\n", encoding="utf-8")


def write_sentiment(path: Path, n: int = 240, seed: int = 1) -> None:
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["sentence", "polarity"])
        for i in range(n):
            label = "positive" if i % 2 == 0 else "negative"
            word = rng.choice(POSITIVE if label == "positive" else NEGATIVE)
            w.writerow([f"a {word} film about {rng.choice(OBJECTS)} number {i}", label])
