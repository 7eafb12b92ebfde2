"""Contamination check: word n-gram overlap between the pre-training corpus and test examples, by hand."""

from __future__ import annotations

from bertvsgpt.report.contamination import contamination, ngrams, words


def test_words_are_lowercased_word_tokens():
    assert words("It's the U.S. -- OK, 1990!") == ["it", "s", "the", "u", "s", "ok", "1990"]
    assert words("@paulwalk It 's") == words("@PaulWalk it's")  # tokenisation does not matter


def test_ngrams():
    assert list(ngrams(["a", "b", "c", "d"], 3)) == ["a b c", "b c d"]
    assert list(ngrams(["a", "b"], 3)) == []


def test_overlap_by_hand():
    corpus = ["One two three four five. Six seven eight nine ten.", "alpha beta gamma"]
    tests = {
        # example 0 shares "four five six seven" (across the corpus' sentence boundary), example 1 nothing,
        # example 2 only through its second field, example 3 is shorter than n
        "t": [["x Four five, SIX seven y"], ["nine ten eleven twelve"], ["nothing here at all", "two three four five"], ["one two"]],
        "u": [["alpha beta gamma delta"]],
    }
    got = {o.task: o for o in contamination(corpus, tests, n=4)}
    assert (got["t"].n_examples, got["t"].n_overlapping, got["t"].n_checkable) == (4, 2, 3)
    assert got["t"].share == 0.5
    assert (got["u"].n_examples, got["u"].n_overlapping) == (1, 0)  # "alpha beta gamma" has only 3 words


def test_shared_ngram_counts_every_example_holding_it():
    got = contamination(["a b c"], {"t": [["a b c"], ["x a b c"], ["a b"]]}, n=3)
    assert (got[0].n_overlapping, got[0].n_checkable) == (2, 2)


def test_empty_inputs():
    assert contamination([], {"t": [["a b c d"]]}, n=2)[0].n_overlapping == 0
    assert contamination(["a b"], {}, n=2) == []


def test_each_chinese_character_is_a_token_and_latin_words_stay_whole():
    """Chinese has no spaces: without this a whole sentence would be one "word" and no n-gram would ever match."""
    assert words("他说：Windows95很好，It's OK。") == ["他", "说", "windows95", "很", "好", "it", "s", "ok"]
    [o] = contamination(["新华社北京一月一日电今天天气很好"], {"ner_zh": [["北京一月一日电今天"], ["上海的消息"]]}, n=8)
    assert (o.n_overlapping, o.n_checkable) == (1, 1)
