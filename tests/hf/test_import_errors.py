"""bertvsgpt.hf.import_checkpoint on bad checkpoints: every refusal is a ConversionError whose one-line
message names the file at fault and the reason, and nothing is written (no output folder, no stray
file, no code run from a pickle). A .zip of a checkpoint imports exactly as the folder does."""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from pathlib import Path

import pytest
import torch

transformers = pytest.importorskip("transformers")

from bertvsgpt.hf import ConversionError, import_checkpoint  # noqa: E402
from bertvsgpt.models import load_pretrained  # noqa: E402
from bertvsgpt.tokenization.special import BERT_PAD, GPT_PAD  # noqa: E402
from bertvsgpt.tokenization.train import train_byte_level_bpe, train_wordpiece  # noqa: E402

TEXTS = [
    "The farmer builds a bridge over the river.",
    "Prices rose 12.5% in 2023, then fell.",
    "Café owners serve crème brûlée on Sundays!",
    "Is it 3:45 p.m. already? Yes.",
] * 2
SMALL = dict(num_hidden_layers=1, num_attention_heads=2, hidden_size=32, intermediate_size=48, max_position_embeddings=32)


@pytest.fixture(scope="module")
def wordpiece():
    return train_wordpiece(TEXTS, vocab_size=150, min_frequency=1)


@pytest.fixture(scope="module")
def bpe():
    return train_byte_level_bpe(TEXTS, vocab_size=300, min_frequency=1)


def save_bert(ckpt: Path, tokenizer, vocab_size: int | None = None, seed: int = 0) -> Path:
    """A tiny random transformers BertForPreTraining with ``tokenizer.json`` next to it."""
    config = transformers.BertConfig(vocab_size=vocab_size or tokenizer.get_vocab_size(),
                                     pad_token_id=tokenizer.token_to_id(BERT_PAD), **SMALL)
    torch.manual_seed(seed)
    transformers.BertForPreTraining(config).save_pretrained(ckpt)
    tokenizer.save(str(ckpt / "tokenizer.json"))
    return ckpt


@pytest.fixture(scope="module")
def bert_ckpt(tmp_path_factory, wordpiece) -> Path:
    """A valid BERT checkpoint folder; tests damage copies of it."""
    return save_bert(tmp_path_factory.mktemp("valid") / "bert-tiny", wordpiece)


def copy_of(ckpt: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(ckpt, tmp_path / ckpt.name))


def edit_config(ckpt: Path, **changes) -> None:
    config = json.loads((ckpt / "config.json").read_text())
    config.update(changes)
    (ckpt / "config.json").write_text(json.dumps(config, indent=2))


def tree(root: Path) -> dict[str, int]:
    """Every file and folder under ``root`` (hidden ones included) -> its size (-1 for folders)."""
    return {str(p.relative_to(root)): (p.stat().st_size if p.is_file() else -1) for p in root.rglob("*")}


class Trap:
    """Unpickling this creates ``path``: a file there proves a pickle was loaded."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (os.mkdir, (self.path,))


def assert_refused(checkpoint: Path, tmp_path: Path, names: str, *reasons: str) -> str:
    """Import into ``tmp_path/models/imported`` fails with ConversionError: one line naming ``names``
    (the path of the file at fault) and every reason; nothing under ``tmp_path`` changes."""
    parent = tmp_path / "models"
    parent.mkdir()
    target = parent / "imported"
    before = tree(tmp_path)
    with pytest.raises(ConversionError) as excinfo:
        import_checkpoint(checkpoint, target)
    message = str(excinfo.value)
    assert "\n" not in message, message
    assert names in message, f"the message does not name {names}: {message}"
    for reason in reasons:
        assert reason in message, message
    assert not target.exists()
    assert os.listdir(parent) == []
    assert tree(tmp_path) == before
    return message


# --- configs no class of ours represents -------------------------------------------------------


def test_unsupported_model_type_is_refused(tmp_path, bert_ckpt):
    """A RoBERTa config.json is refused, naming config.json and the model type."""
    ckpt = copy_of(bert_ckpt, tmp_path)
    roberta = transformers.RobertaConfig(vocab_size=150, **SMALL).to_dict()
    (ckpt / "config.json").write_text(json.dumps(roberta))
    assert_refused(ckpt, tmp_path, str(ckpt / "config.json"), "unsupported model_type 'roberta'")


def test_relative_position_embeddings_are_refused(tmp_path, bert_ckpt):
    """position_embedding_type 'relative_key' (not our learned absolute positions) is refused."""
    ckpt = copy_of(bert_ckpt, tmp_path)
    edit_config(ckpt, position_embedding_type="relative_key")
    assert_refused(ckpt, tmp_path, str(ckpt / "config.json"), "relative_key", "absolute")


def test_gpt2_with_an_unknown_activation_is_refused(tmp_path, bpe):
    """A GPT-2 whose activation is not a GELU (here 'relu') is refused, naming config.json and the activation."""
    config = transformers.GPT2Config(vocab_size=bpe.get_vocab_size(), n_positions=32, n_embd=32, n_layer=1, n_head=2,
                                     activation_function="relu", pad_token_id=bpe.token_to_id(GPT_PAD))
    ckpt = tmp_path / "gpt2-relu"
    torch.manual_seed(0)
    transformers.GPT2LMHeadModel(config).save_pretrained(ckpt)
    bpe.save(str(ckpt / "tokenizer.json"))
    assert_refused(ckpt, tmp_path, str(ckpt / "config.json"), "'relu'")


# --- tokenizer ---------------------------------------------------------------------------------


def test_missing_tokenizer_json_is_refused(tmp_path, bert_ckpt):
    """A checkpoint without tokenizer.json is refused, naming the missing file."""
    ckpt = copy_of(bert_ckpt, tmp_path)
    (ckpt / "tokenizer.json").unlink()
    assert_refused(ckpt, tmp_path, str(ckpt / "tokenizer.json"), "missing")


def test_tokenizer_larger_than_vocab_size_is_refused(tmp_path, wordpiece):
    """A tokenizer with more tokens than config.json's vocab_size (ids the embedding table lacks)."""
    n = wordpiece.get_vocab_size()
    ckpt = save_bert(tmp_path / "bert-small-vocab", wordpiece, vocab_size=n - 10)
    message = assert_refused(ckpt, tmp_path, str(ckpt / "tokenizer.json"), "mismatched vocabulary sizes")
    assert str(n) in message and str(n - 10) in message


# --- weights -----------------------------------------------------------------------------------


def test_truncated_safetensors_is_refused(tmp_path, bert_ckpt):
    """A model.safetensors cut short is refused, naming it, as not a valid safetensors file."""
    ckpt = copy_of(bert_ckpt, tmp_path)
    weights = ckpt / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    assert_refused(ckpt, tmp_path, str(weights), "not a valid safetensors file")


def test_pickle_in_place_of_safetensors_is_refused_unread(tmp_path, bert_ckpt):
    """A pickle (torch.save) written as model.safetensors is refused and never unpickled: the trap
    object in it, which would create a folder when unpickled, does not fire."""
    ckpt = copy_of(bert_ckpt, tmp_path)
    weights = ckpt / "model.safetensors"
    sentinel = tmp_path / "unpickled"
    torch.save({"state_dict": {"bert.embeddings.word_embeddings.weight": torch.zeros(2, 2)}, "trap": Trap(sentinel)},
               weights)
    assert_refused(ckpt, tmp_path, str(weights), "not a valid safetensors file")
    assert not sentinel.exists()


def test_only_pytorch_model_bin_is_refused_unread(tmp_path, bert_ckpt):
    """Only pickle weights (pytorch_model.bin): refused, naming model.safetensors as missing and the
    pickle found, without loading it."""
    ckpt = copy_of(bert_ckpt, tmp_path)
    sentinel = tmp_path / "unpickled"
    (ckpt / "model.safetensors").unlink()
    torch.save({"trap": Trap(sentinel)}, ckpt / "pytorch_model.bin")
    assert_refused(ckpt, tmp_path, str(ckpt / "model.safetensors"), "missing", "pytorch_model.bin")
    assert not sentinel.exists()


# --- zip archives ------------------------------------------------------------------------------


def zip_folder(folder: Path, archive: Path, prefix: str) -> Path:
    with zipfile.ZipFile(archive, "w") as zf:
        for f in sorted(folder.iterdir()):
            zf.write(f, prefix + f.name)
    return archive


@pytest.mark.parametrize("prefix", ["bert-tiny/", ""], ids=["with-folder", "flat"])
def test_zip_imports_exactly_as_the_folder(tmp_path, bert_ckpt, prefix):
    """A .zip of the checkpoint (zipped with or without its folder) imports to the same model,
    config, tokenizer and record as the folder itself."""
    archive = zip_folder(bert_ckpt, tmp_path / "bert-tiny.zip", prefix)
    from_folder = import_checkpoint(bert_ckpt, tmp_path / "from-folder")
    from_zip = import_checkpoint(archive, tmp_path / "from-zip")
    for record in (from_folder, from_zip):
        record.pop("checkpoint", None)  # where it came from may be recorded; everything else is equal
    assert from_zip == from_folder and from_zip["family"] == "bert"
    published = [json.loads((tmp_path / d / "published.json").read_text()) for d in ("from-folder", "from-zip")]
    assert [{k: v for k, v in r.items() if k != "checkpoint"} for r in published] == [from_folder, from_zip]
    a, config_a = load_pretrained(tmp_path / "from-folder")
    b, config_b = load_pretrained(tmp_path / "from-zip")
    assert config_a == config_b
    sa, sb = a.state_dict(), b.state_dict()
    assert sorted(sa) == sorted(sb) and all(torch.equal(sa[k], sb[k]) for k in sa)
    for name in ("tokenizer.json", "config.json"):
        assert (tmp_path / "from-folder" / name).read_bytes() == (tmp_path / "from-zip" / name).read_bytes()


def test_zip_member_escaping_with_dotdot_is_refused(tmp_path, bert_ckpt):
    """A zip holding a member '../evil.txt' is refused, naming the archive and the member; nothing
    is extracted anywhere."""
    archive = zip_folder(bert_ckpt, tmp_path / "bert-tiny.zip", "")
    with zipfile.ZipFile(archive, "a") as zf:
        zf.writestr("../evil.txt", "outside the archive")
    assert_refused(archive, tmp_path, str(archive), "'../evil.txt'", "escapes")
    assert not (tmp_path / "evil.txt").exists()
