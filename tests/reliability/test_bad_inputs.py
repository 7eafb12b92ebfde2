"""Bad inputs stop the real stage with one line naming the cause, a non-zero exit and no outputs left behind.

Every case runs the stage's real entry point (``python -m pipeline.<stage> ...``) in a temporary copy
of the repository on the synthetic data of ``tests/e2e_data.py``, with the cheapest stage that
performs the check, and asserts: exit status != 0, exactly one ``error: ...`` line, the last line on
stderr, that names the cause (log lines before it are allowed), no traceback, and not one file or
folder added to the repository copy (MLflow's store lives outside it). Set-up (fetching the synthetic
sources, training a tokenizer) runs in-process, which is the same code without the start-up cost.

| bad input | stage | the error line (as of this test) |
|---|---|---|
| misspelled key in params.yaml (`model.nhead`) | fetch | `error: model.nhead: Key 'nhead' not in 'ModelSizeConfig'` |
| unknown key as an override (`model.nheads=4`) | fetch | `error: model.nheads: no such key in params.yaml (check the spelling)` |
| new key as an override (`+model.nheads=4`) | fetch | `error: model.nheads: Key 'nheads' not in 'ModelSizeConfig'` |
| wrong type (`model.n_layer=abc`) | fetch | `error: model.n_layer: Value 'abc' of type 'str' could not be converted to Integer` |
| another kind's setting (`+tasks.sentiment.doc_stride=32`) | fetch | `error: tasks.sentiment.doc_stride: not a setting of a 'classification' task (its settings: ...)` |
| unknown source format (`data.sources.tiny_reviews.format=docx`) | fetch | `error: data.sources.tiny_reviews.format: 'docx' is not one of (...)` |
| wrong type in params.yaml (`pretrain.max_tokens: many`) | fetch | `error: pretrain.max_tokens: Value 'many' of type 'str' could not be converted to Integer` |
| impossible model shape (`model.n_head=3`, d_model 32) | fetch | `error: model.n_head: 3 heads do not divide model.d_model=32` |
| sequence longer than the model (`pretrain.seq_len=128`) | fetch | `error: pretrain.seq_len: 128 exceeds model.max_seq_len=64` |
| unknown model in a params list (`finetune.models=[bert,t5]`) | fetch | `error: finetune.models: unknown model 't5' (known: ('bert', 'gpt', 'bert-scratch', 'gpt-scratch'))` |
| unknown architecture (`pretrain.models=[t5]`) | fetch | `error: pretrain.models: list architectures from ('bert', 'gpt'), got ['t5']` |
| unknown task in a params list (`finetune.tasks=[squad]`) | fetch | `error: finetune.tasks: unknown task 'squad' (not in tasks)` |
| more pre-training runs than fine-tuning seeds (`pretrain.seeds=[42,7]`, one fine-tuning seed) | fetch | `error: pretrain.seeds: 2 pre-training runs but 1 fine-tuning seed (finetune.seeds): ...` |
| a duplicate pre-training seed (`pretrain.seeds=[42,42]`) | fetch | `error: pretrain.seeds: lists a seed twice: [42, 42]` |
| a duplicate fine-tuning seed (`finetune.seeds=[0,0]`) | fetch | `error: finetune.seeds: lists a seed twice: [0, 0]` |
| unknown model as the stage item (`model=roberta`) | finetune | `error: model: unknown model 'roberta' (known: bert, gpt, bert-scratch, gpt-scratch)` |
| a model name where an architecture is built (`model=bert-scratch`) | pretrain, scratch | `error: model: stage pretrain takes an architecture, not 'bert-scratch' (accepted: bert, gpt)` |
| unknown task as the stage item (`task=squad`) | finetune | `error: task: unknown task 'squad' (configured in params.yaml tasks: ...)` |
| stage item missing (no `model=`) | finetune | `error: model: missing argument, pass model=<name>` |
| corpus file missing | fetch | `error: source 'tiny_corpus': local path '/…/nope.txt' does not exist (data.sources.tiny_corpus.spec)` |
| empty corpus | prepare | `error: pre-training corpus is empty after preparation: check data.corpus, ...` |
| archive checksum does not match | fetch | `error: source 'tiny_corpus': sha256 mismatch for corpus.txt: expected aaaa..., got ...` |
| task file with unexpected columns | prepare | `error: data/raw/tiny_reviews/reviews.csv: missing column 'sentence' (data.sources.tiny_reviews.text_column; columns: review, stars)` |
| task file with unexpected labels: multiple-choice answer index 7 of 3 options | prepare | `error: tasks.commonsense: row 0: label 7 is not an option index in [0, 3) (multiple_choice task)` |
| task file with unexpected labels: NER tags that are not BIO (`PERSON`) | prepare | `error: tasks.ner: row 0: tag 'PERSON' (token 0) is not O, B-X or I-X (token_classification task)` |
| task file with unexpected labels: `I-X` without `B-X` | prepare | `error: tasks.ner: row 0: tag 'I-PER' (token 0) follows 'O': an I-X tag must follow B-X or I-X of the same type ...` |
| task file with unexpected labels: fewer tags than tokens | prepare | `error: tasks.ner: row 0: has 7 tokens but 6 tags (token_classification task)` |
| task file with unexpected labels: QA answer outside its passage | prepare | `error: tasks.qa: row 0: answer_start 168 with a 7-character answer is outside the 148-character passage ...` |
| GBK (Chinese) corpus under the default `encoding: utf-8` | prepare | `error: data/raw/tiny_corpus/corpus-gbk.txt: not valid utf-8 (byte 0xc8 at offset 0); it reads as gbk (Chinese text): set data.sources.tiny_corpus.encoding: gbk in params.yaml, or convert the file to UTF-8` |
| Latin-1 corpus under the default `encoding: utf-8` | prepare | `error: data/raw/tiny_corpus/corpus-latin1.txt: byte 0xe9 at offset 3 is not valid utf-8; if the file uses another encoding, set data.sources.tiny_corpus.encoding in params.yaml (e.g. latin-1)` |
| unknown encoding (`encoding: klingon`) | fetch | `error: data.sources.tiny_corpus.encoding: unknown encoding 'klingon' (e.g. utf-8, latin-1, cp1252)` |
| registry client missing (`npm` not on PATH) | fetch | `error: source 'tiny_corpus' needs the 'npm' client, which is not on PATH: install Node.js/npm, or remove ...` |
| registry client missing (`apt-get` not on PATH) | fetch | `error: source 'tiny_corpus' needs the 'apt' client, which is not on PATH: run on a Debian/Ubuntu machine with apt, ...` |
| pre-trained weights not a safetensors file (`data/models/bert/model.safetensors` truncated to half, or a pickle in its place) | evaluate | `error: data/models/bert/model.safetensors: not a valid safetensors file (Error while deserializing header: incomplete metadata, file not fully covered)` (pickle: `... (... header too large)`) |
| post-LN GPT exported | export | `error: a post-LN GPT has no exact transformers class: ours LayerNorms the embeddings, GPT-1's OpenAIGPTLMHeadModel ...` |
| published checkpoint of an unsupported architecture (RoBERTa) | published | `error: /…/roberta-tiny/config.json: unsupported model_type 'roberta' (supported: bert, gpt2, openai-gpt)` |
| a name not in params.yaml `published` (`model=bert-base-uncased`) | published | `error: model: 'bert-base-uncased' is not a published checkpoint in params.yaml published (configured: ...)` |
| disk full while writing an output (simulated ENOSPC) | fetch | `error: [Errno 28] No space left on device: 'data/raw/.tiny_corpus.partial-…/SOURCE.json'` |
| disk full while writing an output (simulated ENOSPC) | prepare | `error: [Errno 28] No space left on device: 'data/.prepared.…/prepared/cards/.tiny_corpus.json.…/tiny_corpus.json'` |
| disk full in `bertvsgpt.io.write_json` (in-process) | — | `OSError: [Errno 28] No space left on device`; the previous file is kept, no temporary left |

The same Latin-1 corpus with ``encoding: latin-1`` prepares, its accents intact. The same table, with
what each check guards, is in ``docs/bad-inputs.md``; the MLflow server cases are in ``test_mlflow_server.py``. Unsafe YAML (a
``!!python`` tag) and tampered checkpoints are in ``test_safe_loading.py``.
"""

from __future__ import annotations

import errno
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bertvsgpt.config import load_params
from bertvsgpt.data.fetch import fetch_all
from tests.reliability.workspace import make_repo, one_line_error, run_stage, snapshot, stage_env

ENOSPC_STAGE = Path(__file__).with_name("enospc_stage.py")


@pytest.fixture(scope="module")
def tracking_uri(tmp_path_factory) -> str:
    """One MLflow store for the module, outside every repository copy (its tables are created once)."""
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"


@pytest.fixture
def repo(tmp_path) -> Path:
    return make_repo(tmp_path)


@pytest.fixture
def env(repo, tracking_uri) -> dict:
    return stage_env(repo, MLFLOW_TRACKING_URI=tracking_uri)


def fails_cleanly(repo: Path, env: dict, stage: str, *args: str, needles: tuple[str, ...] = ()) -> str:
    """Run the stage; it must fail with one error line containing every needle and add nothing to ``repo``."""
    before = snapshot(repo)
    proc, seconds = run_stage(repo, env, stage, *args)
    line = one_line_error(proc)
    for needle in needles:
        assert needle in line, f"{needle!r} not in {line!r}"
    assert_nothing_left(repo, before)
    print(f"{stage} {' '.join(args)}: {seconds:.1f} s: {line}")
    return line


def assert_nothing_left(repo: Path, before: set[str]) -> None:
    """No file and no (hidden) temporary folder was added; an empty output folder is tolerated (the
    fetch stage creates ``data/raw`` before it fetches the first source)."""
    added = sorted(snapshot(repo) - before)
    left = [p for p in added if (repo / p).is_file() or any(part.startswith(".") for part in p.split("/"))]
    assert not left, f"left behind: {left}"


def edit_params(repo: Path, **dotted: object) -> None:
    """Set ``a.b.c`` (written ``a__b__c``) in the copy's params.yaml, as a user would edit the file."""
    params = yaml.safe_load((repo / "params.yaml").read_text())
    for key, value in dotted.items():
        node = params
        *parents, leaf = key.split("__")
        for k in parents:
            node = node[k]
        node[leaf] = value
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def fetch_in_process(repo: Path, *overrides: str) -> None:
    """What the fetch stage writes to ``data/raw``, without its start-up cost."""
    p = load_params(repo / "params.yaml", list(overrides))
    fetch_all(p.used_sources(), p.data.sources, repo / "data" / "raw")


# --- params: keys, types, values (checked before anything runs) -----------------------------------


@pytest.mark.parametrize(
    "override, needles",
    [
        ("model.nheads=4", ("model.nheads", "no such key")),
        ("+model.nheads=4", ("model.nheads",)),
        ("model.n_layer=abc", ("model.n_layer", "abc")),
        ("model.n_head=3", ("model.n_head", "do not divide")),
        ("pretrain.seq_len=128", ("pretrain.seq_len", "max_seq_len")),
        ("finetune.models=[bert,t5]", ("finetune.models", "t5")),
        ("pretrain.models=[t5]", ("pretrain.models", "t5")),
        ("finetune.tasks=[squad]", ("finetune.tasks", "squad")),
        ("+tasks.sentiment.doc_stride=32", ("tasks.sentiment.doc_stride", "not a setting of a 'classification' task")),
        ("data.sources.tiny_reviews.format=docx", ("data.sources.tiny_reviews.format", "docx")),
        ("pretrain.seeds=[42,7]", ("pretrain.seeds", "2 pre-training runs but 1 fine-tuning seed")),
        ("pretrain.seeds=[42,42]", ("pretrain.seeds", "lists a seed twice")),
        ("finetune.seeds=[0,0]", ("finetune.seeds", "lists a seed twice")),
    ],
    ids=["unknown-key", "new-key", "wrong-type", "heads-vs-width", "seq-len-vs-positions", "unknown-model-in-list",
         "unknown-architecture", "unknown-task-in-list", "another-kinds-setting", "unknown-source-format",
         "more-pretraining-runs-than-fine-tuning-seeds", "duplicate-pretraining-seed", "duplicate-finetuning-seed"],
)
def test_bad_param_override(repo, env, override, needles):
    line = fails_cleanly(repo, env, "fetch", override, needles=needles)
    assert line.startswith(f"error: {needles[0]}:")  # the message starts with the dotted key


@pytest.mark.parametrize(
    "edit, needles",
    [
        (lambda p: p["model"].update(nhead=p["model"].pop("n_head")), ("model.nhead",)),
        (lambda p: p["pretrain"].update(max_tokens="many"), ("pretrain.max_tokens", "many")),
    ],
    ids=["misspelled-key", "wrong-type"],
)
def test_bad_params_file(repo, env, tmp_path, edit, needles):
    """A bad params file (here passed through BERTVSGPT_PARAMS, as any other file would be)."""
    params = yaml.safe_load((repo / "params.yaml").read_text())
    edit(params)
    bad = tmp_path / "bad-params.yaml"
    bad.write_text(yaml.safe_dump(params, sort_keys=False))
    line = fails_cleanly(repo, {**env, "BERTVSGPT_PARAMS": str(bad)}, "fetch", needles=needles)
    assert line.startswith(f"error: {needles[0]}:")


# --- the stage's own item (model=..., task=...) -------------------------------------------------------


@pytest.mark.parametrize(
    "args, needles",
    [
        (("model=roberta", "task=sentiment"), ("model", "roberta")),
        (("model=bert", "task=squad"), ("task", "squad")),
        (("task=sentiment",), ("model", "missing")),
    ],
    ids=["unknown-model", "unknown-task", "missing-item"],
)
def test_bad_stage_item(repo, env, args, needles):
    line = fails_cleanly(repo, env, "finetune", *args, needles=needles)
    assert line.startswith(f"error: {needles[0]}:")


# --- data: missing / empty corpus, checksum, task files, registry clients ----------------------------


def test_missing_corpus_file(repo, env, tmp_path):
    missing = tmp_path / "nope.txt"
    fails_cleanly(repo, env, "fetch", f"data.sources.tiny_corpus.spec={missing}",
                  needles=("tiny_corpus", str(missing), "does not exist"))


def test_empty_corpus(repo, env, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    override = f"data.sources.tiny_corpus.spec={empty}"
    fetch_in_process(repo, override)
    # without the tasks' in-domain training texts, which would otherwise fill the corpus
    fails_cleanly(repo, env, "prepare", override, "data.in_domain=false", needles=("corpus is empty",))


def test_checksum_mismatch(repo, env):
    wrong = "a" * 64
    edit_params(repo, data__sources__tiny_corpus__sha256=wrong)
    line = fails_cleanly(repo, env, "fetch", needles=("tiny_corpus", "sha256 mismatch", wrong))
    assert not (repo / "data" / "raw" / "tiny_corpus").exists()
    assert line.count("got ") == 1


def test_task_file_with_unexpected_columns(repo, env, tmp_path):
    bad = tmp_path / "reviews.csv"
    bad.write_text("review,stars\n" + "".join(f"a film about the harvest number {i},{i % 5}\n" for i in range(30)))
    override = f"data.sources.tiny_reviews.spec={bad}"
    fetch_in_process(repo, override)
    fails_cleanly(repo, env, "prepare", override, needles=("missing column 'sentence'", "tiny_reviews"))


def _jsonl_rows(good: Path) -> list[dict]:
    return [json.loads(line) for line in good.read_text().splitlines()]


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def _bad_commonsense(path: Path, good: Path) -> None:
    rows = _jsonl_rows(good)
    for r in rows:
        r["label"] = 7  # every question has 3 options
    _write_jsonl(path, rows)


def _ner_rows(path: Path, good: Path, edit) -> None:
    rows = _jsonl_rows(good)
    for r in rows:
        if any(t != "O" for t in r["tags"]):
            edit(r)
    _write_jsonl(path, rows)


def _not_bio_tags(path: Path, good: Path) -> None:
    _ner_rows(path, good, lambda r: r.update(tags=["O" if t == "O" else "PERSON" for t in r["tags"]]))


def _inside_without_begin(path: Path, good: Path) -> None:  # B-X -> I-X: an entity that never began
    _ner_rows(path, good, lambda r: r.update(tags=[("I-" + t[2:]) if t.startswith("B-") else t for t in r["tags"]]))


def _tags_shorter_than_tokens(path: Path, good: Path) -> None:
    _ner_rows(path, good, lambda r: r.update(tags=r["tags"][:-1]))


def _answer_outside_passage(path: Path, good: Path) -> None:
    import polars as pl

    df = pl.read_parquet(good)
    df.with_columns(pl.col("answer_start") + pl.col("context").str.len_chars()).write_parquet(path)


@pytest.mark.parametrize(
    "task, source, fmt, corrupt, needles",
    [
        ("commonsense", "tiny_commonsense", "commonsense.jsonl", _bad_commonsense,
         ("tasks.commonsense: row ", "label 7 is not an option index in [0, 3)")),
        ("ner", "tiny_ner", "ner.jsonl", _not_bio_tags, ("tasks.ner: row ", "'PERSON'", "not O, B-X or I-X")),
        ("ner", "tiny_ner", "ner.jsonl", _inside_without_begin, ("tasks.ner: row ", "an I-X tag must follow B-X or I-X")),
        ("ner", "tiny_ner", "ner.jsonl", _tags_shorter_than_tokens, ("tasks.ner: row ", "tokens but", "tags")),
        ("qa", "tiny_qa", "qa.parquet", _answer_outside_passage, ("tasks.qa: row ", "outside the", "passage")),
    ],
    ids=["choice-index-out-of-range", "not-bio-tags", "inside-without-begin", "tags-shorter-than-tokens",
         "answer-outside-passage"],
)
def test_task_file_with_unexpected_labels(repo, env, tmp_path, task, source, fmt, corrupt, needles):
    """Labels are checked by prepare, before the corpus is built and before any training: one line naming
    the task, the row id and the problem; nothing under data/prepared."""
    inputs = repo.parent / "inputs"
    bad = tmp_path / f"bad-{fmt}"
    corrupt(bad, inputs / fmt)
    overrides = [f"data.sources.{source}.spec={bad}", f"finetune.tasks=[sentiment,{task}]"]
    fetch_in_process(repo, *overrides)
    line = fails_cleanly(repo, env, "prepare", *overrides, needles=needles)
    assert line.startswith(f"error: tasks.{task}: row ")
    assert not (repo / "data" / "prepared").exists()


# --- source encoding ------------------------------------------------------------------------------

LATIN1_TEXT = ("Café au lait. Naïve résumé of the harvest in the village. "
               "The señora sold crème brûlée at the market. Déjà vu for the farmers.")


def _latin1_corpus(path: Path) -> None:
    path.write_bytes("\n\n".join(LATIN1_TEXT for _ in range(40)).encode("latin-1"))


def _gbk_corpus(path: Path) -> None:
    path.write_bytes("\n\n".join("人民日报今天发表社论。全国人民欢度新年。" for _ in range(40)).encode("gbk"))


@pytest.mark.parametrize("name, write, needles", [
    # Latin-1 text: the byte and offset, and the key to set
    ("corpus-latin1.txt", _latin1_corpus,
     ("byte 0xe9 at offset 3", "not valid utf-8", "data.sources.tiny_corpus.encoding")),
    # a Chinese corpus saved in GBK (People's Daily as many copies ship it): the encoding it reads as, the key to set
    ("corpus-gbk.txt", _gbk_corpus,
     ("not valid utf-8", "reads as gbk", "data.sources.tiny_corpus.encoding: gbk")),
])
def test_corpus_not_in_the_default_encoding(repo, env, tmp_path, name, write, needles):
    corpus = tmp_path / name
    write(corpus)
    override = f"data.sources.tiny_corpus.spec={corpus}"
    fetch_in_process(repo, override)
    line = fails_cleanly(repo, env, "prepare", override, needles=(name, *needles))
    assert "\ufffd" not in line
    assert not (repo / "data" / "prepared").exists()


def test_latin1_corpus_with_its_encoding_declared(repo, env, tmp_path):
    import polars as pl

    corpus = tmp_path / "corpus-latin1.txt"
    _latin1_corpus(corpus)
    edit_params(repo, data__sources__tiny_corpus__spec=str(corpus), data__sources__tiny_corpus__encoding="latin-1")
    fetch_in_process(repo)
    proc, _ = run_stage(repo, env, "prepare")
    assert proc.returncode == 0, proc.stderr[-3000:]
    df = pl.read_parquet(repo / "data" / "prepared" / "corpus.parquet").filter(pl.col("source") == "tiny_corpus")
    text = " ".join(df.get_column("sentences").list.join(" ").to_list())
    assert "Café au lait." in text and "Naïve résumé" in text and "crème brûlée" in text
    assert "\ufffd" not in text


def test_unknown_encoding(repo, env):
    edit_params(repo, data__sources__tiny_corpus__encoding="klingon")
    fails_cleanly(repo, env, "fetch", needles=("data.sources.tiny_corpus.encoding", "unknown encoding 'klingon'"))


# --- stage items: architectures only where a stage builds one -------------------------------------


def _runs_named(tracking_uri: str, name: str) -> list:
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=tracking_uri)
    exp_ids = [e.experiment_id for e in client.search_experiments()]
    return client.search_runs(exp_ids, filter_string=f"attributes.run_name = '{name}'") if exp_ids else []


@pytest.mark.parametrize("stage", ["pretrain", "scratch"])
def test_architecture_stage_refuses_a_model_name(repo, env, tracking_uri, stage):
    line = fails_cleanly(repo, env, stage, "model=bert-scratch",
                         needles=("model:", "'bert-scratch'", "accepted: bert, gpt"))
    assert line.startswith("error: model: ")
    assert _runs_named(tracking_uri, f"{stage}-bert-scratch") == []  # refused before any MLflow run opened


@pytest.mark.parametrize(
    "client, spec, needles",
    [("npm", "left-pad@1.3.0", ("'npm' client", "not on PATH")),
     ("apt", "trans-de-en=1.9-6", ("'apt' client", "not on PATH"))],
)
def test_registry_client_missing(repo, env, tmp_path, client, spec, needles):
    empty_bin = tmp_path / "bin"  # a PATH without npm / apt-get (the stage itself runs with sys.executable)
    empty_bin.mkdir()
    edit_params(repo, data__sources__tiny_corpus__client=client, data__sources__tiny_corpus__spec=spec,
                data__sources__tiny_corpus__members=["package/x"])
    fails_cleanly(repo, {**env, "PATH": str(empty_bin)}, "fetch", needles=("tiny_corpus", *needles))


# --- disk full while writing an output (simulated) -------------------------------------------------


def _run_disk_full(repo: Path, env: dict, out: Path, stage: str, *args: str) -> str:
    before = snapshot(repo)
    proc = subprocess.run([sys.executable, str(ENOSPC_STAGE), str(out), stage, *args], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    line = one_line_error(proc)
    assert "No space left on device" in line and f"{out.relative_to(repo)}/" in line, line
    assert_nothing_left(repo, before)
    return line


def test_disk_full_during_fetch(repo, env):
    _run_disk_full(repo, env, repo / "data", "fetch")
    raw = repo / "data" / "raw"
    assert not raw.exists() or list(raw.iterdir()) == []  # no source, no temporary folder


def test_disk_full_during_prepare(repo, env):
    fetch_in_process(repo)
    raw = snapshot(repo / "data" / "raw")
    _run_disk_full(repo, env, repo / "data", "prepare")
    assert not (repo / "data" / "prepared").exists()
    assert [p.name for p in (repo / "data").iterdir()] == ["raw"]  # no hidden .prepared.* temporary left
    assert snapshot(repo / "data" / "raw") == raw


def _enospc_after_half(monkeypatch):
    write_text = Path.write_text

    def full(self, data, *a, **k):
        write_text(self, data[: len(data) // 2], *a, **k)
        raise OSError(errno.ENOSPC, "No space left on device", str(self))

    monkeypatch.setattr(Path, "write_text", full)


def test_disk_full_in_write_json_keeps_the_old_file(tmp_path, monkeypatch):
    from bertvsgpt.io import write_json

    out = tmp_path / "metrics.json"
    write_json(out, {"accuracy": 0.5})
    old = out.read_text()
    _enospc_after_half(monkeypatch)
    with pytest.raises(OSError) as info:
        write_json(out, {"accuracy": 0.9, "f1": 0.8})
    assert info.value.errno == errno.ENOSPC and "\n" not in str(info.value)
    assert out.read_text() == old
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_disk_full_in_write_json_leaves_no_new_file(tmp_path, monkeypatch):
    from bertvsgpt.io import write_json

    _enospc_after_half(monkeypatch)
    with pytest.raises(OSError, match="No space left on device"):
        write_json(tmp_path / "deep" / "metrics.json", {"accuracy": 0.9})
    assert [p.name for p in (tmp_path / "deep").iterdir()] == []


# --- pre-trained weights that are not a safetensors file ---------------------------------------------


def _write_bert(repo: Path) -> Path:
    """The two files of ``data/models/bert`` that ``load_pretrained`` reads (config.json, model.safetensors),
    written by ``save_pretrained`` as the pretrain stage writes them, with untrained weights: the file is
    corrupted next, so training it first would add nothing."""
    from bertvsgpt.models import BertForPreTraining, save_pretrained
    from bertvsgpt.pretraining.scratch import model_config

    p = load_params(repo / "params.yaml")
    cfg = model_config("bert", p, p.tokenizer.vocab_size, pad_id=0).validate()
    return save_pretrained(BertForPreTraining(cfg), cfg, repo / "data" / "models" / "bert") / "model.safetensors"


def _truncate(weights: Path) -> None:  # a download or copy cut short
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])


def _pickle(weights: Path) -> None:  # a PyTorch pickle (pytorch_model.bin) saved under the safetensors name
    import torch

    torch.save({"w": torch.zeros(2)}, weights)


@pytest.mark.parametrize("corrupt", [_truncate, _pickle], ids=["truncated", "pickle"])
def test_corrupted_pretrained_weights(repo, env, tracking_uri, corrupt):
    """evaluate, the cheapest stage that loads pre-trained weights (the first thing it does; finetune
    goes through the same ``models.load_pretrained``): one line naming the file, its MLflow run FAILED."""
    corrupt(_write_bert(repo))
    before = {r.info.run_id for r in _runs_named(tracking_uri, "evaluate")}
    line = fails_cleanly(repo, env, "evaluate",
                         needles=("data/models/bert/model.safetensors", "not a valid safetensors file"))
    assert line.startswith("error: data/models/bert/model.safetensors: not a valid safetensors file ("), line
    assert not (repo / "data" / "evaluation").exists() and not (repo / "metrics").exists()
    runs = [r for r in _runs_named(tracking_uri, "evaluate") if r.info.run_id not in before]
    assert [r.info.status for r in runs] == ["FAILED"]  # opened, then closed by the error, not left RUNNING


# --- Hugging Face export and published checkpoints ---------------------------------------------------


def test_export_refuses_a_post_ln_gpt(repo, env):
    """No transformers class computes our post-LN GPT (it LayerNorms the embeddings, GPT-1 does not):
    the export stage refuses it, naming the nearest class, and writes no data/hf/gpt."""
    from bertvsgpt.models import GPTForPreTraining, save_pretrained
    from bertvsgpt.pretraining.scratch import model_config

    p = load_params(repo / "params.yaml")
    cfg = model_config("gpt", p, p.tokenizer.vocab_size, pad_id=0).validate()
    cfg.norm = "post"
    save_pretrained(GPTForPreTraining(cfg), cfg, repo / "data" / "models" / "gpt")
    line = fails_cleanly(repo, env, "export", "model=gpt", needles=("post-LN GPT", "OpenAIGPTLMHeadModel", "model.norm.gpt"))
    assert not (repo / "data" / "hf").exists(), line


def test_published_checkpoint_of_an_unsupported_architecture(repo, env, tmp_path):
    """A local checkpoint folder whose config.json is a RoBERTa: one line naming that file and the reason."""
    folder = tmp_path / "roberta-tiny"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "roberta", "hidden_size": 32, "vocab_size": 100}))
    edit_params(repo, published={"roberta": {"source": {"client": "local", "spec": str(folder)}}})
    line = fails_cleanly(repo, env, "published", "model=roberta",
                         needles=(f"{folder}/config.json", "unsupported model_type 'roberta'", "supported: bert, gpt2, openai-gpt"))
    assert not (repo / "data" / "models" / "roberta").exists(), line


def test_published_stage_refuses_an_unconfigured_name(repo, env):
    fails_cleanly(repo, env, "published", "model=bert-base-uncased",
                  needles=("model: 'bert-base-uncased' is not a published checkpoint", "params.yaml published"))
