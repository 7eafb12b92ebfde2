"""One of our pre-trained models -> a folder in transformers' ``save_pretrained`` layout.

``AutoModelForPreTraining`` (BERT) / ``AutoModelForCausalLM`` (GPT) and ``AutoTokenizer`` load the
folder with no custom code and compute what our model computes (``tests/hf/`` proves it against
transformers). Written: ``config.json``, ``model.safetensors`` (tied matrices once, as transformers
saves them), ``tokenizer.json`` (our trained tokenizer, unchanged), ``tokenizer_config.json`` and
``special_tokens_map.json``. What no transformers class represents exactly is refused with the
reason (:func:`~bertvsgpt.hf.mapping.hf_config_of`); nothing is written then.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from safetensors.torch import save_file

from ..io import atomic_path
from ..models import load_config, load_pretrained
from ..tokenization import load_tokenizer
from ..tokenization.special import (
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
from .mapping import ConversionError, bert_to_hf, check_exportable, gpt_to_hf, hf_config_of


def special_tokens_map(arch: str) -> dict[str, Any]:
    """transformers' names for our special tokens."""
    if arch == "bert":
        return {"cls_token": BERT_CLS, "sep_token": BERT_SEP, "pad_token": BERT_PAD, "mask_token": BERT_MASK, "unk_token": BERT_UNK}
    return {
        "bos_token": GPT_EOT,
        "eos_token": GPT_EOT,
        "pad_token": GPT_PAD,
        "additional_special_tokens": [GPT_START, GPT_DELIM, GPT_EXTRACT],
    }


def export_model(model_dir: str | Path, out_dir: str | Path) -> dict[str, Any]:
    """Write ``model_dir`` (one of ``data/models/<arch>``) as a transformers folder ``out_dir``."""
    model_dir, out_dir = Path(model_dir), Path(out_dir)
    config, arch = load_config(model_dir)
    if json.loads((model_dir / "config.json").read_text()).get("scratch"):
        raise ConversionError(f"{model_dir}: a scratch twin has no trained weights to export")
    check_exportable(config, arch)  # before anything else is read
    tokenizer = load_tokenizer(model_dir)
    tokens = special_tokens_map(arch)
    ids = {"pad": tokenizer.token_to_id(tokens["pad_token"]), "eot": tokenizer.token_to_id(GPT_EOT)}
    hf_config = hf_config_of(config, arch, ids)
    model, _ = load_pretrained(model_dir)
    state = {k: v.detach() for k, v in model.state_dict().items()}
    layout = hf_config["model_type"]
    tensors = bert_to_hf(state, config.n_layer) if arch == "bert" else gpt_to_hf(state, config.n_layer, layout)
    tokenizer_config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": config.max_seq_len,
        "clean_up_tokenization_spaces": False,
        "model_input_names": ["input_ids", "token_type_ids", "attention_mask"] if arch == "bert" else ["input_ids", "attention_mask"],
        **tokens,
    }
    with atomic_path(out_dir) as tmp:
        tmp.mkdir(parents=True)
        save_file(tensors, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        (tmp / "config.json").write_text(json.dumps(hf_config, indent=2, sort_keys=True) + "\n")
        (tmp / "tokenizer.json").write_text((model_dir / "tokenizer.json").read_text(encoding="utf-8"), encoding="utf-8")
        (tmp / "tokenizer_config.json").write_text(json.dumps(tokenizer_config, indent=2, sort_keys=True) + "\n")
        (tmp / "special_tokens_map.json").write_text(json.dumps(tokens, indent=2, sort_keys=True) + "\n")
    return {"architecture": arch, "class": hf_config["architectures"][0], "tensors": len(tensors),
            "parameters": sum(t.numel() for t in tensors.values())}
