"""Issue 12 in the report: intrinsic metrics beside their unigram floors, split sizes and steps, the recipe paragraph."""

from __future__ import annotations

import dataclasses
import json

from bertvsgpt.report import load_inputs, render_report
from bertvsgpt.report.markdown import TITLE
from bertvsgpt.report.recipe import Recipe, recipe_from, recipe_paragraph
from bertvsgpt.report.tables import intrinsic_metrics, sizes_table
from tests.report.fixtures import INTRINSIC, PRETRAIN, params, table_after



# --- intrinsic metrics beside their floors ----------------------------------------------------------


def test_intrinsic_rows_show_each_value_beside_its_floor(report):
    header, *rows = table_after(report.markdown, "### Intrinsic metrics on held-out corpus text")
    assert header == ["model", "metric", "value", "unigram floor", "value / floor", "target"]
    by = {(r[0], r[1]): r[2:] for r in rows}
    # BERT: 25 % MLM accuracy vs 5 % unigram accuracy (5.00x, target 3x met); perplexity 120.5 vs 900
    assert by[("BERT", "MLM accuracy")] == ["25.0 %", "5.0 %", "5.00×", "≥ 3× floor: met"]
    assert by[("BERT", "MLM perplexity")] == ["120.5", "900.0", "—", "—"]
    assert by[("BERT", "cross-entropy (masked tokens)")] == ["4.792 nats", "6.100 nats", "0.79×", "—"]
    assert by[("BERT", "NSP accuracy")] == ["60.0 %", "50.0 % (chance)", "—", "≥ 65 %: **not met**"]
    # GPT: 20 % vs 8 %, 150 vs 700, 5.011 nats vs 6.4 nats of unigram entropy (0.78x: the 0.72x target not met)
    assert by[("GPT", "next-token accuracy")] == ["20.0 %", "8.0 %", "2.50×", "—"]
    assert by[("GPT", "next-token perplexity")] == ["150.0", "700.0", "—", "—"]
    assert by[("GPT", "cross-entropy (next tokens)")] == ["5.011 nats", "6.400 nats", "0.78×", "≤ 0.72× entropy: **not met**"]
    assert by[("GPT", "predicted tokens")] == ["5,000", "—", "—", "—"]
    assert not any("unigram" in metric for _, metric in by)  # the floors are columns, not rows of their own
    section = report.markdown.split("### Intrinsic metrics on held-out corpus text")[1].split("###")[0]
    assert "How to read:" in section and "≥ 3× its unigram floor" in section and "≤ 0.72× the unigram entropy" in section
    assert "NSP accuracy ≥ 65 % (chance 50 %)" in section


def test_intrinsic_table_lists_each_pretraining_run_beside_their_mean():
    from bertvsgpt.report.tables import intrinsic_table

    gpt = {"next_token_accuracy": 0.2, "unigram_accuracy": 0.08, "cross_entropy": 5.0, "unigram_entropy": 6.4,
           "runs": [{"pretrain_seed": 42, "next_token_accuracy": 0.22, "cross_entropy": 4.9},
                    {"pretrain_seed": 1, "next_token_accuracy": 0.18, "cross_entropy": 5.1}]}
    header, *rows = [[c.strip() for c in line.strip("|").split("|")] for line in intrinsic_table({"gpt": gpt}).splitlines()
                     if not line.startswith("|--") and not line.startswith("| --")]
    assert header[:4] == ["model", "metric", "value (mean over runs)", "each pre-training run"]
    by = {r[1]: r[2:] for r in rows}
    assert by["next-token accuracy"][:3] == ["20.0 %", "22.0 % / 18.0 %", "8.0 %"]
    assert by["cross-entropy (next tokens)"][:2] == ["5.000 nats", "4.900 nats / 5.100 nats"]
    single = intrinsic_table({"gpt": {k: v for k, v in gpt.items() if k != "runs"}})
    assert "each pre-training run" not in single


def test_intrinsic_floors_reach_the_metrics_file(report):
    m = report.metrics["intrinsic"]
    json.dumps(m)
    assert m["bert"]["mlm_accuracy"] == 0.25 and m["bert"]["mlm_accuracy_unigram_floor"] == 0.05
    assert m["bert"]["mlm_accuracy_over_unigram"] == 5.0 and m["bert"]["mlm_perplexity_unigram_floor"] == 900.0
    assert m["gpt"]["cross_entropy_unigram_entropy"] == 6.4 and m["gpt"]["cross_entropy_over_unigram_entropy"] == 0.7829
    assert m["gpt"]["next_token_accuracy_unigram_floor"] == 0.08 and m["gpt"]["perplexity_unigram_floor"] == 700.0
    assert all(isinstance(v, float) for d in m.values() for v in d.values())
    assert {k for d in m.values() for k in d if "unigram" in k} >= {"mlm_accuracy_unigram_floor", "next_token_accuracy_over_unigram"}


def test_intrinsic_ratio_computed_when_only_the_floor_is_recorded():
    m = intrinsic_metrics({"bert": {"mlm_accuracy": 0.3, "unigram_accuracy": 0.1}})
    assert m == {"bert": {"mlm_accuracy": 0.3, "mlm_accuracy_unigram_floor": 0.1, "mlm_accuracy_over_unigram": 3.0}}
    assert intrinsic_metrics({"gpt": {"perplexity": 100.0}}) == {"gpt": {"perplexity": 100.0}}  # an older file: no floor keys


def test_older_intrinsic_file_renders_without_floors(inputs, options, tmp_path):
    old = {"bert": {k: INTRINSIC["bert"][k] for k in ("mlm_accuracy", "mlm_perplexity", "nsp_accuracy", "masked_tokens")},
           "gpt": {k: INTRINSIC["gpt"][k] for k in ("perplexity", "next_token_accuracy", "predicted_tokens")}}
    report = render_report(dataclasses.replace(inputs, intrinsic=old), tmp_path / "reports", options)
    _, *rows = table_after(report.markdown, "### Intrinsic metrics on held-out corpus text")
    by = {(r[0], r[1]): r[2:] for r in rows}
    assert by[("BERT", "MLM accuracy")] == ["25.0 %", "—", "—", "≥ 3× floor"]
    assert by[("GPT", "next-token perplexity")] == ["150.0", "—", "—", "—"]
    assert not any("unigram" in k for d in report.metrics["intrinsic"].values() for k in d)


# --- data sizes and steps ---------------------------------------------------------------------------


def test_sizes_and_steps_table_shows_the_runs_values(report):
    header, *rows = table_after(report.markdown, "### Data sizes and training steps")
    assert header == ["task", "model", "train", "dev", "test", "steps/epoch", "epoch limit", "epochs run", "steps run"]
    by = {(r[0], r[1]): r[2:] for r in rows}
    # every model ran sentiment alike: one row; 3 and 4 epochs over the two seeds -> 3.5, 2 steps per epoch -> 7 steps
    assert by[("sentiment", "all")] == ["8", "5", "10", "2", "10", "3.5", "7"]
    assert by[("mt", "all")] == ["50", "5", "4", "13", "10", "3.5", "45.5"]
    # qa's steps per epoch differ per model: one row each
    assert by[("qa", "BERT")] == ["12", "5", "4", "5", "10", "3.5", "17.5"]
    assert by[("qa", "GPT-scratch")][3] == "6" and ("qa", "all") not in by
    assert [r[0] for r in rows] == ["sentiment", "ner", "qa", "qa", "qa", "qa", "commonsense", "mt"]  # task order


def test_sizes_table_absent_when_runs_recorded_none():
    import polars as pl

    runs = pl.DataFrame({"model": ["bert"], "task": ["a"], "seed": [0], "n_train": [None]}, schema_overrides={"n_train": pl.Float64})
    assert sizes_table(runs, ["bert"], ["a"]) is None and sizes_table(None, ["bert"], ["a"]) is None


# --- the recipe paragraph ---------------------------------------------------------------------------


def _recipe_of(markdown: str) -> str:
    head = markdown.split(f"# {TITLE}\n\n", 1)[1]
    return head.split("\n\n", 1)[0]


def test_recipe_is_the_first_paragraph_and_names_both_norms(report):
    recipe = _recipe_of(report.markdown)
    assert recipe.startswith("**The recipe.**")
    assert report.markdown.index(recipe) < report.markdown.index("## What this run shows") < report.markdown.index("## Downstream tasks")
    assert ("BERT uses the post-LN block of the paper, GPT the pre-LN block of GPT-2: in the norm x objective ablation "
            "(400-1,500 steps) each objective learned only with its own block; see the README's recipe section.") in recipe
    assert "the same corpus (tiny_corpus, plus the training texts of the fine-tuned tasks sentiment, ner, qa, commonsense and mt" in recipe
    assert "the same tokenizer vocabulary size (8,192" in recipe
    assert "BERT 5.00 M parameters, GPT 5.10 M: GPT/BERT = 1.020, within 5 %" in recipe
    assert "the same token budget (1.00 M tokens)" in recipe and "the same fine-tuning protocol" in recipe
    assert "BERT masks 40 % of the positions (masked LM + next-sentence prediction)" in recipe
    assert "pre-train with dropout 0 (`model.dropout`) and fine-tune with dropout 0.1 (`finetune.dropout`)" in recipe


def test_recipe_says_same_block_when_the_norms_are_equal(run_dir, options, tmp_path):
    report = render_report(load_inputs(run_dir, params(norm=("pre", "pre"))), tmp_path / "reports", options)
    recipe = _recipe_of(report.markdown)
    assert "same block (pre-LN" in recipe and "post-LN" not in recipe and "each objective learned only with its own block" not in recipe


def test_recipe_flags_a_size_mismatch_and_leaves_out_what_params_lack():
    r = recipe_from(params(), {"bert": {"parameters": 1_000_000}, "gpt": {"parameters": 1_200_000}})
    assert "GPT/BERT = 1.200, **outside** the 5 % the comparison allows" in recipe_paragraph(r)
    bare = recipe_paragraph(recipe_from(object(), {}))  # nothing known: no paragraph
    assert bare == ""
    no_in_domain = recipe_paragraph(Recipe(corpus=["a", "b"]))
    assert "the same corpus (a and b)" in no_in_domain and "training texts" not in no_in_domain


def test_recipe_says_when_bert_trains_without_next_sentence_prediction():
    p = params()
    p.pretrain.bert.nsp = False
    text = recipe_paragraph(recipe_from(p, PRETRAIN))
    assert "BERT masks 40 % of the positions (masked LM only: next-sentence prediction is off, `pretrain.bert.nsp`" in text
    assert "masked LM + next-sentence prediction" not in text


def test_recipe_says_where_each_objective_tags_a_word():
    from types import SimpleNamespace

    p = params()
    p.tasks["ner"].word_subword = SimpleNamespace(bert="first", gpt="last")
    text = recipe_paragraph(recipe_from(p, PRETRAIN))
    assert "Tagging (ner) reads a word at BERT's first sub-word and GPT's last (`tasks.ner.word_subword`)" in text
    p.tasks["ner"].word_subword = SimpleNamespace(bert="first", gpt="first")
    assert "Tagging (ner) reads each word at its first sub-word for both" in recipe_paragraph(recipe_from(p, PRETRAIN))
    p.finetune.tasks = [t for t in p.finetune.tasks if t != "ner"]  # a tagging task not fine-tuned: not mentioned
    assert "Tagging" not in recipe_paragraph(recipe_from(p, PRETRAIN))


def test_recipe_states_each_trained_vocabulary_when_they_differ():
    """Chinese: WordPiece (one token per character) stops below the size asked for; the recipe says so."""
    text = recipe_paragraph(recipe_from(params(), PRETRAIN, vocab_sizes={"bert": 7_773, "gpt": 8_192}))
    assert "tokenizer vocabularies of 7,773 (WordPiece, BERT) and 8,192 (byte-level BPE, GPT) entries for the 8,192 asked for" in text
    assert "the same tokenizer vocabulary size" not in text
    same = recipe_paragraph(recipe_from(params(), PRETRAIN, vocab_sizes={"bert": 8_192, "gpt": 8_192}))
    assert "the same tokenizer vocabulary size (8,192" in same


def test_recipe_accepts_the_real_params_schema():
    from pathlib import Path

    from bertvsgpt.config import load_params

    p = load_params(Path(__file__).resolve().parents[2] / "params.yaml", [])
    text = recipe_paragraph(recipe_from(p, PRETRAIN))
    assert f"the same tokenizer vocabulary size ({p.tokenizer.vocab_size:,}" in text
    assert all(s in text for s in p.data.corpus)
    if p.model.norm.bert != p.model.norm.gpt:
        assert "each objective learned only with its own block" in text
    if "ner" in p.finetune.tasks:
        assert "Tagging (ner" in text and "`tasks.ner.word_subword`" in text


def test_recipe_names_the_language_and_what_a_token_is_worth_in_characters():
    """The budget is counted in tokens; the corpus's size in characters and in each tokenizer's tokens says what
    a token is worth for each model (Chinese WordPiece: one character a token)."""
    r = recipe_from(params(), PRETRAIN, corpus_characters=1_800_000, corpus_tokens={"bert": 1_800_000, "gpt": 1_200_000})
    r.language = "zh"
    text = recipe_paragraph(r)
    assert "the same Chinese corpus (" in text
    assert "1.80 M characters = 1.80 M WordPiece tokens for BERT (1.00 characters a token) and " \
           "1.20 M byte-level BPE tokens for GPT (1.50 characters a token)" in text
    r = recipe_from(params(), PRETRAIN)  # sizes unknown: no clause, no language when params lack it
    assert "characters" not in recipe_paragraph(r)


def _loss_figure_labels(curve, tmp_path, monkeypatch):
    import matplotlib.axes
    import polars as pl

    from bertvsgpt.report.figures import pretrain_loss_figure

    labels: list[str] = []
    plot = matplotlib.axes.Axes.plot

    def spy(self, *args, **kwargs):
        labels.append(kwargs.get("label"))
        return plot(self, *args, **kwargs)

    monkeypatch.setattr(matplotlib.axes.Axes, "plot", spy)
    assert pretrain_loss_figure({"bert": pl.DataFrame(curve)}, tmp_path / "loss.png") is not None
    return labels


def test_loss_figure_names_the_bert_loss_by_its_objectives(tmp_path, monkeypatch):
    mlm_only = {"tokens_seen": [1, 2], "loss": [7.0, 6.0], "mlm_loss": [7.0, 6.0]}
    assert _loss_figure_labels(mlm_only, tmp_path, monkeypatch) == ["BERT: MLM loss (masked tokens)"]
    with_nsp = {**mlm_only, "loss": [7.7, 6.6], "nsp_loss": [0.7, 0.6]}
    assert _loss_figure_labels(with_nsp, tmp_path, monkeypatch)[-2:] == ["BERT: MLM + NSP loss", "BERT: MLM loss (masked tokens)"]
