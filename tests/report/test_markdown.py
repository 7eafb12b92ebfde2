"""The markdown report: headline table, compute and intrinsic tables, qualitative samples."""

from __future__ import annotations

import polars as pl

from bertvsgpt.report.markdown import build_report, compute_table, headline_table, intrinsic_table, samples_section


def summary_frame(rows: list[tuple[str, str, str, float, float, int]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={"model": pl.String, "task": pl.String, "metric": pl.String, "mean": pl.Float64, "std": pl.Float64, "n": pl.UInt32},
        orient="row",
    )


SUMMARY = summary_frame(
    [
        ("bert", "sentiment", "test_accuracy", 0.8, 0.1, 3),
        ("gpt", "sentiment", "test_accuracy", 0.65, 0.05, 3),
        ("bert", "sentiment", "test_macro_f1", 0.7, 0.0, 1),
        ("gpt", "sentiment", "test_macro_f1", 0.75, 0.0, 1),
        ("bert", "sentiment", "dev_macro_f1", 0.9, 0.0, 1),  # not a headline metric
        ("gpt", "sentiment", "dev_macro_f1", 0.1, 0.0, 1),
        ("bert", "topic", "test_accuracy", 0.5, 0.02, 2),
        ("gpt", "topic", "test_accuracy", 0.5, 0.04, 2),
        ("bert", "ner", "test_accuracy", 0.333, 0.0, 1),  # gpt missing
    ]
)


def cells(line: str) -> list[str]:
    assert line.startswith("| ") and line.endswith(" |")
    return [c.strip() for c in line[2:-2].split(" | ")]


def test_headline_table_header_and_separator():
    lines = headline_table(SUMMARY, ["bert", "gpt"]).splitlines()
    assert cells(lines[0]) == ["task", "metric", "BERT", "GPT", "BERT − GPT", "higher"]
    assert lines[1] == "|---|---|---|---|---|---|"


def test_headline_table_rows_by_hand():
    rows = {tuple(cells(line)[:2]): cells(line) for line in headline_table(SUMMARY, ["bert", "gpt"]).splitlines()[2:]}
    # n > 1: "mean ± std" in percent; 80.0 - 65.0 = +15.0 -> BERT higher
    assert rows[("sentiment", "accuracy")] == ["sentiment", "accuracy", "80.0 ± 10.0", "65.0 ± 5.0", "+15.0", "BERT"]
    # n == 1: no ± part; 70.0 - 75.0 = -5.0 -> GPT higher
    assert rows[("sentiment", "macro-F1")] == ["sentiment", "macro-F1", "70.0", "75.0", "-5.0", "GPT"]
    # equal means -> tie
    assert rows[("topic", "accuracy")] == ["topic", "accuracy", "50.0 ± 2.0", "50.0 ± 4.0", "+0.0", "tie"]
    # a model without results -> dashes, no winner
    assert rows[("ner", "accuracy")] == ["ner", "accuracy", "33.3", "—", "—", "—"]
    # dev metrics are not in the headline table
    assert len(rows) == 4
    assert not any("dev" in k[1] for k in rows)


def test_headline_table_follows_the_models_order():
    lines = headline_table(SUMMARY, ["gpt", "bert"]).splitlines()
    assert cells(lines[0])[2:4] == ["GPT", "BERT"]
    row = next(cells(line) for line in lines[2:] if line.startswith("| sentiment | accuracy"))
    # the model columns follow the list, the difference is still BERT − GPT
    assert row[2:] == ["65.0 ± 5.0", "80.0 ± 10.0", "+15.0", "BERT"]


def test_headline_table_every_row_has_the_header_width():
    lines = headline_table(SUMMARY, ["bert", "gpt"]).splitlines()
    assert all(len(cells(line)) == 6 for line in lines if not line.startswith("|---"))


def test_compute_table_formats_by_hand():
    pretrain = {
        "bert": {
            "parameters": 1_234_567,
            "tokens_seen": 2_000_000,
            "train_flops": 123456789.0,
            "train_seconds": 90.0,
            "tokens_per_second": 12345.6,
            "mfu": 0.123,
            "peak_memory_mb": 2048.4,
            "precision": "32-true",
        },
        "gpt": {"parameters": 500_000, "precision": "bf16-mixed"},
    }
    lines = compute_table(pretrain).splitlines()
    assert cells(lines[0]) == [
        "model", "parameters", "tokens", "training FLOPs", "wall time", "tokens/s", "MFU", "peak memory", "precision",
    ]
    assert lines[1] == "|---|" + "---|" * 8
    assert cells(lines[2]) == ["BERT", "1.23 M", "2.00 M", "1.23e+08", "1.5 min", "12,346", "12 %", "2,048 MB", "32-true"]
    assert cells(lines[3]) == ["GPT", "0.50 M", "—", "—", "—", "—", "—", "—", "bf16-mixed"]
    assert len(lines) == 4


def test_intrinsic_table_formats_floats_and_ints():
    intrinsic = {"bert": {"mlm_accuracy": 0.123456, "masked_tokens": 12345}, "gpt": {"perplexity": 345.678}}
    lines = intrinsic_table(intrinsic).splitlines()
    assert lines[:2] == ["| model | metric | value |", "|---|---|---|"]
    assert [cells(line) for line in lines[2:]] == [
        ["BERT", "mlm accuracy", "0.1235"],
        ["BERT", "masked tokens", "12,345"],
        ["GPT", "perplexity", "345.7"],
    ]


BERT_SAMPLES = [
    {"prompt": "The ___ was empty.", "predictions": [("room", 0.5), ("|", 0.25), ("hall", 0.125)]},
    {"prompt": "A | B ___ .", "predictions": [("x", 0.9)]},
]
GPT_SAMPLES = [
    {"prompt": "The", "continuation": " cat | dog\nsat "},
    {"prompt": "A | B", "continuation": " end"},
    {"prompt": "Only GPT", "continuation": " more"},
]


def test_samples_section_rows_and_escaping():
    lines = samples_section({"bert": BERT_SAMPLES, "gpt": GPT_SAMPLES}).splitlines()
    assert lines[:2] == ["| prompt | BERT fills ___ (top 5) | GPT continues |", "|---|---|---|"]
    assert lines[2] == r"| The ___ was empty. | room (0.50), \| (0.25), hall (0.12) | The **cat \| dog sat** |"
    assert lines[3] == r"| A \| B ___ . | x (0.90) | A \| B **end** |"
    # a prompt only GPT has: BERT's cell is a dash, the prompt comes from GPT
    assert lines[4] == "| Only GPT | — | Only GPT **more** |"
    assert len(lines) == 5
    # every row keeps exactly three cells: all literal pipes are escaped
    for line in lines:
        assert line.replace("\\|", "").count("|") == 4
        assert "\n" not in line


def test_samples_section_one_model_only():
    lines = samples_section({"bert": BERT_SAMPLES[:1]}).splitlines()
    assert lines[2].endswith("| — |")
    lines = samples_section({"gpt": GPT_SAMPLES[2:]}).splitlines()
    assert lines[2] == "| Only GPT | — | Only GPT **more** |"


def test_samples_section_without_prompts():
    assert "evaluate.prompts" in samples_section({})
    assert "evaluate.prompts" in samples_section({"bert": [], "gpt": []})


def test_build_report_contains_every_section():
    intrinsic = {"bert": {"mlm_accuracy": 0.25}, "gpt": {"perplexity": 99.5}}
    pretrain = {"bert": {"parameters": 1_000_000}, "gpt": {"parameters": 2_000_000}}
    cards = ["### corpus card", "some text about the data"]
    provenance = {"git_commit": "abc123", "params": "params.yaml"}
    samples = {"bert": BERT_SAMPLES[:1], "gpt": GPT_SAMPLES[:1]}
    report = build_report(SUMMARY, intrinsic, pretrain, cards, ["bert", "gpt"], provenance, samples)
    headings = [line for line in report.splitlines() if line.startswith("#")]
    assert headings == [
        "# BERT vs GPT: pre-training compared on the same data, size and token budget",
        "## Downstream tasks",
        "## Pre-training compute",
        "## Intrinsic metrics on held-out corpus text",
        "## Qualitative: the same prompts through both pre-trained models",
        "## Data",
        "### corpus card",
        "## Provenance",
    ]
    assert headline_table(SUMMARY, ["bert", "gpt"]) in report
    assert compute_table(pretrain) in report
    assert intrinsic_table(intrinsic) in report
    assert samples_section(samples) in report
    assert "some text about the data" in report
    assert "- git_commit: `abc123`" in report and "- params: `params.yaml`" in report
    # sections in order
    order = [report.index(h) for h in headings if not h.startswith("###")]
    assert order == sorted(order)


def test_build_report_without_samples_says_so():
    report = build_report(SUMMARY, {}, {}, [], ["bert", "gpt"], {})
    assert "_No prompts configured (`evaluate.prompts`)._" in report
