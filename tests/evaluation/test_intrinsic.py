"""Intrinsic metrics of tiny saved BERT/GPT models on the held-out token store."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_model

from bertvsgpt.config import load_params
from bertvsgpt.evaluation.intrinsic import at_evaluation_masking, intrinsic_metrics
from bertvsgpt.models import BertForPreTraining, GPTForPreTraining, ModelConfig, save_pretrained
from bertvsgpt.pretraining.datasets import build_dataset
from bertvsgpt.tokenization.token_store import TokenStore
from bertvsgpt.tokenization.build import build_tokenizer
from bertvsgpt.tokenization.special import BERT_PAD, GPT_EOT, GPT_PAD
from bertvsgpt.tokenization.train import load_tokenizer
from tests.e2e_data import write_prepared_corpus

PARAMS_YAML = Path(__file__).resolve().parents[2] / "params.yaml"
SEQ_LEN = 32
TINY = [
    "model.n_layer=1",
    "model.d_model=32",
    "model.n_head=2",
    "model.d_ff=64",
    f"model.max_seq_len={SEQ_LEN}",
    f"pretrain.seq_len={SEQ_LEN}",
    "pretrain.batch_size=4",
    "pretrain.max_tokens=1024",
    "tokenizer.vocab_size=300",
    "tokenizer.min_frequency=1",
    "evaluate.batch_size=3",  # several batches, the last one partial
]
def params_with(*extra: str):
    """params.yaml at the tiny size, BERT with both of the paper's objectives unless ``extra`` sets ``pretrain.bert.nsp``."""
    nsp = [] if any(e.startswith("pretrain.bert.nsp=") for e in extra) else ["pretrain.bert.nsp=true"]
    return load_params(PARAMS_YAML, [*TINY, *nsp, *extra])


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """{arch: (model_dir, tokenizer_dir)} for randomly initialised tiny models."""
    root = tmp_path_factory.mktemp("intrinsic")
    corpus = write_prepared_corpus(root / "corpus.parquet", n_docs=24, heldout_every=3)
    params = params_with()
    out = {}
    for i, arch in enumerate(("bert", "gpt")):
        tok_dir = root / f"tok-{arch}"
        build_tokenizer(arch, params, corpus, tok_dir)
        tok = load_tokenizer(tok_dir)
        torch.manual_seed(i)
        cfg = ModelConfig(
            vocab_size=tok.get_vocab_size(), n_layer=1, n_head=2, d_model=32, d_ff=64, max_seq_len=SEQ_LEN,
            dropout=0.1,  # must be off at evaluation time
            type_vocab_size=2 if arch == "bert" else 0, causal=arch == "gpt",
            pad_token_id=tok.token_to_id(BERT_PAD if arch == "bert" else GPT_PAD),
        )
        model = (BertForPreTraining if arch == "bert" else GPTForPreTraining)(cfg)
        save_pretrained(model, cfg, root / f"model-{arch}")
        out[arch] = (root / f"model-{arch}", tok_dir)
    return out


def packed_windows(store: TokenStore, eot: int, seq_len: int) -> list[tuple[list[int], list[int]]]:
    """By hand: doc_0 EOT doc_1 EOT ..., cut into (input, next-token target) windows of seq_len."""
    stream: list[int] = []
    for i in range(store.n_docs):
        stream += store.doc_tokens(i).tolist() + [eot]
    n = (len(stream) - 1) // seq_len
    return [(stream[k * seq_len : (k + 1) * seq_len], stream[k * seq_len + 1 : (k + 1) * seq_len + 1]) for k in range(n)]


FLOOR_KEYS = ("unigram_accuracy", "unigram_perplexity", "unigram_cross_entropy", "unigram_entropy", "unigram_top_token_id",
              "accuracy_over_unigram", "cross_entropy_over_unigram_entropy")


def test_held_out_mlm_is_scored_at_the_evaluation_masking_rate_whatever_pre_training_used(saved):
    model_dir, tok_dir = saved["bert"]
    at_15 = intrinsic_metrics(model_dir, tok_dir, params_with("pretrain.bert.masked_lm_prob=0.15"), seed=0)
    at_40 = intrinsic_metrics(model_dir, tok_dir, params_with("pretrain.bert.masked_lm_prob=0.4"), seed=0)
    assert at_15 == at_40
    more = intrinsic_metrics(model_dir, tok_dir, params_with("evaluate.masked_lm_prob=0.4", "evaluate.max_predictions_per_seq=20"), seed=0)
    assert more["masked_tokens"] > at_15["masked_tokens"]


def test_floors_are_the_unigram_models_scores_on_the_same_targets(saved):
    model_dir, tok_dir = saved["gpt"]
    res = intrinsic_metrics(model_dir, tok_dir, params_with(), seed=0)
    assert 0.0 < res["unigram_accuracy"] < 1.0 and res["unigram_perplexity"] > 1.0
    assert res["unigram_entropy"] <= res["unigram_cross_entropy"]
    assert res["accuracy_over_unigram"] == pytest.approx(res["next_token_accuracy"] / res["unigram_accuracy"])
    assert res["cross_entropy_over_unigram_entropy"] == pytest.approx(math.log(res["perplexity"]) / res["unigram_entropy"])


def test_gpt_metrics_in_range_and_deterministic(saved):
    model_dir, tok_dir = saved["gpt"]
    params = params_with()
    first = intrinsic_metrics(model_dir, tok_dir, params, seed=0)
    assert set(first) == {"perplexity", "next_token_accuracy", "predicted_tokens", "cross_entropy", *FLOOR_KEYS}
    assert 0.0 <= first["next_token_accuracy"] <= 1.0
    assert first["perplexity"] > 1.0
    assert first == intrinsic_metrics(model_dir, tok_dir, params, seed=0)


def test_gpt_metrics_match_a_hand_computed_next_token_loss(saved):
    model_dir, tok_dir = saved["gpt"]
    res = intrinsic_metrics(model_dir, tok_dir, params_with(), seed=0)
    tok = load_tokenizer(tok_dir)
    windows = packed_windows(TokenStore(tok_dir / "heldout"), tok.token_to_id(GPT_EOT), SEQ_LEN)
    assert len(windows) >= 2
    assert res["predicted_tokens"] == len(windows) * SEQ_LEN
    model = GPTForPreTraining(ModelConfig.from_dict(json.loads((model_dir / "config.json").read_text())))
    load_model(model, str(model_dir / "model.safetensors"))
    model.eval()
    x = torch.tensor([w[0] for w in windows])
    y = torch.tensor([w[1] for w in windows])
    with torch.no_grad():
        logits = model(input_ids=x)["logits"]
    nll = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1))
    assert res["perplexity"] == pytest.approx(math.exp(float(nll)), rel=1e-4)
    assert res["next_token_accuracy"] == pytest.approx(float((logits.argmax(-1) == y).float().mean()), abs=1e-9)


def test_gpt_max_heldout_tokens_caps_the_windows(saved):
    model_dir, tok_dir = saved["gpt"]
    res = intrinsic_metrics(model_dir, tok_dir, params_with(f"evaluate.max_heldout_tokens={2 * SEQ_LEN + 5}"))
    assert res["predicted_tokens"] == 2 * SEQ_LEN  # floor((2 * 32 + 5) / 32) = 2 windows
    res = intrinsic_metrics(model_dir, tok_dir, params_with("evaluate.max_heldout_tokens=1"))
    assert res["predicted_tokens"] == SEQ_LEN  # at least one window


def test_bert_metrics_in_range_and_deterministic(saved):
    model_dir, tok_dir = saved["bert"]
    params = params_with()
    first = intrinsic_metrics(model_dir, tok_dir, params, seed=0)
    assert set(first) == {"mlm_accuracy", "mlm_perplexity", "masked_tokens", "nsp_accuracy", "cross_entropy", *FLOOR_KEYS}
    assert first["cross_entropy"] == pytest.approx(math.log(first["mlm_perplexity"]))
    assert 0.0 <= first["mlm_accuracy"] <= 1.0
    assert 0.0 <= first["nsp_accuracy"] <= 1.0
    assert first["mlm_perplexity"] > 1.0
    assert first["masked_tokens"] > 0
    assert first == intrinsic_metrics(model_dir, tok_dir, params, seed=0)


def test_bert_metrics_match_a_hand_computed_masked_lm_loss(saved):
    """Every held-out instance in one batch, logits at every position from the model's parts, then the
    cross-entropy, accuracy and NSP accuracy over the masked slots: no batching, no gathering, no model loss."""
    model_dir, tok_dir = saved["bert"]
    params = params_with()
    res = intrinsic_metrics(model_dir, tok_dir, params, seed=0)
    dataset = build_dataset("bert", TokenStore(tok_dir / "heldout"), load_tokenizer(tok_dir), at_evaluation_masking(params), 0)
    items = [dataset[i] for i in range(len(dataset))]
    assert len(items) > params.evaluate.batch_size  # more than one batch in intrinsic_metrics
    batch = {k: torch.stack([it[k] for it in items]) for k in items[0]}
    model = BertForPreTraining(ModelConfig.from_dict(json.loads((model_dir / "config.json").read_text())))
    load_model(model, str(model_dir / "model.safetensors"))
    model.eval()
    with torch.no_grad():
        hidden = model.bert(batch["input_ids"], batch["token_type_ids"], batch["attention_mask"])  # (B, T, d)
        logits = model.cls_mlm(hidden)  # (B, T, V): every position
        nsp_logits = model.cls_nsp(model.pooler(hidden))
    slots = [(b, pos, lab) for b, it in enumerate(items)
             for pos, lab in zip(it["masked_positions"].tolist(), it["masked_labels"].tolist()) if lab != -100]
    rows, cols, labels = (list(c) for c in zip(*slots))
    at_masked = logits[rows, cols]  # (n_masked, V)
    y = torch.tensor(labels)
    ce = float(torch.nn.functional.cross_entropy(at_masked, y))  # mean over all masked tokens of all instances
    assert res["masked_tokens"] == len(labels)
    assert res["cross_entropy"] == pytest.approx(ce, rel=1e-5)
    assert res["mlm_perplexity"] == pytest.approx(math.exp(ce), rel=1e-5)
    assert res["mlm_accuracy"] == pytest.approx(int((at_masked.argmax(-1) == y).sum()) / len(labels), abs=1e-12)
    nsp_right = int((nsp_logits.argmax(-1) == batch["nsp_label"]).sum())
    assert res["nsp_accuracy"] == pytest.approx(nsp_right / len(items), abs=1e-12)


def test_bert_counts_every_masked_token_of_the_evaluated_instances(saved):
    model_dir, tok_dir = saved["bert"]
    params = params_with()
    res = intrinsic_metrics(model_dir, tok_dir, params, seed=0)
    dataset = build_dataset("bert", TokenStore(tok_dir / "heldout"), load_tokenizer(tok_dir), at_evaluation_masking(params), 0)
    n = min(len(dataset), params.evaluate.max_heldout_tokens // SEQ_LEN)
    assert n == len(dataset) >= 2
    expected = sum(int((dataset[i]["masked_labels"] != -100).sum()) for i in range(n))
    assert res["masked_tokens"] == expected
    # NSP accuracy is a fraction of the n instances
    assert res["nsp_accuracy"] * n == pytest.approx(round(res["nsp_accuracy"] * n))


def test_bert_max_heldout_tokens_caps_the_instances(saved):
    model_dir, tok_dir = saved["bert"]
    params = params_with(f"evaluate.max_heldout_tokens={SEQ_LEN}")  # one instance
    res = intrinsic_metrics(model_dir, tok_dir, params)
    assert 1 <= res["masked_tokens"] <= params.evaluate.max_predictions_per_seq
    assert res["nsp_accuracy"] in (0.0, 1.0)


def test_bert_without_nsp_reports_no_nsp_accuracy(saved):
    model_dir, tok_dir = saved["bert"]
    res = intrinsic_metrics(model_dir, tok_dir, params_with("pretrain.bert.nsp=false"))
    assert "nsp_accuracy" not in res
    assert 0.0 <= res["mlm_accuracy"] <= 1.0 and res["mlm_perplexity"] > 1.0


def test_different_seed_masks_different_tokens(saved):
    model_dir, tok_dir = saved["bert"]
    params = params_with()
    a = intrinsic_metrics(model_dir, tok_dir, params, seed=0)
    b = intrinsic_metrics(model_dir, tok_dir, params, seed=1)
    assert (a["masked_tokens"], a["mlm_perplexity"]) != (b["masked_tokens"], b["mlm_perplexity"])


def test_empty_heldout_store_raises(tmp_path, saved):
    corpus = write_prepared_corpus(tmp_path / "c.parquet", n_docs=6, heldout_every=0)  # no held-out document
    build_tokenizer("gpt", params_with(), corpus, tmp_path / "tok")
    assert TokenStore(tmp_path / "tok" / "heldout").n_tokens == 0
    tok = load_tokenizer(tmp_path / "tok")
    cfg = ModelConfig(vocab_size=tok.get_vocab_size(), n_layer=1, n_head=2, d_model=32, d_ff=64, max_seq_len=SEQ_LEN, causal=True)
    save_pretrained(GPTForPreTraining(cfg), cfg, tmp_path / "model")
    with pytest.raises(ValueError, match="held-out"):
        intrinsic_metrics(tmp_path / "model", tmp_path / "tok", params_with())


def test_packed_windows_helper_by_hand():
    """The test's own packing, on a store whose stream is known: [1 2 3 EOT 4 5 EOT]."""
    class Store:
        n_docs = 2

        def doc_tokens(self, i):
            return np.array([[1, 2, 3], [4, 5]][i])

    assert packed_windows(Store(), 9, 3) == [([1, 2, 3], [2, 3, 9]), ([9, 4, 5], [4, 5, 9])]


def test_intrinsic_over_runs_averages_the_runs_and_keeps_each(saved, tmp_path):
    import shutil

    from bertvsgpt.evaluation.intrinsic import intrinsic_over_runs
    from bertvsgpt.models import load_pretrained
    from bertvsgpt.pretraining.runs import write_runs_index

    model_dir, tok_dir = saved["gpt"]
    params = params_with()
    assert intrinsic_over_runs(model_dir, tok_dir, params) == intrinsic_metrics(model_dir, tok_dir, params)  # one run
    runs = tmp_path / "gpt"
    shutil.copytree(model_dir, runs)
    _, cfg = load_pretrained(model_dir)
    torch.manual_seed(99)
    save_pretrained(GPTForPreTraining(cfg), cfg, runs / "runs" / "seed-7")
    write_runs_index(runs, [42, 7])
    res = intrinsic_over_runs(runs, tok_dir, params)
    first, second = intrinsic_metrics(model_dir, tok_dir, params), intrinsic_metrics(runs / "runs" / "seed-7", tok_dir, params)
    assert first["cross_entropy"] != second["cross_entropy"]
    assert res["runs"] == [{"pretrain_seed": 42, **first}, {"pretrain_seed": 7, **second}]
    assert res["cross_entropy"] == pytest.approx((first["cross_entropy"] + second["cross_entropy"]) / 2)
    assert res["next_token_accuracy"] == pytest.approx((first["next_token_accuracy"] + second["next_token_accuracy"]) / 2)
    assert res["unigram_accuracy"] == first["unigram_accuracy"] and res["predicted_tokens"] == first["predicted_tokens"]
