"""In-domain pre-training text: training texts only, grouped and shuffled, never dev/test, never labels."""

from __future__ import annotations

import polars as pl

from bertvsgpt.data.corpus import build_corpus
from bertvsgpt.data.in_domain import EXAMPLES_PER_DOCUMENT, evaluation_texts, in_domain_documents, in_domain_source
from bertvsgpt.data.readers import Document


def _classification(n_train: int = 20) -> pl.DataFrame:
    rows = [(f"{i}", "train", f"Training sentence number {i} is here.", "pos" if i < n_train // 2 else "neg") for i in range(n_train)]
    rows += [("d0", "dev", "A dev sentence never enters.", "pos"), ("t0", "test", "A test sentence never enters.", "neg")]
    return pl.DataFrame(rows, schema=["id", "split", "text", "label"], orient="row")


def test_training_texts_become_grouped_documents_and_dev_test_never_do():
    docs = list(in_domain_documents({"sentiment": _classification()}, {"sentiment": "classification"}, seed=0))
    sentences = [s for d in docs for s in d.sentences]
    assert sorted(sentences) == sorted(f"Training sentence number {i} is here." for i in range(20))
    assert not any("dev" in s or "test" in s for s in sentences)
    assert [len(d.sentences) for d in docs] == [EXAMPLES_PER_DOCUMENT, EXAMPLES_PER_DOCUMENT, 20 - 2 * EXAMPLES_PER_DOCUMENT]
    assert {d.source for d in docs} == {in_domain_source("sentiment")} == {"task:sentiment"}
    assert len({d.doc_id for d in docs}) == len(docs)


def test_grouping_is_shuffled_so_neighbours_do_not_share_a_label_and_is_seeded():
    table = _classification(40)  # table order is by label, like the prepared tables
    first = list(in_domain_documents({"s": table}, {"s": "classification"}, seed=0))
    again = list(in_domain_documents({"s": table}, {"s": "classification"}, seed=0))
    assert [d.sentences for d in first] == [d.sentences for d in again]
    numbers = [int(s.split()[3]) for s in first[0].sentences]
    assert numbers != sorted(numbers)  # not in table order
    assert any(n < 20 for n in numbers) and any(n >= 20 for n in numbers)  # both labels in one document
    other = list(in_domain_documents({"s": table}, {"s": "classification"}, seed=1))
    assert [d.sentences for d in other] != [d.sentences for d in first]


def test_qa_contributes_each_training_passage_once_and_mt_both_languages():
    qa = pl.DataFrame(
        {
            "id": ["0", "1", "2"], "split": ["train", "train", "test"], "text": ["Q1?", "Q2?", "Q3?"],
            "context": ["Passage one. It has two sentences.", "Passage one. It has two sentences.", "Test passage."],
            "question": ["Q1?", "Q2?", "Q3?"], "answer": ["one", "two", "Test"], "answer_start": [8, 20, 0],
        }
    )
    mt = pl.DataFrame({"id": ["0", "1"], "split": ["train", "dev"], "text": ["Guten Tag.", "Hallo Welt."], "target": ["Good day.", "Hello world."]})
    docs = list(in_domain_documents({"qa": qa, "mt": mt}, {"qa": "extractive_qa", "mt": "translation"}, seed=0))
    by_source = {}
    for d in docs:
        by_source.setdefault(d.source, []).append(d.sentences)
    assert by_source["task:qa"] == [["Passage one.", "It has two sentences."]]
    assert sorted(by_source["task:mt"]) == [["Good day."], ["Guten Tag."]]


def test_evaluation_texts_are_dev_and_test_inputs_passages_and_references_only():
    qa = pl.DataFrame({"id": ["0", "1"], "split": ["train", "dev"], "text": ["Q1?", "Q2?"], "context": ["Train passage.", "Dev passage."]})
    mt = pl.DataFrame({"id": ["0", "1"], "split": ["train", "test"], "text": ["Ich bin müde.", "Mir dreht sich alles."],
                       "target": ["I am tired.", "My head is spinning."]})  # MT's training targets join the corpus
    texts = evaluation_texts({"sentiment": _classification(), "qa": qa, "mt": mt})
    assert sorted(texts) == sorted(["A dev sentence never enters.", "A test sentence never enters.", "Q2?", "Dev passage.",
                                    "Mir dreht sich alles.", "My head is spinning."])


def test_in_domain_documents_are_never_held_out():
    general = [Document(f"g:{i}", "g", text=f"General document {i} has a sentence.") for i in range(50)]
    tasks = [Document(f"task:x:{i}", "task:x", text=f"Task document {i} has a sentence.") for i in range(200)]
    df, _ = build_corpus(general + tasks, 0.3, seed=0, min_sentence_chars=5, train_only_sources=["task:x"])
    held = df.filter(pl.col("split") == "heldout")
    assert held.height > 0 and set(held["source"]) == {"g"}
    assert df.filter(pl.col("source") == "task:x").height == 200


def test_chinese_task_texts_are_split_at_chinese_terminators():
    """``data.language: zh``: a review's sentences are split by the Chinese rules (a closing quote stays with its
    sentence, no split inside a book title); BlingFire, the English splitter, breaks both."""
    table = pl.DataFrame({"id": [0], "text": ["他说：“好！”然后走了。《你好！李焕英》很好看。"], "label": ["positive"], "split": ["train"]})
    [doc] = in_domain_documents({"sentiment_zh": table}, {"sentiment_zh": "classification"}, seed=0, language="zh")
    assert doc.sentences == ["他说：“好！”", "然后走了。", "《你好！李焕英》很好看。"]
    [doc] = in_domain_documents({"sentiment_zh": table}, {"sentiment_zh": "classification"}, seed=0)
    assert doc.sentences[:2] == ["他说：“好！", "”然后走了。"]


def test_a_task_whose_source_is_a_corpus_source_adds_no_in_domain_text():
    """People's Daily is the Chinese corpus and the NER set: the NER training text is in the corpus already."""
    from bertvsgpt.config import load_params
    from bertvsgpt.data.prepare import corpus_holds_task_text
    from tests.presets import makefile_preset

    p = load_params("params.yaml", makefile_preset("ZH"))
    assert corpus_holds_task_text(p, "ner_zh") and not corpus_holds_task_text(p, "sentiment_zh")
    default = load_params("params.yaml")
    assert not any(corpus_holds_task_text(default, t) for t in default.finetune.tasks)


def test_a_sentence_pair_task_contributes_both_texts():
    nli = pl.DataFrame({"id": [0, 1], "split": ["train", "test"], "text": ["Evidence one.", "Held out."],
                        "text_b": ["Claim one.", "Held claim."], "label": ["True", "False"]})
    docs = list(in_domain_documents({"nli": nli}, {"nli": "pair_classification"}, seed=0))
    assert sorted(d.sentences for d in docs) == [["Claim one."], ["Evidence one."]]
