"""Sequence classifier heads: BERT reads the pooled [CLS] state, GPT the extract (last real) token."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from bertvsgpt.models import BertForPreTraining, GPTForPreTraining, ModelConfig
from bertvsgpt.tasks.heads import SequenceClassifier

from .test_classification import tiny_config as classification_tiny_config


def tiny_config(arch: str) -> ModelConfig:
    """The fine-tuning tests' tiny model, with dropout on (the heads' dropout is part of what is tested)."""
    return dataclasses.replace(classification_tiny_config(arch, 50), max_seq_len=16, dropout=0.1)


def test_gpt_reads_the_extract_position():
    torch.manual_seed(0)
    clf = SequenceClassifier.from_config(tiny_config("gpt"), "gpt", n_labels=3).eval()
    ids = torch.tensor([[2, 10, 11, 12, 4, 0, 0, 0], [2, 13, 14, 15, 16, 17, 18, 4]])
    mask = (torch.arange(8)[None] < torch.tensor([[5], [8]])).long()
    base = clf(ids, None, mask)
    assert base.shape == (2, 3)

    after = ids.clone()
    after[0, 5:] = torch.tensor([30, 31, 32])  # tokens after the extract token, under padding
    assert torch.allclose(clf(after, None, mask), base, atol=1e-6)

    at = ids.clone()
    at[0, 4] = 20  # the extract position itself
    out = clf(at, None, mask)
    assert not torch.allclose(out[0], base[0], atol=1e-4)
    assert torch.allclose(out[1], base[1], atol=1e-6)

    # the same row unpadded gives the same logits as padded
    alone = clf(ids[:1, :5], None, torch.ones(1, 5, dtype=torch.long))
    assert torch.allclose(alone, base[:1], atol=1e-5)


def test_bert_reads_the_pooled_cls_and_ignores_padding():
    torch.manual_seed(0)
    clf = SequenceClassifier.from_config(tiny_config("bert"), "bert", n_labels=2).eval()
    ids = torch.tensor([[2, 10, 11, 3, 0, 0]])
    types = torch.zeros_like(ids)
    mask = torch.tensor([[1, 1, 1, 1, 0, 0]])
    base = clf(ids, types, mask)
    changed = ids.clone()
    changed[0, 4:] = torch.tensor([30, 31])  # padding content must not matter
    assert torch.allclose(clf(changed, types, mask), base, atol=1e-6)
    # ... which it would, well beyond that tolerance, if the mask were not applied (the check above has teeth)
    full = torch.ones_like(mask)
    assert (clf(changed, types, full) - clf(ids, types, full)).abs().max() > 1e-5
    # by hand: the backbone's state at position 0 ([CLS]), BERT's pooler tanh(W_p h + b_p), then W_c . + b_c
    with torch.no_grad():
        h_cls = clf.backbone(ids, types, mask)[:, 0]
        pooled = torch.tanh(h_cls @ clf.pooler.dense.weight.T + clf.pooler.dense.bias)
        expected = pooled @ clf.classifier.weight.T + clf.classifier.bias
    assert base.shape == (1, 2)
    assert torch.allclose(base, expected, atol=1e-6)


@pytest.mark.parametrize("arch", ["bert", "gpt"])
def test_from_pretrained_shares_backbone_weights(arch):
    cfg = tiny_config(arch)
    pre = BertForPreTraining(cfg) if arch == "bert" else GPTForPreTraining(cfg)
    clf = SequenceClassifier.from_pretrained(pre, arch, n_labels=4, dropout=0.0)
    backbone = pre.bert if arch == "bert" else pre.transformer
    assert clf.backbone is backbone
    if arch == "bert":
        assert clf.pooler is pre.pooler
    names = [n for n, _ in clf.named_parameters()]
    assert not any(n.startswith(("cls_mlm", "cls_nsp", "lm_head")) for n in names)
    out = clf(torch.randint(5, 50, (3, 7)))
    assert out.shape == (3, 4)


def test_wrong_model_for_arch():
    with pytest.raises(TypeError):
        SequenceClassifier.from_pretrained(GPTForPreTraining(tiny_config("gpt")), "bert", 2)
    with pytest.raises(ValueError):
        SequenceClassifier.from_config(tiny_config("gpt"), "t5", 2)


def test_fine_tuning_dropout_replaces_the_pre_training_one():
    from bertvsgpt.models import BertForPreTraining, ModelConfig
    from bertvsgpt.tasks.backbone import set_dropout

    model = BertForPreTraining(ModelConfig(vocab_size=50, n_layer=1, n_head=2, d_model=8, d_ff=16, max_seq_len=16, dropout=0.0, type_vocab_size=2))
    set_dropout(model, 0.1)
    probs = [m.p for m in model.modules() if isinstance(m, torch.nn.Dropout)]
    attention = [m.dropout for m in model.modules() if isinstance(getattr(m, "dropout", None), float)]
    assert probs and attention and set(probs) == {0.1} and set(attention) == {0.1}


def test_mean_pooling_averages_the_real_tokens_and_drops_berts_pooler():
    from bertvsgpt.models import BertForPreTraining, ModelConfig
    from bertvsgpt.tasks.heads import SequenceClassifier

    cfg = ModelConfig(vocab_size=50, n_layer=1, n_head=2, d_model=8, d_ff=16, max_seq_len=16, dropout=0.0, type_vocab_size=2)
    model = SequenceClassifier.from_pretrained(BertForPreTraining(cfg), "bert", 3, 0.0, pooling="mean")
    assert model.pooler is None
    hidden = torch.arange(2 * 4 * 8, dtype=torch.float32).reshape(2, 4, 8)
    mask = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1]])
    pooled = model.pool(hidden, mask)
    assert torch.allclose(pooled[0], hidden[0, :2].mean(0)) and torch.allclose(pooled[1], hidden[1].mean(0))
    with pytest.raises(ValueError, match="pooling='max'"):
        SequenceClassifier.from_pretrained(BertForPreTraining(cfg), "bert", 3, 0.0, pooling="max")
