"""Train/dev/test splits: deterministic, stratified, disjoint, duplicate-free."""

from __future__ import annotations

import polars as pl
import pytest

from bertvsgpt.data.splits import split_examples


def _examples(n_pos: int = 600, n_neg: int = 300) -> pl.DataFrame:
    texts = [f"positive example {i}" for i in range(n_pos)] + [f"negative example {i}" for i in range(n_neg)]
    labels = ["positive"] * n_pos + ["negative"] * n_neg
    return pl.DataFrame({"text": texts, "label": labels})


def test_deterministic_and_seed_dependent():
    df = _examples()
    a = split_examples(df, 0.1, 0.2, seed=3)
    assert split_examples(df, 0.1, 0.2, seed=3).equals(a)
    assert a.columns[:4] == ["id", "text", "label", "split"]
    assert a["id"].to_list() == list(range(df.height))
    b = split_examples(df, 0.1, 0.2, seed=4)
    assert a["split"].to_list() != b["split"].to_list()
    # independent of input order
    shuffled = split_examples(df.sample(fraction=1.0, shuffle=True, seed=1), 0.1, 0.2, seed=3)
    assert dict(zip(a["text"], a["split"])) == dict(zip(shuffled["text"], shuffled["split"]))


def test_stratified_sizes():
    out = split_examples(_examples(), 0.1, 0.2, seed=0)
    counts = {(r["label"], r["split"]): r["len"] for r in out.group_by("label", "split").len().iter_rows(named=True)}
    assert counts[("positive", "test")] == 120 and counts[("positive", "dev")] == 60
    assert counts[("negative", "test")] == 60 and counts[("negative", "dev")] == 30
    assert counts[("positive", "train")] == 420 and counts[("negative", "train")] == 210


def test_duplicates_removed_and_splits_disjoint():
    df = pl.concat([_examples(50, 50), _examples(50, 50).head(30),
                    pl.DataFrame({"text": ["positive example 1"], "label": ["negative"]})])
    out = split_examples(df, 0.2, 0.2, seed=0)
    assert out.height == 100 and out["text"].n_unique() == 100
    assert out.filter(pl.col("text") == "positive example 1")["label"].to_list() == ["positive"]  # first kept
    sides = {s: set(out.filter(pl.col("split") == s)["text"]) for s in ("train", "dev", "test")}
    assert not (sides["train"] & sides["dev"]) and not (sides["train"] & sides["test"])
    assert not (sides["dev"] & sides["test"])


def test_small_labels_and_extra_columns():
    df = pl.DataFrame({"text": ["a", "b", "c", "d", "e"], "label": ["x", "x", "x", "y", "z"], "meta": [1, 2, 3, 4, 5]})
    out = split_examples(df, 0.1, 0.1, seed=0)
    by = {lab: sorted(out.filter(pl.col("label") == lab)["split"].to_list()) for lab in ("x", "y", "z")}
    assert by["x"] == ["dev", "test", "train"] and by["y"] == ["train"] and by["z"] == ["train"]
    assert "meta" in out.columns


def test_bad_input():
    with pytest.raises(ValueError, match="no 'text' column"):
        split_examples(pl.DataFrame({"label": ["a"]}), 0.1, 0.1, 0)
    with pytest.raises(ValueError, match="no examples"):
        split_examples(pl.DataFrame({"text": [], "label": []}), 0.1, 0.1, 0)


def test_unlabelled_examples_split_by_fractions():
    df = pl.DataFrame({"text": [f"sentence {i}" for i in range(200)], "target": [f"satz {i}" for i in range(200)]})
    out = split_examples(df, 0.1, 0.2, seed=1)
    counts = dict(out.group_by("split").len().iter_rows())
    assert counts == {"train": 140, "dev": 20, "test": 40}
    assert out.columns == ["id", "text", "split", "target"]


def test_groups_never_straddle_splits():
    # 60 passages with 1..5 questions each
    rows = [{"text": f"q{g}-{k}", "group": f"passage {g}"} for g in range(60) for k in range(1 + g % 5)]
    df = pl.DataFrame(rows)
    out = split_examples(df, 0.1, 0.1, seed=0)
    per_group = out.group_by("group").agg(pl.col("split").n_unique().alias("n"))
    assert per_group.get_column("n").max() == 1
    counts = dict(out.group_by("split").len().iter_rows())
    n = df.height
    for name in ("dev", "test"):  # whole groups: at least the target share, overshooting by under one group
        assert round(0.1 * n) <= counts[name] < round(0.1 * n) + 5
    again = split_examples(df.reverse(), 0.1, 0.1, seed=0)
    assert dict(zip(again["text"], again["split"])) == dict(zip(out["text"], out["split"]))


def test_sentence_pairs_are_duplicates_only_when_both_texts_are():
    df = pl.DataFrame({"text": ["ev", "ev", "ev", "other"], "text_b": ["c1", "c2", "c1", "c1"], "label": ["T", "F", "F", "T"]})
    out = split_examples(df, 0.2, 0.2, seed=0)
    assert sorted(zip(out["text"], out["text_b"], out["label"])) == [("ev", "c1", "T"), ("ev", "c2", "F"), ("other", "c1", "T")]


# Long sentences (>= 40 normalised characters, the contamination guard's unit) for the near-duplicate tests.
S1 = "The former chief financial officer admitted the charges in a New York court."
S2 = "He said he had lied to investors about the company's finances for three years."
S3 = "Shares in the telecoms firm fell sharply after the announcement on Monday."
S4 = "The trial of his former boss is expected to last another two months at least."
Q = "What does the person need to do before this?"  # Social IQa's templated question: 44 normalised characters


def test_near_duplicates_removed_first_kept():
    df = pl.DataFrame({
        "text": [
            "I'm tired after school today !", "I 'm tired after school today!",  # equal but for spacing and punctuation
            f"Director admits lying\nA lead. {S1} {S2} {S3}", f"Director ends evidence\nA lead. {S1} {S2} {S4}",  # 2 of 3 shared
            f"Addison stopped at a carnival game. {Q}", f"Cameron picked Robin up from the airport. {Q}",  # one shared sentence
            f"{S3} {S4}",  # shares S3 and S4 with the dropped article, only S3 with the kept one
        ],
        "label": ["a", "a", "b", "b", "c", "c", "b"],
    })
    out = split_examples(df, 0.0, 0.0, seed=0)
    texts = out["text"].to_list()
    assert texts[0] == "I'm tired after school today !" and "I 'm tired after school today!" not in texts
    assert f"Director admits lying\nA lead. {S1} {S2} {S3}" in texts  # one article under two headlines: the first kept
    assert f"Director ends evidence\nA lead. {S1} {S2} {S4}" not in texts
    assert sum(Q in t for t in texts) == 2  # a templated question alone does not make two stories duplicates
    assert f"{S3} {S4}" in texts  # texts are compared with the kept ones only
    assert out["id"].to_list() == list(range(out.height))


def test_near_duplicate_passages_are_one_group_on_one_side():
    # passage 0 and its longer copy (passage 1, two questions) must not straddle a split; 40 other passages
    short, longer = f"{S1} {S2} {S3}", f"{S1} {S2} {S3} {S4} The company has since been sold."
    rows = [{"text": f"Who admitted it?\n{short}", "group": "p0"}, {"text": f"Who is on trial?\n{longer}", "group": "p1"},
            {"text": f"What fell?\n{longer}", "group": "p1"}]
    rows += [{"text": f"Question {g}?\nPassage number {g} says something else entirely.", "group": f"other {g}"}
             for g in range(40)]
    for seed in range(20):
        out = split_examples(pl.DataFrame(rows), 0.2, 0.2, seed=seed)
        assert out.height == 43  # a grouped task keeps every question
        assert out.filter(pl.col("group").is_in(["p0", "p1"]))["split"].n_unique() == 1
