"""End-to-end fine-tuning on a tiny synthetic, separable sentiment task."""

from __future__ import annotations

import json
import random

import polars as pl
import pytest

from bertvsgpt.config.schema import FinetuneConfig, task_config
from bertvsgpt.models import BertForPreTraining, GPTForPreTraining, ModelConfig, save_pretrained
from bertvsgpt.tokenization.train import train_byte_level_bpe, train_wordpiece
from bertvsgpt.tasks.classification import CLASSIFICATION
from bertvsgpt.tasks.finetune import finetune
from bertvsgpt.tasks.options import RunOptions, TaskRun

POSITIVE = ["good", "great", "lovely", "superb"]
NEGATIVE = ["bad", "awful", "dull", "poor"]
FILLER = ["the", "movie", "plot", "was", "a", "cast", "with", "and", "film", "story", "really", "quite"]


def make_table(seed: int = 0) -> pl.DataFrame:
    rng = random.Random(seed)
    rows = []
    sizes = {"train": 160, "dev": 40, "test": 40}
    i = 0
    for split, n in sizes.items():
        for _ in range(n):
            label = rng.choice(["neg", "pos"])
            words = rng.choices(FILLER, k=rng.randint(3, 7))
            words.insert(rng.randint(0, len(words)), rng.choice(POSITIVE if label == "pos" else NEGATIVE))
            rows.append({"id": f"ex{i}", "split": split, "text": " ".join(words), "label": label})
            i += 1
    # one over-long test example: it is truncated (and counted) but keeps its sentiment word first
    rows[-1]["text"] = "good " + " ".join(["the movie"] * 20)
    rows[-1]["label"] = "pos"
    return pl.DataFrame(rows)


def tiny_config(arch: str, vocab_size: int) -> ModelConfig:
    return ModelConfig(
        vocab_size=vocab_size,
        n_layer=2,
        n_head=2,
        d_model=32,
        d_ff=64,
        max_seq_len=24,
        dropout=0.0,
        type_vocab_size=2 if arch == "bert" else 0,
        causal=arch == "gpt",
        pad_token_id=0,
    )



@pytest.fixture(scope="module")
def table():
    return make_table()


@pytest.fixture(scope="module")
def tokenizers(table):
    texts = table.filter(pl.col("split") == "train").get_column("text").to_list()
    return {
        "bert": train_wordpiece(texts, vocab_size=120, min_frequency=1),
        "gpt": train_byte_level_bpe(texts, vocab_size=400, min_frequency=1),
    }


TASK = task_config(type="classification", source="synthetic", max_length=16)
FT = FinetuneConfig(max_epochs=6, batch_size=16, lr=3e-3, warmup_fraction=0.1, patience=3)


def run(tmp_path, name, arch, tok, table, seed=0, pretrained=True, task=TASK):
    cfg = tiny_config(arch, tok.get_vocab_size())
    model_dir = None
    if pretrained:  # a randomly initialised "pre-trained" model exercises the load path
        model = BertForPreTraining(cfg) if arch == "bert" else GPTForPreTraining(cfg)
        model_dir = save_pretrained(model, cfg, tmp_path / f"{name}-pretrained")
    out = tmp_path / name
    metrics = finetune(
        CLASSIFICATION, TaskRun(table, task, FT, seed, out), model_dir, arch, tok,
        options=RunOptions(enable_progress_bar=False), model_config=None if pretrained else cfg,
    )
    return metrics, out


@pytest.mark.parametrize("arch", ["bert", "gpt"])
def test_finetune_learns_separable_task(tmp_path, table, tokenizers, arch):
    metrics, out = run(tmp_path, arch, arch, tokenizers[arch], table)
    assert metrics["test_accuracy"] >= 0.9, metrics
    assert metrics["test_macro_f1"] >= 0.9, metrics
    assert metrics["best_dev_macro_f1"] >= 0.9, metrics
    assert (metrics["n_train"], metrics["n_dev"], metrics["n_test"]) == (160, 40, 40)
    tok = tokenizers[arch]
    budget = TASK.max_length - 2  # [CLS] .. [SEP] / start .. extract
    expected = {
        split: sum(
            len(tok.encode(t, add_special_tokens=False).ids) > budget
            for t in table.filter(pl.col("split") == split).get_column("text").to_list()
        )
        for split in ("train", "dev", "test")
    }
    assert expected["test"] >= 1  # the deliberately long example
    assert metrics["n_truncated_by_split"] == expected
    assert metrics["n_truncated"] == sum(expected.values())
    assert metrics["labels"] == ["neg", "pos"]
    assert 1 <= metrics["epochs_run"] <= FT.max_epochs
    assert metrics["train_seconds"] > 0

    on_disk = json.loads((out / "metrics.json").read_text())
    assert on_disk == json.loads(json.dumps(metrics))

    preds = pl.read_parquet(out / "predictions.parquet")
    assert preds.columns == ["id", "text", "label", "pred", "prob", "correct"]
    test = table.filter(pl.col("split") == "test")
    assert preds.get_column("id").to_list() == test.get_column("id").to_list()
    assert preds.get_column("label").to_list() == test.get_column("label").to_list()
    assert set(preds.get_column("pred").unique().to_list()) <= {"neg", "pos"}
    assert preds.get_column("prob").min() >= 0.5 - 1e-6 and preds.get_column("prob").max() <= 1.0 + 1e-6
    assert preds.get_column("correct").to_list() == (preds["label"] == preds["pred"]).to_list()
    assert preds.get_column("correct").mean() == pytest.approx(metrics["test_accuracy"])

    ckpts = list((out / "checkpoints").glob("*.safetensors"))
    assert len(ckpts) == 1  # only the best dev checkpoint is kept


def test_same_seed_same_result_and_train_cap(tmp_path, table, tokenizers):
    task = task_config(type="classification", source="synthetic", max_length=16, max_train_examples=64)
    a, out_a = run(tmp_path, "a", "gpt", tokenizers["gpt"], table, seed=3, pretrained=False, task=task)
    b, out_b = run(tmp_path, "b", "gpt", tokenizers["gpt"], table, seed=3, pretrained=False, task=task)
    assert a["n_train"] == 64
    for key in ("test_accuracy", "test_macro_f1", "best_dev_macro_f1", "best_epoch", "epochs_run"):
        assert a[key] == b[key], key
    pa, pb = pl.read_parquet(out_a / "predictions.parquet"), pl.read_parquet(out_b / "predictions.parquet")
    assert pa.equals(pb)


def test_scratch_needs_a_config(tmp_path, table, tokenizers):
    with pytest.raises(ValueError, match="model_config"):
        finetune(CLASSIFICATION, TaskRun(table, TASK, FT, 0, tmp_path / "x"), None, "bert", tokenizers["bert"])


class Interrupt(Exception):
    pass


def tiny_gpt_dir(tmp_path, tok, dropout: float = 0.0):
    """A tiny "pre-trained" GPT with its tokenizer, as finetune_task reads it."""
    cfg = tiny_config("gpt", tok.get_vocab_size())
    cfg.dropout = dropout
    model_dir = save_pretrained(GPTForPreTraining(cfg), cfg, tmp_path / "gpt")
    tok.save(str(model_dir / "tokenizer.json"))
    return model_dir


def trainer_with(*callbacks):
    """Lightning's Trainer with ``callbacks`` added to the ones the code under test passes."""
    import lightning as L

    orig_trainer = L.Trainer

    def trainer(*a, **kw):
        kw["callbacks"] = [*kw.get("callbacks", []), *callbacks]
        return orig_trainer(*a, **kw)

    return trainer


def test_interrupted_finetune_resumes_to_the_same_result(tmp_path, table, tokenizers, monkeypatch):
    """Killed after epoch 2 of 4 (state saved each epoch), the rerun continues and ends bitwise equal."""
    import lightning as L

    from bertvsgpt.tasks.registry import finetune_task

    model_dir = tiny_gpt_dir(tmp_path, tokenizers["gpt"], dropout=0.1)  # dropout draws random numbers: resume must restore the RNG too
    ft = FinetuneConfig(max_epochs=4, batch_size=16, lr=3e-3, patience=10)
    task = task_config(type="classification", source="synthetic", max_length=16)

    def run(name, resume):
        return finetune_task(model_dir, TaskRun(table, task, ft, 1, tmp_path / name), resume_dir=resume, options=RunOptions(enable_progress_bar=False))

    straight = run("straight", None)

    class KillAfterEpoch2(L.Callback):
        def on_train_epoch_start(self, trainer, module):
            if trainer.current_epoch == 2:
                raise Interrupt

    resume = tmp_path / "resume"
    with monkeypatch.context() as mp:
        mp.setattr(L, "Trainer", trainer_with(KillAfterEpoch2()))
        with pytest.raises(Interrupt):
            run("resumed", resume)
    assert (resume / "training" / "last.ckpt").is_file()
    assert not (resume / "result").exists()
    resumed = run("resumed", resume)
    for key in ("test_accuracy", "test_macro_f1", "best_dev_macro_f1", "best_epoch", "epochs_run"):
        assert resumed[key] == straight[key], key
    assert pl.read_parquet(tmp_path / "resumed" / "predictions.parquet").equals(pl.read_parquet(tmp_path / "straight" / "predictions.parquet"))
    assert (resume / "result" / "metrics.json").is_file() and not (resume / "training").exists()

    # a finished run with the same inputs is reused, not recomputed
    with monkeypatch.context() as mp:
        mp.setattr(L, "Trainer", lambda *a, **k: pytest.fail("retrained a finished run"))
        again = run("again", resume)
    assert again == json.loads((tmp_path / "resumed" / "metrics.json").read_text())
    # changed inputs (here the learning rate) never reuse it
    ft.lr = 1e-3
    with monkeypatch.context() as mp:
        mp.setattr(L, "Trainer", lambda *a, **k: (_ for _ in ()).throw(Interrupt()))
        with pytest.raises(Interrupt):
            run("changed", resume)


def test_interrupted_finetune_with_a_validation_cadence_resumes_to_the_same_result(tmp_path, table, tokenizers, monkeypatch):
    """Validated every 2nd epoch (``finetune.validate_every_steps``, as the label-fraction runs are), a run killed
    after an unvalidated epoch resumes from the last validated one and ends bitwise equal to an uninterrupted run:
    the same dev score at every validation, final weights, best epoch, scores, epochs and steps run, and predictions.
    (Saved after validation instead of at the epoch's end, as Lightning does by default at such a cadence, the
    resumed run drew its loader's seed from the restored random state once more, and its dropout differed.)"""
    import hashlib

    import lightning as L

    from bertvsgpt.tasks.registry import finetune_task

    model_dir = tiny_gpt_dir(tmp_path, tokenizers["gpt"], dropout=0.1)
    # 160 training rows in batches of 16: 10 steps an epoch, so 20 steps is every 2nd epoch (epochs 2, 4, 6 scored)
    ft = FinetuneConfig(max_epochs=5, batch_size=16, lr=3e-3, patience=10, validate_every_steps=20)
    task = task_config(type="classification", source="synthetic", max_length=16)

    class Record(L.Callback):
        def __init__(self):
            self.dev, self.weights = {}, None

        def on_validation_end(self, trainer, module):
            self.dev[trainer.current_epoch] = float(trainer.callback_metrics["val_score"])

        def on_train_end(self, trainer, module):
            h = hashlib.sha256()
            for name, t in sorted(module.state_dict().items()):
                h.update(name.encode() + t.detach().float().numpy().tobytes())
            self.weights = h.hexdigest()

    class KillBeforeEpoch4(L.Callback):  # epochs 0-2 trained, epoch 2 not validated
        def on_train_epoch_start(self, trainer, module):
            if trainer.current_epoch == 3:
                raise Interrupt

    def run(name, resume, *callbacks):
        with monkeypatch.context() as mp:
            mp.setattr(L, "Trainer", trainer_with(*callbacks))
            return finetune_task(model_dir, TaskRun(table, task, ft, 1, tmp_path / name), resume_dir=resume, options=RunOptions(enable_progress_bar=False))

    ref = Record()
    straight = run("straight", None, ref)
    assert straight["validate_every_epochs"] == 2
    assert straight["max_epochs"] == 6  # the limit of 5 raised to a validated epoch
    assert straight["epochs_run"] == 6 and straight["steps_run"] == 60
    assert sorted(ref.dev) == [1, 3, 5]  # 0-based: every 2nd epoch scored

    resume = tmp_path / "resume"
    with pytest.raises(Interrupt):
        run("resumed", resume, KillBeforeEpoch4())
    assert (resume / "training" / "last.ckpt").is_file()  # written at the end of epoch 1, the validated one
    got = Record()
    resumed = run("resumed", resume, got)
    assert got.dev == {e: ref.dev[e] for e in (3, 5)}  # the epochs after the resume, bit for bit
    assert got.weights == ref.weights
    for key in ("test_accuracy", "test_macro_f1", "best_dev_macro_f1", "best_epoch", "epochs_run", "steps_run", "max_epochs"):
        assert resumed[key] == straight[key], key
    assert pl.read_parquet(tmp_path / "resumed" / "predictions.parquet").equals(pl.read_parquet(tmp_path / "straight" / "predictions.parquet"))


@pytest.mark.parametrize("validate_every_steps", [None, 20])
def test_the_resume_state_moves_at_every_validated_epoch_without_a_new_best(tmp_path, table, tokenizers, monkeypatch, validate_every_steps):
    """``last.ckpt`` holds the end of the latest validated epoch even when the dev score did not improve (at
    a learning rate of 1e-12 it never does after the first validation), so a killed run loses at most the
    epochs since then; Lightning 2.6 alone wrote it only with a new best."""
    import lightning as L
    import torch

    from bertvsgpt.tasks.registry import finetune_task

    model_dir = tiny_gpt_dir(tmp_path, tokenizers["gpt"])
    ft = FinetuneConfig(max_epochs=6, batch_size=16, lr=1e-12, patience=10, validate_every_steps=validate_every_steps)
    task = task_config(type="classification", source="synthetic", max_length=16)
    last = tmp_path / "resume" / "training" / "last.ckpt"
    seen, dev = {}, []

    class Look(L.Callback):
        def on_train_epoch_start(self, trainer, module):  # the checkpoint callback ran at the previous epoch's end
            seen[trainer.current_epoch] = torch.load(last, map_location="cpu", weights_only=True)["global_step"] if last.exists() else None

        def on_validation_end(self, trainer, module):
            dev.append(float(trainer.callback_metrics["val_score"]))

    monkeypatch.setattr(L, "Trainer", trainer_with(Look()))
    finetune_task(model_dir, TaskRun(table, task, ft, 0, tmp_path / "out"), resume_dir=tmp_path / "resume", options=RunOptions(enable_progress_bar=False))
    assert len(set(dev)) == 1  # the dev score never improved after the first validation
    every = 1 if validate_every_steps is None else 2  # 10 steps an epoch
    expected = {e: (e // every) * every * 10 or None for e in range(6)}
    assert seen == expected
