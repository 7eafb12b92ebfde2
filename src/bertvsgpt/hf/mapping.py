"""Our BERT / GPT <-> Hugging Face transformers: configs and parameter names.

Which transformers class holds which of our models exactly (same computation, same parameters):

| ours | transformers | why |
|---|---|---|
| BERT, ``norm: post`` | ``BertForPreTraining`` | the paper's block; our MLM head and NSP head are BERT's |
| GPT, ``norm: pre`` | ``GPT2LMHeadModel`` (``activation_function`` ``gelu``, or ``gelu_new`` for ``activation: gelu_tanh``) | GPT-2's pre-LN block with a final LayerNorm, no LayerNorm on the embeddings |
| GPT, ``norm: post`` | none (nearest ``OpenAIGPTLMHeadModel``) | our post-LN GPT LayerNorms the summed embeddings, GPT-1 does not |
| GPT, ``norm: post``, ``embedding_norm: false``, ``activation: gelu_tanh`` | ``OpenAIGPTLMHeadModel`` | GPT-1 (what an imported ``openai-gpt`` is) |
| BERT, ``norm: pre`` | none (nearest ``BertForPreTraining``) | no BERT class of transformers has pre-LN blocks without an embedding LayerNorm |

Everything else is renaming: our fused ``c_attn`` (queries, keys, values stacked) is BERT's separate
``query``/``key``/``value``, and GPT-2 stores its linear layers as ``Conv1D`` (the weight transposed).
Functions here work on state dicts (name -> tensor) and plain config dicts, so nothing imports
transformers; the parity tests load the results with it.
"""

from __future__ import annotations

import re
from typing import Any, Callable

import torch

from ..models import ModelConfig

Tensor = torch.Tensor
StateDict = dict[str, Tensor]


class ConversionError(ValueError):
    """A checkpoint or model cannot be converted exactly; the message says why (one line)."""


# --- configs ---------------------------------------------------------------------------------------


HF_ACT = {"gelu": "gelu", "gelu_tanh": "gelu_new"}  # our activation -> transformers' name
OUR_ACT = {"gelu": "gelu", "gelu_new": "gelu_tanh", "gelu_pytorch_tanh": "gelu_tanh"}  # and back


def hf_class_of(config: ModelConfig, arch: str) -> str:
    """The transformers class that computes our model exactly; refuses (one line, the nearest class) otherwise."""
    if arch == "bert":
        if config.norm != "post" or not config.normalises_embeddings:
            raise ConversionError(
                "a pre-LN BERT (or one without its embedding LayerNorm) has no exact transformers class "
                "(nearest: BertForPreTraining, post-LN); export needs model.norm.bert: post"
            )
        return "BertForPreTraining"
    if arch == "gpt":
        if config.norm == "pre" and not config.normalises_embeddings:
            return "GPT2LMHeadModel"
        if config.norm == "post" and not config.normalises_embeddings:
            if config.activation != "gelu_tanh" or config.d_ff != 4 * config.d_model:
                raise ConversionError(
                    "OpenAIGPTLMHeadModel (GPT-1's layout) computes the tanh GELU and d_ff = 4 d_model; "
                    f"this model has activation {config.activation!r} and d_ff {config.d_ff}"
                )
            return "OpenAIGPTLMHeadModel"
        raise ConversionError(
            "a post-LN GPT has no exact transformers class: ours LayerNorms the embeddings, GPT-1's "
            "OpenAIGPTLMHeadModel (the nearest) does not; export needs model.norm.gpt: pre (GPT2LMHeadModel)"
        )
    raise ConversionError(f"unknown architecture '{arch}' (known: bert, gpt)")


def check_exportable(config: ModelConfig, arch: str) -> None:
    """Refuse (one line, with the nearest class) a model no transformers class represents exactly."""
    hf_class_of(config, arch)


def hf_config_of(config: ModelConfig, arch: str, special_ids: dict[str, int]) -> dict[str, Any]:
    """The transformers ``config.json`` of our model; refuses what no class represents exactly."""
    cls = hf_class_of(config, arch)
    if cls == "BertForPreTraining":
        return {
            "architectures": [cls],
            "model_type": "bert",
            "vocab_size": config.vocab_size,
            "hidden_size": config.d_model,
            "num_hidden_layers": config.n_layer,
            "num_attention_heads": config.n_head,
            "intermediate_size": config.d_ff,
            "hidden_act": HF_ACT[config.activation],
            "hidden_dropout_prob": config.dropout,
            "attention_probs_dropout_prob": config.dropout,
            "max_position_embeddings": config.max_seq_len,
            "type_vocab_size": config.type_vocab_size,
            "initializer_range": 0.02,
            "layer_norm_eps": config.layer_norm_eps,
            "pad_token_id": special_ids["pad"],
            "position_embedding_type": "absolute",
            "tie_word_embeddings": True,
            "dtype": "float32",
        }
    if cls == "OpenAIGPTLMHeadModel":
        return {
            "architectures": [cls],
            "model_type": "openai-gpt",
            "vocab_size": config.vocab_size,
            "n_positions": config.max_seq_len,
            "n_embd": config.d_model,
            "n_layer": config.n_layer,
            "n_head": config.n_head,
            "afn": "gelu",  # GPT-1's code: the tanh approximation
            "resid_pdrop": config.dropout,
            "embd_pdrop": config.dropout,
            "attn_pdrop": config.dropout,
            "layer_norm_epsilon": config.layer_norm_eps,
            "initializer_range": 0.02,
            "tie_word_embeddings": True,
            "dtype": "float32",
        }
    return {
        "architectures": [cls],
        "model_type": "gpt2",
        "vocab_size": config.vocab_size,
        "n_positions": config.max_seq_len,
        "n_embd": config.d_model,
        "n_layer": config.n_layer,
        "n_head": config.n_head,
        "n_inner": config.d_ff,
        "activation_function": HF_ACT[config.activation],
        "resid_pdrop": config.dropout,
        "embd_pdrop": config.dropout,
        "attn_pdrop": config.dropout,
        "layer_norm_epsilon": config.layer_norm_eps,
        "initializer_range": 0.02,
        "scale_attn_weights": True,
        "scale_attn_by_inverse_layer_idx": False,
        "reorder_and_upcast_attn": False,
        "bos_token_id": special_ids["eot"],
        "eos_token_id": special_ids["eot"],
        "pad_token_id": special_ids["pad"],
        "tie_word_embeddings": True,
        "use_cache": True,
        "dtype": "float32",
    }


def _need(cond: bool, what: str) -> None:
    if not cond:
        raise ConversionError(what)


def family_of(hf: dict[str, Any]) -> str:
    """``"bert"`` or ``"gpt"`` for a transformers ``config.json`` our backbone represents; else refuse."""
    model_type = hf.get("model_type")
    if model_type == "bert":
        return "bert"
    if model_type in ("gpt2", "openai-gpt"):
        return "gpt"
    raise ConversionError(f"unsupported model_type {model_type!r} (supported: bert, gpt2, openai-gpt)")


def _gpt_config(hf: dict[str, Any], **layout: Any) -> ModelConfig:
    """Our config of a GPT-1/GPT-2 ``config.json`` (their shared keys); ``layout``: what differs."""
    return ModelConfig(
        vocab_size=int(hf["vocab_size"]),
        n_layer=int(hf.get("n_layer", 12)),
        n_head=int(hf.get("n_head", 12)),
        d_model=int(hf.get("n_embd", 768)),
        dropout=float(hf.get("resid_pdrop", 0.1)),
        type_vocab_size=0,
        causal=True,
        layer_norm_eps=float(hf.get("layer_norm_epsilon", 1e-5)),
        pad_token_id=0,
        **layout,
    )


def model_config_of(hf: dict[str, Any]) -> tuple[ModelConfig, str]:
    """Our :class:`ModelConfig` and architecture for a transformers ``config.json``.

    Refuses (one line, the reason) whatever our backbone would compute differently: relative
    positions, an activation other than GELU (exact or tanh), a decoder BERT, GPT-2's per-layer attention scaling.
    """
    family = family_of(hf)
    if family == "bert":
        _need(hf.get("position_embedding_type", "absolute") == "absolute",
              f"position_embedding_type {hf.get('position_embedding_type')!r}: our backbone has learned absolute positions only")
        _need(hf.get("hidden_act", "gelu") in OUR_ACT,
              f"hidden_act {hf.get('hidden_act')!r}: our backbone computes GELU, exact or tanh ({', '.join(OUR_ACT)})")
        _need(not hf.get("is_decoder", False) and not hf.get("add_cross_attention", False),
              "a decoder BERT (is_decoder / add_cross_attention) is not a BERT encoder")
        _need(int(hf.get("type_vocab_size", 2)) >= 2, f"type_vocab_size {hf.get('type_vocab_size')}: BERT needs segments A and B")
        d = int(hf["hidden_size"])
        config = ModelConfig(
            vocab_size=int(hf["vocab_size"]),
            n_layer=int(hf["num_hidden_layers"]),
            n_head=int(hf["num_attention_heads"]),
            d_model=d,
            d_ff=int(hf.get("intermediate_size", 4 * d)),
            max_seq_len=int(hf.get("max_position_embeddings", 512)),
            dropout=float(hf.get("hidden_dropout_prob", 0.1)),
            type_vocab_size=int(hf.get("type_vocab_size", 2)),
            causal=False,
            layer_norm_eps=float(hf.get("layer_norm_eps", 1e-12)),
            pad_token_id=int(hf.get("pad_token_id") or 0),
            norm="post",
            activation=OUR_ACT[hf.get("hidden_act", "gelu")],
        )
    elif hf.get("model_type") == "openai-gpt":
        _need(hf.get("afn", "gelu") == "gelu", f"afn {hf.get('afn')!r}: our backbone computes GELU ('gelu', GPT-1's tanh form)")
        config = _gpt_config(
            hf,
            d_ff=4 * int(hf.get("n_embd", 768)),
            max_seq_len=int(hf.get("n_positions", 512)),
            norm="post",
            activation="gelu_tanh",  # transformers' OpenAIGPT maps afn "gelu" to gelu_new
            embedding_norm=False,  # GPT-1 adds token and position embeddings, no LayerNorm
        )
    else:
        act = hf.get("activation_function", "gelu_new")
        _need(act in OUR_ACT, f"activation_function {act!r}: our backbone computes GELU, exact or tanh ({', '.join(OUR_ACT)})")
        _need(hf.get("scale_attn_weights", True), "scale_attn_weights false: our attention scales by 1/sqrt(head_dim)")
        _need(not hf.get("scale_attn_by_inverse_layer_idx", False), "scale_attn_by_inverse_layer_idx: not in our attention")
        _need(not hf.get("add_cross_attention", False), "add_cross_attention: not a decoder-only GPT")
        config = _gpt_config(
            hf,
            d_ff=int(hf.get("n_inner") or 4 * int(hf.get("n_embd", 768))),
            max_seq_len=int(hf.get("n_positions", 1024)),
            norm="pre",
            activation=OUR_ACT[act],
        )
    try:
        config.validate()
    except ValueError as exc:
        raise ConversionError(f"config our backbone cannot hold: {exc}") from None
    return config, family


# --- parameter names -----------------------------------------------------------------------------
# Each table maps one of our names (with ``{i}`` for the block index) to the transformers name and
# a transform ours -> theirs (its inverse is the same for a transpose and the identity).

_T: Callable[[Tensor], Tensor] = lambda t: t.t().contiguous()  # noqa: E731  GPT-2's Conv1D stores weight.T
_I: Callable[[Tensor], Tensor] = lambda t: t  # noqa: E731

BERT_NAMES: dict[str, str] = {
    "bert.embeddings.word_embeddings.weight": "bert.embeddings.word_embeddings.weight",
    "bert.embeddings.position_embeddings.weight": "bert.embeddings.position_embeddings.weight",
    "bert.embeddings.token_type_embeddings.weight": "bert.embeddings.token_type_embeddings.weight",
    "bert.embeddings.LayerNorm.weight": "bert.embeddings.LayerNorm.weight",
    "bert.embeddings.LayerNorm.bias": "bert.embeddings.LayerNorm.bias",
    # c_attn is split into query/key/value by bert_to_hf
    "bert.h.{i}.attn.c_proj.weight": "bert.encoder.layer.{i}.attention.output.dense.weight",
    "bert.h.{i}.attn.c_proj.bias": "bert.encoder.layer.{i}.attention.output.dense.bias",
    "bert.h.{i}.ln_1.weight": "bert.encoder.layer.{i}.attention.output.LayerNorm.weight",
    "bert.h.{i}.ln_1.bias": "bert.encoder.layer.{i}.attention.output.LayerNorm.bias",
    "bert.h.{i}.mlp.c_fc.weight": "bert.encoder.layer.{i}.intermediate.dense.weight",
    "bert.h.{i}.mlp.c_fc.bias": "bert.encoder.layer.{i}.intermediate.dense.bias",
    "bert.h.{i}.mlp.c_proj.weight": "bert.encoder.layer.{i}.output.dense.weight",
    "bert.h.{i}.mlp.c_proj.bias": "bert.encoder.layer.{i}.output.dense.bias",
    "bert.h.{i}.ln_2.weight": "bert.encoder.layer.{i}.output.LayerNorm.weight",
    "bert.h.{i}.ln_2.bias": "bert.encoder.layer.{i}.output.LayerNorm.bias",
    "pooler.dense.weight": "bert.pooler.dense.weight",
    "pooler.dense.bias": "bert.pooler.dense.bias",
    "cls_mlm.dense.weight": "cls.predictions.transform.dense.weight",
    "cls_mlm.dense.bias": "cls.predictions.transform.dense.bias",
    "cls_mlm.LayerNorm.weight": "cls.predictions.transform.LayerNorm.weight",
    "cls_mlm.LayerNorm.bias": "cls.predictions.transform.LayerNorm.bias",
    "cls_mlm.bias": "cls.predictions.bias",
    "cls_nsp.weight": "cls.seq_relationship.weight",
    "cls_nsp.bias": "cls.seq_relationship.bias",
}
BERT_QKV = ("query", "key", "value")
# Parts of BertForPreTraining a bare BertModel checkpoint may lack (a sentence encoder such as MiniLM).
BERT_HEADS = {"pooler": "pooler.", "masked LM head": "cls_mlm.", "next-sentence head": "cls_nsp."}

GPT_NAMES: dict[str, tuple[str, Callable[[Tensor], Tensor]]] = {
    "transformer.embeddings.word_embeddings.weight": ("transformer.wte.weight", _I),
    "transformer.embeddings.position_embeddings.weight": ("transformer.wpe.weight", _I),
    "transformer.h.{i}.ln_1.weight": ("transformer.h.{i}.ln_1.weight", _I),
    "transformer.h.{i}.ln_1.bias": ("transformer.h.{i}.ln_1.bias", _I),
    "transformer.h.{i}.attn.c_attn.weight": ("transformer.h.{i}.attn.c_attn.weight", _T),
    "transformer.h.{i}.attn.c_attn.bias": ("transformer.h.{i}.attn.c_attn.bias", _I),
    "transformer.h.{i}.attn.c_proj.weight": ("transformer.h.{i}.attn.c_proj.weight", _T),
    "transformer.h.{i}.attn.c_proj.bias": ("transformer.h.{i}.attn.c_proj.bias", _I),
    "transformer.h.{i}.ln_2.weight": ("transformer.h.{i}.ln_2.weight", _I),
    "transformer.h.{i}.ln_2.bias": ("transformer.h.{i}.ln_2.bias", _I),
    "transformer.h.{i}.mlp.c_fc.weight": ("transformer.h.{i}.mlp.c_fc.weight", _T),
    "transformer.h.{i}.mlp.c_fc.bias": ("transformer.h.{i}.mlp.c_fc.bias", _I),
    "transformer.h.{i}.mlp.c_proj.weight": ("transformer.h.{i}.mlp.c_proj.weight", _T),
    "transformer.h.{i}.mlp.c_proj.bias": ("transformer.h.{i}.mlp.c_proj.bias", _I),
    "transformer.ln_f.weight": ("transformer.ln_f.weight", _I),
    "transformer.ln_f.bias": ("transformer.ln_f.bias", _I),
}
# GPT-1 (OpenAIGPTLMHeadModel): the same blocks under other embedding names, and no final LayerNorm.
_GPT1_RENAME = {"transformer.wte.weight": "transformer.tokens_embed.weight", "transformer.wpe.weight": "transformer.positions_embed.weight"}
GPT1_NAMES: dict[str, tuple[str, Callable[[Tensor], Tensor]]] = {
    mine: (_GPT1_RENAME.get(theirs, theirs), f) for mine, (theirs, f) in GPT_NAMES.items() if "ln_f" not in mine
}
GPT_LAYOUTS = {"gpt2": GPT_NAMES, "openai-gpt": GPT1_NAMES}


def _expand(template: str, n_layer: int) -> list[tuple[int | None, str]]:
    return [(i, template) for i in range(n_layer)] if "{i}" in template else [(None, template)]


def _fmt(template: str, i: int | None) -> str:
    return template if i is None else template.format(i=i)


def bert_to_hf(ours: StateDict, n_layer: int) -> StateDict:
    """Our ``BertForPreTraining`` state dict -> transformers' (tied decoder left out, as it saves it)."""
    out: StateDict = {}
    for mine, theirs in BERT_NAMES.items():
        for i, _ in _expand(mine, n_layer):
            out[_fmt(theirs, i)] = ours[_fmt(mine, i)].contiguous()
    for i in range(n_layer):
        for part in ("weight", "bias"):
            q, k, v = ours[f"bert.h.{i}.attn.c_attn.{part}"].chunk(3, dim=0)
            for name, t in zip(BERT_QKV, (q, k, v)):
                out[f"bert.encoder.layer.{i}.attention.self.{name}.{part}"] = t.contiguous()
    return out


def gpt_to_hf(ours: StateDict, n_layer: int, layout: str = "gpt2") -> StateDict:
    """Our ``GPTForPreTraining`` state dict -> ``GPT2LMHeadModel``'s (pre-LN) or ``OpenAIGPTLMHeadModel``'s
    (``layout="openai-gpt"``: post-LN, no embedding LayerNorm); the tied ``lm_head`` left out."""
    out: StateDict = {}
    for mine, (theirs, f) in GPT_LAYOUTS[layout].items():
        for i, _ in _expand(mine, n_layer):
            out[_fmt(theirs, i)] = f(ours[_fmt(mine, i)]).contiguous()
    return out


_IGNORED = re.compile(r"(^|\.)(position_ids|attn\.bias|attn\.masked_bias)$")  # buffers some versions save


def _with_prefix(theirs: StateDict, prefix: str, heads: tuple[str, ...]) -> StateDict:
    """Name every tensor as the pre-training class does (a bare ``BertModel``/``GPT2Model`` has no prefix)."""
    out: StateDict = {}
    for k, v in theirs.items():
        if _IGNORED.search(k):
            continue
        out[k if k.startswith(prefix) or k.startswith(heads) else prefix + k] = v
    return out


def _take(theirs: StateDict, name: str, source: str) -> Tensor:
    if name not in theirs:
        raise ConversionError(f"{source}: missing tensor '{name}'")
    return theirs.pop(name)


def _check_tied(theirs: StateDict, name: str, embeddings: Tensor, source: str) -> None:
    tied = theirs.pop(name, None)
    if tied is not None and not torch.equal(tied, embeddings):
        raise ConversionError(f"{source}: '{name}' differs from the word embeddings; our models tie them")


def _check_shape(name: str, t: Tensor, shape: tuple[int, ...], source: str) -> None:
    if tuple(t.shape) != shape:
        raise ConversionError(f"{source}: '{name}' has shape {tuple(t.shape)}, the config implies {shape}")


def hf_to_bert(theirs: StateDict, reference: StateDict, n_layer: int, source: str) -> tuple[StateDict, list[str]]:
    """transformers BERT tensors -> ours. ``reference`` is a freshly initialised model's state dict: parts
    the checkpoint lacks (a bare ``BertModel`` has no MLM/NSP heads, some no pooler) keep its values and
    are listed in the second return value. Any tensor left over is an error (nothing dropped silently)."""
    theirs = _with_prefix(theirs, "bert.", ("cls.",))
    out: StateDict = {}
    filled: list[str] = []
    for what, prefix in BERT_HEADS.items():
        names = [m for m in BERT_NAMES if m.startswith(prefix)]
        if not any(BERT_NAMES[m] in theirs for m in names):
            filled.append(what)
            out.update({m: reference[m] for m in names})
    for mine, hf_name in BERT_NAMES.items():
        for i, _ in _expand(mine, n_layer):
            if _fmt(mine, i) in out:
                continue
            t = _take(theirs, _fmt(hf_name, i), source)
            _check_shape(_fmt(hf_name, i), t, tuple(reference[_fmt(mine, i)].shape), source)
            out[_fmt(mine, i)] = t
    for i in range(n_layer):
        for part in ("weight", "bias"):
            parts = [_take(theirs, f"bert.encoder.layer.{i}.attention.self.{n}.{part}", source) for n in BERT_QKV]
            out[f"bert.h.{i}.attn.c_attn.{part}"] = torch.cat(parts, dim=0)
    embeddings = out["bert.embeddings.word_embeddings.weight"]
    _check_tied(theirs, "cls.predictions.decoder.weight", embeddings, source)
    decoder_bias = theirs.pop("cls.predictions.decoder.bias", None)
    if decoder_bias is not None and not torch.equal(decoder_bias, out["cls_mlm.bias"]):
        raise ConversionError(f"{source}: 'cls.predictions.decoder.bias' differs from 'cls.predictions.bias'")
    if theirs:
        raise ConversionError(f"{source}: tensors our BERT has no place for: {', '.join(sorted(theirs)[:5])}")
    out["cls_mlm.decoder.weight"] = embeddings
    return out, filled


def hf_to_gpt(theirs: StateDict, reference: StateDict, n_layer: int, source: str, layout: str = "gpt2") -> StateDict:
    """transformers GPT-2 (``layout="gpt2"``) or GPT-1 (``"openai-gpt"``) tensors -> our GPT (every tensor
    must be there and used)."""
    theirs = _with_prefix(theirs, "transformer.", ("lm_head.",))
    out: StateDict = {}
    for mine, (hf_name, f) in GPT_LAYOUTS[layout].items():
        for i, _ in _expand(mine, n_layer):
            t = f(_take(theirs, _fmt(hf_name, i), source))
            _check_shape(_fmt(hf_name, i), t, tuple(reference[_fmt(mine, i)].shape), source)
            out[_fmt(mine, i)] = t
    embeddings = out["transformer.embeddings.word_embeddings.weight"]
    _check_tied(theirs, "lm_head.weight", embeddings, source)
    if theirs:
        raise ConversionError(f"{source}: tensors our GPT has no place for: {', '.join(sorted(theirs)[:5])}")
    out["lm_head.weight"] = embeddings
    return out
