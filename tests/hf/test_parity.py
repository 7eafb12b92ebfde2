"""Parity of bertvsgpt.hf with Hugging Face transformers, each way, for BERT and GPT.

Tiny random models (2 layers, d_model 32, 2 heads, d_ff 48, 64 positions) with every bias and
LayerNorm pushed away from its 0/1 initialisation, so a swapped, transposed or dropped tensor
changes the outputs. transformers (a dev dependency) is the reference implementation.
"""

from __future__ import annotations

import json
import os

import pytest
import torch

transformers = pytest.importorskip("transformers")

from bertvsgpt.hf import ConversionError, export_model, import_checkpoint  # noqa: E402
from bertvsgpt.models import (  # noqa: E402
    BertForPreTraining,
    GPTForPreTraining,
    ModelConfig,
    gather_positions,
    load_pretrained,
    save_pretrained,
)
from bertvsgpt.tokenization.special import (  # noqa: E402
    BERT_CLS,
    BERT_MASK,
    BERT_PAD,
    BERT_SEP,
    BERT_UNK,
    GPT_DELIM,
    GPT_EOT,
    GPT_EXTRACT,
    GPT_PAD,
    GPT_START,
)
from bertvsgpt.tokenization.train import train_byte_level_bpe, train_wordpiece  # noqa: E402

ATOL = 1e-5

# Varied text: punctuation, digits, accents, apostrophes, a URL-ish token, mixed case.
CORPUS = [
    "The farmer builds a bridge over the river.",
    "A senator questions the new law before the vote!",
    "Prices rose 12.5% in 2023, then fell by 7 points.",
    "Café owners in Zürich serve crème brûlée on Sundays.",
    "Élodie's naïve façade fooled nobody; she laughed.",
    "Is it 3:45 p.m. already? Yes -- it's late.",
    "Rivers cross the quiet town in the spring (mostly).",
    "Email support@example.com or call +1 (555) 010-9999.",
    "The committee remembers its history with great care.",
    "Señor Muñoz paid €40 for 3 tickets & a programme.",
    "Our nation defends the northern road, after the war.",
    "A young writer studies the harvest for many years...",
]
# Encoded but never trained on: unseen words, characters no WordPiece piece covers (-> [UNK]).
PROBES = CORPUS + [
    "Ωμέγα and 北京 are unseen; so is the emoji 🙂.",
    "  leading and trailing spaces  ",
    "UPPER lower MiXeD 0123456789",
]


@pytest.fixture(scope="module")
def tokenizers():
    """The tiny trained tokenizers (WordPiece for BERT, byte-level BPE for GPT)."""
    return {
        "bert": train_wordpiece(CORPUS * 2, vocab_size=220, min_frequency=1),
        "gpt": train_byte_level_bpe(CORPUS * 2, vocab_size=320, min_frequency=1),
    }


# --- helpers ------------------------------------------------------------------------------------


def our_config(arch: str, tokenizer, norm: str | None = None) -> ModelConfig:
    pad = tokenizer.token_to_id(BERT_PAD if arch == "bert" else GPT_PAD)
    return ModelConfig(
        vocab_size=tokenizer.get_vocab_size(),
        n_layer=2,
        n_head=2,
        d_model=32,
        d_ff=48,
        max_seq_len=64,
        dropout=0.1,  # eval mode throughout; a non-zero value checks that it is carried over
        type_vocab_size=2 if arch == "bert" else 0,
        causal=arch == "gpt",
        layer_norm_eps=1e-12 if arch == "bert" else 1e-5,
        pad_token_id=pad,
        norm=norm or ("post" if arch == "bert" else "pre"),
    )


@torch.no_grad()
def perturb(model: torch.nn.Module, seed: int) -> None:
    """Move every 1-D parameter (biases, LayerNorm weights and biases) away from its 0/1 init."""
    g = torch.Generator().manual_seed(seed)
    for _, p in model.named_parameters():
        if p.dim() == 1:
            p.add_(0.3 * torch.randn(p.shape, generator=g))


def save_ours(model_dir, arch: str, tokenizer, seed: int = 0, norm: str | None = None):
    """A random model of ours in the layout export_model reads (weights, config, tokenizer)."""
    config = our_config(arch, tokenizer, norm)
    torch.manual_seed(seed)
    model = BertForPreTraining(config) if arch == "bert" else GPTForPreTraining(config)
    perturb(model, seed + 1)
    save_pretrained(model, config, model_dir)
    tokenizer.save(str(model_dir / "tokenizer.json"))
    return model.eval(), config


def hf_tokenizer(arch: str, tokenizer):
    """Our tokenizer wrapped as a transformers fast tokenizer, as a published checkpoint ships it."""
    if arch == "bert":
        specials = dict(unk_token=BERT_UNK, pad_token=BERT_PAD, cls_token=BERT_CLS, sep_token=BERT_SEP, mask_token=BERT_MASK)
    else:
        specials = dict(bos_token=GPT_EOT, eos_token=GPT_EOT, pad_token=GPT_PAD,
                        additional_special_tokens=[GPT_START, GPT_DELIM, GPT_EXTRACT])
    return transformers.PreTrainedTokenizerFast(tokenizer_object=tokenizer, **specials)


def hf_bert_config(tokenizer) -> "transformers.BertConfig":
    return transformers.BertConfig(
        vocab_size=tokenizer.get_vocab_size(), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=48, max_position_embeddings=64, type_vocab_size=2, hidden_act="gelu",
        layer_norm_eps=1e-12, pad_token_id=tokenizer.token_to_id(BERT_PAD),
    )


def hf_gpt2_config(tokenizer) -> "transformers.GPT2Config":
    eot = tokenizer.token_to_id(GPT_EOT)
    return transformers.GPT2Config(
        vocab_size=tokenizer.get_vocab_size(), n_positions=64, n_embd=32, n_layer=2, n_head=2, n_inner=48,
        activation_function="gelu", layer_norm_epsilon=1e-5, bos_token_id=eot, eos_token_id=eot,
        pad_token_id=tokenizer.token_to_id(GPT_PAD),
    )


def save_hf(model, ckpt_dir, arch: str, tokenizer, seed: int) -> None:
    """Perturb a transformers model and save it with its tokenizer (safetensors)."""
    perturb(model, seed)
    model.save_pretrained(ckpt_dir)
    hf_tokenizer(arch, tokenizer).save_pretrained(ckpt_dir)
    assert (ckpt_dir / "model.safetensors").is_file() and (ckpt_dir / "tokenizer.json").is_file()


def bert_batch(tokenizer):
    """Right-padded sentence pairs (segments A and B) with masked positions and NSP labels.

    Rows have different lengths and different numbers of predictions (padding slots carry -100).
    """
    pairs = [(CORPUS[0], CORPUS[2]), (CORPUS[3], None), (CORPUS[5], CORPUS[9]), ("Yes.", "No!")]
    encs = [tokenizer.encode(a) if b is None else tokenizer.encode(a, b) for a, b in pairs]
    T = max(len(e.ids) for e in encs)
    pad, mask_id = tokenizer.token_to_id(BERT_PAD), tokenizer.token_to_id(BERT_MASK)
    B = len(encs)
    input_ids = torch.full((B, T), pad, dtype=torch.long)
    token_type_ids = torch.zeros((B, T), dtype=torch.long)
    attention_mask = torch.zeros((B, T), dtype=torch.long)
    for b, e in enumerate(encs):
        n = len(e.ids)
        input_ids[b, :n] = torch.tensor(e.ids)
        token_type_ids[b, :n] = torch.tensor(e.type_ids)
        attention_mask[b, :n] = 1
    assert (attention_mask == 0).any() and (token_type_ids == 1).any()
    g = torch.Generator().manual_seed(7)
    P = 4
    masked_positions = torch.zeros((B, P), dtype=torch.long)
    masked_labels = torch.full((B, P), -100, dtype=torch.long)
    hf_labels = torch.full((B, T), -100, dtype=torch.long)
    for b, e in enumerate(encs):
        n = len(e.ids)
        k = min(P, n - 2, b + 1)  # 1..4 predictions per row, never [CLS] or the final [SEP]
        pos = (torch.randperm(n - 2, generator=g)[:k] + 1).sort().values
        masked_positions[b, :k] = pos
        masked_labels[b, :k] = input_ids[b, pos]
        hf_labels[b, pos] = input_ids[b, pos]
        input_ids[b, pos[: max(1, k - 1)]] = mask_id  # most predicted tokens are [MASK]ed, one kept
    nsp_labels = torch.tensor([0, 1, 1, 0])
    return dict(input_ids=input_ids, token_type_ids=token_type_ids, attention_mask=attention_mask,
                masked_positions=masked_positions, masked_labels=masked_labels, hf_labels=hf_labels,
                nsp_labels=nsp_labels)


def gpt_batch(tokenizer):
    """Right-padded documents (each ending in the end-of-text token), ids, mask and LM labels."""
    eot, pad = tokenizer.token_to_id(GPT_EOT), tokenizer.token_to_id(GPT_PAD)
    rows = [tokenizer.encode(t).ids + [eot] for t in (CORPUS[3], CORPUS[7], "Hi.", CORPUS[4])]
    T = max(map(len, rows))
    input_ids = torch.full((len(rows), T), pad, dtype=torch.long)
    attention_mask = torch.zeros((len(rows), T), dtype=torch.long)
    for b, r in enumerate(rows):
        input_ids[b, : len(r)] = torch.tensor(r)
        attention_mask[b, : len(r)] = 1
    assert (attention_mask == 0).any()
    # transformers shifts labels inside the model; ours takes targets already shifted by one.
    hf_labels = input_ids.masked_fill(attention_mask == 0, -100)
    targets = torch.full_like(input_ids, -100)
    targets[:, :-1] = hf_labels[:, 1:]
    return dict(input_ids=input_ids, attention_mask=attention_mask, hf_labels=hf_labels, targets=targets)


def assert_close_where(ours: torch.Tensor, theirs: torch.Tensor, keep: torch.Tensor) -> None:
    """Equal within ATOL at the positions ``keep`` (padding positions are meaningless in ours)."""
    assert ours.shape == theirs.shape
    keep = keep.bool()
    torch.testing.assert_close(ours[keep], theirs[keep], atol=ATOL, rtol=0)


@torch.no_grad()
def assert_bert_parity(ours: BertForPreTraining, hf, batch) -> None:
    """Hidden states, pooler, MLM and NSP logits and the pre-training loss agree."""
    ids, types, mask = batch["input_ids"], batch["token_type_ids"], batch["attention_mask"]
    hidden = ours.bert(ids, types, mask)
    out = hf(input_ids=ids, token_type_ids=types, attention_mask=mask, labels=batch["hf_labels"],
             next_sentence_label=batch["nsp_labels"], output_hidden_states=True)
    assert_close_where(hidden, out.hidden_states[-1], mask)
    # MLM logits at every real position (ours gathers first; gather them all)
    positions = torch.arange(ids.size(1)).expand_as(ids)
    assert_close_where(ours.cls_mlm(gather_positions(hidden, positions)), out.prediction_logits, mask)
    torch.testing.assert_close(ours.cls_nsp(ours.pooler(hidden)), out.seq_relationship_logits, atol=ATOL, rtol=0)
    mine = ours(ids, types, mask, batch["masked_positions"], batch["masked_labels"], batch["nsp_labels"])
    torch.testing.assert_close(mine["loss"], out.loss, atol=ATOL, rtol=0)
    assert mine["nsp_loss"] > 0.05 and mine["mlm_loss"] > 0.05  # neither part trivially zero


@torch.no_grad()
def assert_gpt_parity(ours: GPTForPreTraining, hf, batch) -> None:
    """Logits at every real position and the LM loss on the padded batch agree."""
    ids, mask = batch["input_ids"], batch["attention_mask"]
    logits = ours(ids, attention_mask=mask)["logits"]
    out = hf(input_ids=ids, attention_mask=mask, labels=batch["hf_labels"])
    assert_close_where(logits, out.logits, mask)
    loss = ours(ids, batch["targets"], attention_mask=mask)["loss"]
    torch.testing.assert_close(loss, out.loss, atol=ATOL, rtol=0)


def state_dicts_equal(a: dict, b: dict) -> None:
    assert sorted(a) == sorted(b)
    for k in a:
        assert a[k].dtype == b[k].dtype and torch.equal(a[k], b[k]), k


# --- export: ours -> transformers ----------------------------------------------------------------


def load_exported(out_dir, auto):
    model, info = auto.from_pretrained(out_dir, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"], info
    assert not info.get("mismatched_keys") and not info.get("error_msgs"), info
    return model.eval()


def test_export_bert_matches_transformers_bert_for_pretraining(tmp_path, tokenizers):
    """Our post-LN BERT exported loads into BertForPreTraining with every tensor used and computes
    the same hidden states, heads and MLM+NSP loss on a padded two-segment batch."""
    ours, _ = save_ours(tmp_path / "bert", "bert", tokenizers["bert"])
    summary = export_model(tmp_path / "bert", tmp_path / "hf")
    assert summary["class"] == "BertForPreTraining"
    hf = load_exported(tmp_path / "hf", transformers.AutoModelForPreTraining)
    assert type(hf).__name__ == "BertForPreTraining"
    # the tie survives: transformers' decoder is its word embedding table
    assert hf.cls.predictions.decoder.weight.data_ptr() == hf.bert.embeddings.word_embeddings.weight.data_ptr()
    assert_bert_parity(ours, hf, bert_batch(tokenizers["bert"]))


def test_export_gpt_matches_transformers_gpt2_lm_head_model(tmp_path, tokenizers):
    """Our pre-LN GPT exported loads into GPT2LMHeadModel (exact GELU) with every tensor used and
    computes the same logits and LM loss on a right-padded batch."""
    ours, _ = save_ours(tmp_path / "gpt", "gpt", tokenizers["gpt"])
    summary = export_model(tmp_path / "gpt", tmp_path / "hf")
    assert summary["class"] == "GPT2LMHeadModel"
    hf = load_exported(tmp_path / "hf", transformers.AutoModelForCausalLM)
    assert type(hf).__name__ == "GPT2LMHeadModel"
    assert hf.config.activation_function == "gelu"
    assert hf.lm_head.weight.data_ptr() == hf.transformer.wte.weight.data_ptr()
    assert_gpt_parity(ours, hf, gpt_batch(tokenizers["gpt"]))


# --- import: transformers -> ours ----------------------------------------------------------------


def test_import_bert_for_pretraining_matches_transformers(tmp_path, tokenizers):
    """A random transformers BertForPreTraining imports whole (no part initialised) and our model
    computes what it computes."""
    tok = tokenizers["bert"]
    torch.manual_seed(3)
    hf = transformers.BertForPreTraining(hf_bert_config(tok)).eval()
    save_hf(hf, tmp_path / "ckpt", "bert", tok, seed=4)
    record = import_checkpoint(tmp_path / "ckpt", tmp_path / "ours")
    assert record["family"] == "bert" and record["initialised"] == [] and record["added_tokens"] == []
    assert json.loads((tmp_path / "ours" / "published.json").read_text())["initialised"] == []
    ours, config = load_pretrained(tmp_path / "ours")
    assert config.norm == "post" and config.vocab_size == tok.get_vocab_size()
    assert_bert_parity(ours, hf, bert_batch(tok))


def test_import_bare_bert_model_initialises_heads_and_keeps_pooler(tmp_path, tokenizers):
    """A bare BertModel (a sentence encoder: no MLM/NSP heads) imports; published.json lists the two
    initialised heads, and the encoder and pooler outputs equal transformers'."""
    tok = tokenizers["bert"]
    torch.manual_seed(5)
    hf = transformers.BertModel(hf_bert_config(tok)).eval()
    save_hf(hf, tmp_path / "ckpt", "bert", tok, seed=6)
    record = import_checkpoint(tmp_path / "ckpt", tmp_path / "ours")
    published = json.loads((tmp_path / "ours" / "published.json").read_text())
    assert sorted(published["initialised"]) == sorted(record["initialised"]) == ["masked LM head", "next-sentence head"]
    ours, _ = load_pretrained(tmp_path / "ours")
    batch = bert_batch(tok)
    ids, types, mask = batch["input_ids"], batch["token_type_ids"], batch["attention_mask"]
    with torch.no_grad():
        hidden = ours.bert(ids, types, mask)
        out = hf(input_ids=ids, token_type_ids=types, attention_mask=mask)
        assert_close_where(hidden, out.last_hidden_state, mask)
        torch.testing.assert_close(ours.pooler(hidden), out.pooler_output, atol=ATOL, rtol=0)


def test_import_gpt2_lm_head_model_matches_transformers(tmp_path, tokenizers):
    """A random GPT2LMHeadModel (activation 'gelu') imports; its tokenizer already has every GPT
    special token, so no row is added, and our model computes the same logits and loss."""
    tok = tokenizers["gpt"]
    torch.manual_seed(8)
    hf = transformers.GPT2LMHeadModel(hf_gpt2_config(tok)).eval()
    save_hf(hf, tmp_path / "ckpt", "gpt", tok, seed=9)
    record = import_checkpoint(tmp_path / "ckpt", tmp_path / "ours")
    assert record["family"] == "gpt" and record["added_tokens"] == []
    ours, config = load_pretrained(tmp_path / "ours")
    assert config.norm == "pre" and config.vocab_size == tok.get_vocab_size()
    assert config.pad_token_id == tok.token_to_id(GPT_PAD)
    assert_gpt_parity(ours, hf, gpt_batch(tok))


def test_import_gpt2_with_gelu_new_matches_transformers_and_exports_back(tmp_path, tokenizers):
    """Every published GPT-2 uses the tanh GELU ('gelu_new'): it imports as activation gelu_tanh, computes
    transformers' logits and loss, and exports back to a GPT2LMHeadModel with 'gelu_new'."""
    tok = tokenizers["gpt"]
    config = hf_gpt2_config(tok)
    config.activation_function = "gelu_new"
    torch.manual_seed(12)
    hf = transformers.GPT2LMHeadModel(config).eval()
    save_hf(hf, tmp_path / "ckpt", "gpt", tok, seed=13)
    import_checkpoint(tmp_path / "ckpt", tmp_path / "ours")
    ours, ours_config = load_pretrained(tmp_path / "ours")
    assert ours_config.activation == "gelu_tanh" and ours_config.norm == "pre"
    assert_gpt_parity(ours, hf, gpt_batch(tok))
    export_model(tmp_path / "ours", tmp_path / "hf")
    assert json.loads((tmp_path / "hf" / "config.json").read_text())["activation_function"] == "gelu_new"
    assert_gpt_parity(ours, load_exported(tmp_path / "hf", transformers.AutoModelForCausalLM), gpt_batch(tok))


def test_import_openai_gpt_matches_transformers_and_exports_back(tmp_path, tokenizers):
    """GPT-1 (OpenAIGPTLMHeadModel: post-LN blocks, no LayerNorm on the embeddings, no final LayerNorm, the
    tanh GELU its code calls 'gelu') imports with embedding_norm false and exports back to its own class."""
    tok = tokenizers["gpt"]
    config = transformers.OpenAIGPTConfig(vocab_size=tok.get_vocab_size(), n_positions=64, n_embd=32, n_layer=2,
                                          n_head=2, afn="gelu", layer_norm_epsilon=1e-5)
    torch.manual_seed(14)
    hf = transformers.OpenAIGPTLMHeadModel(config).eval()
    save_hf(hf, tmp_path / "ckpt", "gpt", tok, seed=15)
    import_checkpoint(tmp_path / "ckpt", tmp_path / "ours")
    ours, ours_config = load_pretrained(tmp_path / "ours")
    assert (ours_config.norm, ours_config.embedding_norm, ours_config.activation) == ("post", False, "gelu_tanh")
    assert not any("LayerNorm" in name or "ln_f" in name for name, _ in ours.transformer.named_parameters()
                   if name.startswith(("embeddings", "ln_f")))
    assert_gpt_parity(ours, hf, gpt_batch(tok))
    export_model(tmp_path / "ours", tmp_path / "hf")
    exported = load_exported(tmp_path / "hf", transformers.AutoModelForCausalLM)
    assert type(exported).__name__ == "OpenAIGPTLMHeadModel"
    assert_gpt_parity(ours, exported, gpt_batch(tok))


# --- export -> import round trip ------------------------------------------------------------------


@pytest.mark.parametrize("arch", ["bert", "gpt"])
def test_export_then_import_is_bitwise_round_trip(tmp_path, tokenizers, arch):
    """ours -> export -> import gives back every tensor bit for bit, the same config and a
    tokenizer that encodes identically (GPT: no special token added, no embedding row grown)."""
    tok = tokenizers[arch]
    ours, config = save_ours(tmp_path / "ours", arch, tok, seed=11)
    export_model(tmp_path / "ours", tmp_path / "hf")
    record = import_checkpoint(tmp_path / "hf", tmp_path / "back")
    assert record["initialised"] == [] and record["added_tokens"] == []
    back, back_config = load_pretrained(tmp_path / "back")
    assert back_config.to_dict() == config.to_dict()
    state_dicts_equal(ours.state_dict(), back.state_dict())
    from tokenizers import Tokenizer

    back_tok = Tokenizer.from_file(str(tmp_path / "back" / "tokenizer.json"))
    assert back_tok.get_vocab(with_added_tokens=True) == tok.get_vocab(with_added_tokens=True)
    for text in PROBES:
        assert back_tok.encode(text).ids == tok.encode(text).ids, text


# --- the exported tokenizer ----------------------------------------------------------------------


def test_exported_bert_tokenizer_encodes_like_ours(tmp_path, tokenizers):
    """AutoTokenizer on the export gives our ids, type ids and special tokens, single and paired."""
    tok = tokenizers["bert"]
    save_ours(tmp_path / "bert", "bert", tok)
    export_model(tmp_path / "bert", tmp_path / "hf")
    hf_tok = transformers.AutoTokenizer.from_pretrained(tmp_path / "hf")
    for name, token in (("cls", BERT_CLS), ("sep", BERT_SEP), ("pad", BERT_PAD), ("mask", BERT_MASK), ("unk", BERT_UNK)):
        assert getattr(hf_tok, f"{name}_token") == token
        assert getattr(hf_tok, f"{name}_token_id") == tok.token_to_id(token)
    assert hf_tok.model_max_length == 64
    for text in PROBES:
        enc, got = tok.encode(text), hf_tok(text)
        assert got["input_ids"] == enc.ids, text
        assert got["token_type_ids"] == enc.type_ids, text
    for a, b in zip(PROBES[::2], PROBES[1::2]):
        enc, got = tok.encode(a, b), hf_tok(a, b)
        assert got["input_ids"] == enc.ids and got["token_type_ids"] == enc.type_ids, (a, b)
        assert 1 in got["token_type_ids"]
    assert tok.encode(PROBES[-3]).tokens.count(BERT_UNK) >= 1  # the probe really exercises [UNK]


def test_exported_gpt_tokenizer_encodes_like_ours(tmp_path, tokenizers):
    """AutoTokenizer on the export gives our byte-level BPE ids and special tokens, no type ids."""
    tok = tokenizers["gpt"]
    save_ours(tmp_path / "gpt", "gpt", tok)
    export_model(tmp_path / "gpt", tmp_path / "hf")
    hf_tok = transformers.AutoTokenizer.from_pretrained(tmp_path / "hf")
    assert hf_tok.pad_token == GPT_PAD and hf_tok.pad_token_id == tok.token_to_id(GPT_PAD)
    assert hf_tok.eos_token == GPT_EOT and hf_tok.eos_token_id == tok.token_to_id(GPT_EOT)
    for token in (GPT_START, GPT_DELIM, GPT_EXTRACT):
        assert hf_tok.convert_tokens_to_ids(token) == tok.token_to_id(token)
    for text in PROBES + [f"{GPT_START} a {GPT_DELIM} b {GPT_EXTRACT}{GPT_EOT}"]:
        got = hf_tok(text)
        assert got["input_ids"] == tok.encode(text).ids, text
        assert "token_type_ids" not in got
        assert hf_tok.decode(got["input_ids"]) == tok.decode(tok.encode(text).ids, skip_special_tokens=False)


# --- refusals -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "arch, norm, nearest",
    [("gpt", "post", "OpenAIGPTLMHeadModel"), ("bert", "pre", "BertForPreTraining")],
)
def test_export_refuses_models_without_exact_transformers_class(tmp_path, tokenizers, arch, norm, nearest):
    """A post-LN GPT and a pre-LN BERT have no exact transformers class: ConversionError, one line
    naming the nearest class, and nothing written."""
    save_ours(tmp_path / "ours", arch, tokenizers[arch], norm=norm)
    target = tmp_path / "exports" / arch
    with pytest.raises(ConversionError) as excinfo:
        export_model(tmp_path / "ours", target)
    message = str(excinfo.value)
    assert "\n" not in message and nearest in message, message
    assert not target.exists() and not target.parent.exists()
    assert sorted(os.listdir(tmp_path)) == ["ours"]
