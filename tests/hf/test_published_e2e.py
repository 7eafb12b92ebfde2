"""A published checkpoint through the whole chain: ``dvc repro report`` in a temporary copy of the repository.

A tiny random transformers ``BertModel`` (2 layers, d 32, the workspace's own BERT WordPiece vocabulary)
saved with ``save_pretrained`` (safetensors, and the tokenizer as a transformers fast tokenizer) into a
local folder plays the published checkpoint ``tiny`` (params.yaml ``published.tiny.source``: client
``local``). With ``finetune.models: [bert, tiny]`` on one cheap classification task, ``dvc repro report``
runs ``published@tiny`` (conversion), ``finetune@tiny-sentiment`` and ``finetune_labels@tiny`` beside our
BERT's, then evaluate and report: the evaluation and the report carry ``tiny``'s scores, and the report
labels its rows as a published checkpoint, lists where it came from and tests it against BERT (its
family) with no scratch-twin gain. The workspace is :func:`tests.reliability.workspace.make_repo`'s
(synthetic data, a one-layer BERT, a 2,048-token budget); no intermediate budget checkpoints.
"""

from __future__ import annotations

import json
import time

import pytest

from tests.reliability.workspace import make_repo, run, stage_env

transformers = pytest.importorskip("transformers")
pytestmark = pytest.mark.slow

NAME = "tiny"
TASK = "sentiment"


def stages_run(stdout: str) -> set[str]:
    return {line.split("'")[1] for line in stdout.splitlines() if line.startswith("Running stage")}


def save_tiny_bert(folder, tokenizer_file) -> None:
    """A random 2-layer, d-32 transformers BertModel with the workspace's BERT tokenizer, as a hub checkpoint ships."""
    import torch
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    config = transformers.BertConfig(
        vocab_size=tokenizer.get_vocab_size(), hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        max_position_embeddings=64, type_vocab_size=2, hidden_act="gelu", pad_token_id=tokenizer.token_to_id("[PAD]"),
    )
    torch.manual_seed(0)
    transformers.BertModel(config).save_pretrained(folder)  # model.safetensors + config.json
    transformers.PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, cls_token="[CLS]", sep_token="[SEP]", pad_token="[PAD]", mask_token="[MASK]", unk_token="[UNK]",
    ).save_pretrained(folder)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("published-e2e")
    checkpoint = tmp / "checkpoint"
    repo = make_repo(tmp, archs=("bert",), tasks=(TASK,), params_overrides={
        "published": {NAME: {"source": {"client": "local", "spec": str(checkpoint), "licence": "synthetic"},
                             "description": "a random 2-layer BertModel standing in for a published checkpoint"}},
        "finetune.models": ["bert", NAME],
        "pretrain.checkpoint_fractions": [],  # no score-vs-compute fine-tuning: not what this test is about
        "label_efficiency.fractions": [0.5],
        "report.bootstrap_resamples": 50,
        "report.errors_per_task": 1,
    })
    env = stage_env(repo, MLFLOW_TRACKING_URI=(tmp / "mlruns").as_uri(), MLFLOW_ALLOW_FILE_STORE="true")
    run(["dvc", "init", "--no-scm", "-q"], repo, env)
    run(["dvc", "config", "core.analytics", "false"], repo, env)
    t0 = time.perf_counter()
    run(["dvc", "repro", "tokenizer@bert"], repo, env, timeout=600)
    save_tiny_bert(checkpoint, repo / "data" / "tokenizers" / "bert" / "tokenizer.json")
    out = run(["dvc", "repro", "report"], repo, env, timeout=1800)
    print(f"dvc repro: {time.perf_counter() - t0:.1f} s")
    return repo, checkpoint, out.stdout


def test_the_published_checkpoint_is_converted_and_fine_tuned_beside_bert(workspace):
    repo, checkpoint, stdout = workspace
    assert {f"published@{NAME}", f"finetune@{NAME}-{TASK}", f"finetune@bert-{TASK}", f"finetune_labels@{NAME}", "evaluate",
            "report"} <= stages_run(stdout)
    record = json.loads((repo / "data" / "models" / NAME / "published.json").read_text())
    assert record["family"] == "bert" and record["source"]["spec"] == str(checkpoint)
    assert sorted(record["initialised"]) == ["masked LM head", "next-sentence head"]  # a bare BertModel has no heads
    metrics = json.loads((repo / "data" / "finetune" / NAME / TASK / "seed_0" / "metrics.json").read_text())
    assert metrics["primary_metric"] == "test_accuracy" and 0.0 <= metrics["test_accuracy"] <= 1.0


def test_evaluate_collects_the_record_and_the_score(workspace):
    repo, checkpoint, _ = workspace
    collected = json.loads((repo / "data" / "evaluation" / "published.json").read_text())
    assert list(collected) == [NAME]
    assert collected[NAME]["family"] == "bert" and collected[NAME]["source"]["spec"] == str(checkpoint)
    assert "checkpoint" not in collected[NAME]  # the conversion's scratch path
    metrics = json.loads((repo / "metrics" / "evaluation.json").read_text())
    assert {"bert", NAME} <= set(metrics["finetune"][TASK])  # beside the baselines' rows
    assert "test_accuracy" in metrics["finetune"][TASK][NAME]
    assert set(metrics["pretrain"]) == {"bert"}  # intrinsic metrics: our pre-trained models only


def test_report_labels_the_published_rows_and_tests_them_against_bert(workspace):
    repo, checkpoint, _ = workspace
    report = json.loads((repo / "metrics" / "report.json").read_text())
    task = report["tasks"][TASK]
    assert set(task["test_accuracy"]) == {"bert", NAME}
    assert isinstance(task[f"{NAME}_minus_bert"], float) and 0.0 < task[f"{NAME}_minus_bert_p"] <= 1.0
    assert not any(k.startswith(f"{NAME}_gain") for k in task)

    md = (repo / "reports" / "report.md").read_text()
    label = f"{NAME} (published)"
    headline = md.split("## Downstream tasks", 1)[1].split("\n\n")[2].splitlines()
    header = [c.strip() for c in headline[0].strip("|").split("|")]
    assert header[:4] == ["task", "metric", "BERT", label] and header[-1] == f"{label} − BERT"
    assert not any("scratch" in c for c in header)
    row = [c.strip() for c in headline[2].strip("|").split("|")]
    assert row[0] == TASK and row[-1].startswith(("+", "-")) and "(p " in row[-1]
    section = md.split("### Published checkpoints", 1)[1].split("\n### ", 1)[0]
    (line,) = [x for x in section.splitlines() if x.startswith(f"| {label} |")]
    assert f"local: `{checkpoint}` (sha256 `" in line and "not pinned" in line and "| BERT |" in line and "synthetic" in line
    assert f"| {label} |" in md.split("### All test metrics", 1)[1]
    assert label in md.split("## Label efficiency", 1)[1].split("\n## ", 1)[0]
    assert label in (repo / "reports" / "report.html").read_text()
