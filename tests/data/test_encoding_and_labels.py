"""Source ``encoding:`` (strict decoding in every reader) and prepare's label checks, in-process."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from bertvsgpt.config.schema import ConfigError, SourceConfig
from bertvsgpt.data.checks import check_task_labels
from bertvsgpt.data.readers import read_documents, read_examples

LATIN1 = "Café au lait. Naïve résumé."


def _source(tmp_path: Path, name: str, fmt: str, **extra) -> SourceConfig:
    return SourceConfig(client="local", spec=str(tmp_path / name), format=fmt, **extra)


# --- encoding ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt, file, body", [
    ("text", "c.txt", LATIN1 + "\n"),
    ("csv", "c.csv", f"text,label\n{LATIN1},a\n"),
    ("jsonl", "c.jsonl", json.dumps({"text": LATIN1, "label": "a"}, ensure_ascii=False) + "\n"),
])
def test_documents_decode_strictly_with_the_declared_encoding(tmp_path, fmt, file, body):
    (tmp_path / file).write_bytes(body.encode("latin-1"))
    cfg = _source(tmp_path, file, fmt)
    with pytest.raises(ValueError) as info:
        list(read_documents("src", cfg, tmp_path / "raw"))
    msg = str(info.value)
    assert file in msg and "byte 0xe9 at offset" in msg and "not valid utf-8" in msg
    assert "data.sources.src.encoding" in msg and "\n" not in msg
    docs = list(read_documents("src", _source(tmp_path, file, fmt, encoding="latin-1"), tmp_path / "raw"))
    assert LATIN1 in docs[0].text


def test_table_examples_decode_with_the_declared_encoding(tmp_path):
    (tmp_path / "c.csv").write_bytes(f"text,label\n{LATIN1},crème\n".encode("cp1252"))
    with pytest.raises(ValueError, match="not valid utf-8"):
        read_examples("src", _source(tmp_path, "c.csv", "csv"), tmp_path / "raw")
    df = read_examples("src", _source(tmp_path, "c.csv", "csv", encoding="cp1252"), tmp_path / "raw")
    assert df.get_column("text").to_list() == [LATIN1] and df.get_column("label").to_list() == ["crème"]


def test_packaged_format_decodes_with_the_declared_encoding(tmp_path):
    folder = tmp_path / "raw" / "wnut"  # as fetched
    folder.mkdir(parents=True)
    (folder / "ner.txt").write_bytes("Café\tB-facility\nau\tI-facility\n\t\n".encode("latin-1"))
    cfg = SourceConfig(client="local", spec=str(folder), format="wnut_bio")
    with pytest.raises(ValueError) as info:
        read_examples("wnut", cfg, tmp_path / "raw")
    assert "ner.txt" in str(info.value) and "offset 3" in str(info.value) and "data.sources.wnut.encoding" in str(info.value)
    cfg = SourceConfig(client="local", spec=str(folder), format="wnut_bio", encoding="latin-1")
    assert read_examples("wnut", cfg, tmp_path / "raw").get_column("tokens").to_list() == [["Café", "au"]]


def test_unknown_encoding_is_a_config_error():
    with pytest.raises(ConfigError, match="data.sources.x.encoding: unknown encoding 'klingon'"):
        SourceConfig(client="local", spec="x", encoding="klingon").validate("data.sources.x")


# --- label checks ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind, row, problem", [
    ("classification", {"text": "a", "label": ""}, "missing or empty label"),
    ("classification", {"text": "a", "label": None}, "missing or empty label"),
    ("classification", {"text": " ", "label": "x"}, "empty text"),
    ("multiple_choice", {"text": "q", "choices": ["a", "b", "c"], "label": 3}, "label 3 is not an option index in [0, 3)"),
    ("multiple_choice", {"text": "q", "choices": ["a", "b", "c"], "label": -1}, "label -1 is not an option index"),
    ("token_classification", {"text": "a b", "tokens": ["a", "b"], "tags": ["O"]}, "has 2 tokens but 1 tags"),
    ("token_classification", {"text": "a b", "tokens": ["a", "b"], "tags": ["O", "PER"]}, "tag 'PER' (token 1) is not O"),
    ("token_classification", {"text": "a b", "tokens": ["a", "b"], "tags": ["O", "I-PER"]}, "tag 'I-PER' (token 1) follows 'O'"),
    ("token_classification", {"text": "a b", "tokens": ["a", "b"], "tags": ["B-LOC", "I-PER"]}, "follows 'B-LOC'"),
    ("extractive_qa", {"text": "q", "context": "abc def", "answer": "def", "answer_start": 3}, "is not the passage's text at character 3"),
    ("extractive_qa", {"text": "q", "context": "abc def", "answer": "def", "answer_start": 6}, "outside the 7-character passage"),
    ("extractive_qa", {"text": "q", "context": "abc def", "answer": "", "answer_start": 0}, "empty answer"),
    ("translation", {"text": "Haus", "target": ""}, "empty target"),
    ("pair_classification", {"text": "evidence", "text_b": "", "label": "True"}, "empty text_b"),
    ("pair_classification", {"text": "evidence", "text_b": "claim", "label": ""}, "missing or empty label"),
])
def test_a_bad_label_names_task_row_and_problem(kind, row, problem):
    good = {"classification": {"text": "fine", "label": "x"},
            "multiple_choice": {"text": "q", "choices": ["a", "b", "c"], "label": 2},
            "token_classification": {"text": "a b c", "tokens": ["a", "b", "c"], "tags": ["B-PER", "I-PER", "O"]},
            "extractive_qa": {"text": "q", "context": "abc def", "answer": "def", "answer_start": 4},
            "translation": {"text": "Haus", "target": "house"},
            "pair_classification": {"text": "evidence", "text_b": "claim", "label": "True"}}[kind]
    table = pl.DataFrame([{"id": 0, **good}, {"id": 17, **row}])
    check_task_labels("t", kind, table.head(1))  # the good row passes
    with pytest.raises(ValueError) as info:
        check_task_labels("t", kind, table)
    assert str(info.value).startswith("tasks.t: row 17: ") and problem in str(info.value), str(info.value)


def test_a_gbk_file_is_named_with_the_encoding_it_reads_as(tmp_path):
    """A People's Daily file saved in GBK instead of UTF-8: one line naming the file, the encoding found and the
    params key that declares it; with ``encoding: gbk`` declared, the same file reads."""
    from bertvsgpt.data.encoding import UndecodableError

    f = tmp_path / "199801.txt"
    f.write_bytes(("人民日报/nt  发表/v  社论/n  。/w\n" * 3).encode("gbk"))
    cfg = SourceConfig(client="local", spec=str(f), format="peoples_daily")
    with pytest.raises(UndecodableError) as err:
        list(read_documents("pd", cfg, tmp_path / "raw"))
    message = str(err.value)
    assert "\n" not in message and str(f) in message and "not valid utf-8" in message
    assert "reads as gbk (Chinese text)" in message and "data.sources.pd.encoding: gbk" in message
    docs = list(read_documents("pd", SourceConfig(client="local", spec=str(f), format="peoples_daily", encoding="gbk"), tmp_path / "raw"))
    assert docs[0].sentences[0] == "人民日报发表社论。"
    # Latin-1 text is not taken for Chinese: the general message
    g = tmp_path / "latin.txt"
    g.write_bytes(LATIN1.encode("latin-1"))
    with pytest.raises(UndecodableError, match="is not valid utf-8; if the file uses another encoding"):
        list(read_documents("t", SourceConfig(client="local", spec=str(g), format="text"), tmp_path / "raw"))


def test_every_task_kind_has_a_label_check():
    """prepare checks each kind's rows; a kind registered without a check would pass bad rows silently."""
    from bertvsgpt.data.checks import ROW_CHECKS
    from bertvsgpt.kinds import SPECS

    assert set(ROW_CHECKS) == set(SPECS)
    with pytest.raises(ValueError, match="no label check for task kind 'regression'"):
        check_task_labels("t", "regression", pl.DataFrame({"id": [0], "text": ["x"]}))
