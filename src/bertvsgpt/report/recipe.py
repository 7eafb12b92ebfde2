"""The report's first paragraph: how the comparison is controlled and which recipe each objective ran.

Generated from params (and the parameter counts of the pre-training summaries), never written by hand:
the language, the same corpus (with its size in characters and in each tokenizer's tokens, since the budget
is counted in tokens), tokenizer vocabulary size, model size, token budget and fine-tuning protocol for both
objectives, then the per-objective block (``model.norm``), masking rate and dropout. Every field is
optional: a params object without it (an older run, a test's slice of params) leaves its clause out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .labels import fmt_count

NORM_TEXT = {"post": "the post-LN block of the paper", "pre": "the pre-LN block of GPT-2"}
SIZE_TOLERANCE = 0.05  # the parameter counts of BERT and GPT may differ by this much
LANGUAGE_NAMES = {"en": "English", "zh": "Chinese"}
TOKENIZER_NAMES = {"bert": "WordPiece", "gpt": "byte-level BPE"}


@dataclass
class Recipe:
    language: str | None = None  # data.language
    corpus: list[str] = field(default_factory=list)  # data.corpus
    corpus_characters: int | None = None  # characters of the corpus's training split
    corpus_tokens: dict[str, int] = field(default_factory=dict)  # arch -> tokens of that split (its tokenizer)
    in_domain_tasks: list[str] = field(default_factory=list)  # finetune.tasks when data.in_domain, else []
    vocab_size: int | None = None  # tokenizer.vocab_size
    vocab_sizes: dict[str, int] = field(default_factory=dict)  # arch -> the trained vocabulary's size
    parameters: dict[str, int] = field(default_factory=dict)  # arch -> parameter count
    max_tokens: int | None = None  # pretrain.max_tokens
    norm: dict[str, str] = field(default_factory=dict)  # arch -> post | pre
    masked_lm_prob: float | None = None  # pretrain.bert.masked_lm_prob
    nsp: bool | None = None  # pretrain.bert.nsp
    pretrain_dropout: float | None = None  # model.dropout
    finetune_dropout: float | None = None  # finetune.dropout (None: the pre-training one)
    finetune_seeds: int | None = None
    finetune_models: list[str] = field(default_factory=list)
    pretrain_seeds: list[int] = field(default_factory=list)  # pretrain.seeds, or [seed]: one run per seed
    word_subword: dict[str, dict[str, str]] = field(default_factory=dict)  # tagging task -> arch -> first | last


def _get(obj: Any, path: str, default: Any = None) -> Any:
    for name in path.split("."):
        if obj is None:
            return default
        obj = obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)
    return default if obj is None else obj


def recipe_from(
    params: Any,
    pretrain: Mapping[str, Mapping[str, Any]],
    corpus_characters: int | None = None,
    corpus_tokens: Mapping[str, int] | None = None,
    vocab_sizes: Mapping[str, int] | None = None,
) -> Recipe:
    """The recipe of this run from ``params``, the pre-training summaries (``metrics/pretrain/<arch>.json``)
    and the corpus's size in characters and in each architecture's tokens (its training split)."""
    norm = _get(params, "model.norm")
    if isinstance(norm, str):  # an older params: one block for both
        norm = {"bert": norm, "gpt": norm}
    elif norm is not None:
        norm = {a: v for a in ("bert", "gpt") if (v := _get(norm, a)) is not None}
    seeds = _get(params, "finetune.seeds")
    tasks = _get(params, "tasks", {})
    word_subword = {}
    for name in _get(params, "finetune.tasks", []):
        setting = _get(tasks.get(name) if isinstance(tasks, Mapping) else None, "word_subword")
        if setting is not None:
            word_subword[name] = {a: v for a in ("bert", "gpt") if (v := _get(setting, a)) is not None}
    pretrain_seeds = _get(params, "pretrain.seeds")
    if pretrain_seeds is None and _get(params, "seed") is not None:
        pretrain_seeds = [_get(params, "seed")]
    return Recipe(
        language=_get(params, "data.language"),
        corpus=list(_get(params, "data.corpus", [])),
        corpus_characters=corpus_characters,
        corpus_tokens=dict(corpus_tokens or {}),
        in_domain_tasks=list(_get(params, "finetune.tasks", [])) if _get(params, "data.in_domain") is True else [],
        vocab_size=_get(params, "tokenizer.vocab_size"),
        vocab_sizes=dict(vocab_sizes or {}),
        parameters={a: int(s["parameters"]) for a, s in pretrain.items() if isinstance((s or {}).get("parameters"), (int, float))},
        max_tokens=_get(params, "pretrain.max_tokens"),
        norm=norm or {},
        masked_lm_prob=_get(params, "pretrain.bert.masked_lm_prob"),
        nsp=_get(params, "pretrain.bert.nsp"),
        pretrain_dropout=_get(params, "model.dropout"),
        finetune_dropout=_get(params, "finetune.dropout"),
        finetune_seeds=len(seeds) if isinstance(seeds, Sequence) and not isinstance(seeds, str) else None,
        finetune_models=list(_get(params, "finetune.models", [])),
        pretrain_seeds=[int(x) for x in pretrain_seeds or []],
        word_subword=word_subword,
    )


def _join(items: Sequence[str]) -> str:
    items = list(items)
    return "".join(items) if len(items) <= 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _pct(v: float) -> str:
    return f"{100 * v:.0f} %" if abs(100 * v - round(100 * v)) < 1e-9 else f"{100 * v:.1f} %"


def _size_clause(parameters: Mapping[str, int]) -> str | None:
    b, g = parameters.get("bert"), parameters.get("gpt")
    if not b or not g:
        return None
    ratio = g / b
    within = abs(ratio - 1) <= SIZE_TOLERANCE
    tol = f"{100 * SIZE_TOLERANCE:.0f} %"
    verdict = f"within {tol}" if within else f"**outside** the {tol} the comparison allows"
    return f"the same model size (BERT {fmt_count(b)} parameters, GPT {fmt_count(g)}: GPT/BERT = {ratio:.3f}, {verdict})"


def _corpus_size(characters: int | None, tokens: Mapping[str, int]) -> str | None:
    """``"12.3 M characters = 7.2 M WordPiece tokens for BERT (1.71 characters a token), ..."``: what a token of
    the budget is worth in text, per tokenizer."""
    if not characters:
        return None
    per = [f"{fmt_count(n)} {TOKENIZER_NAMES.get(a, a)} tokens for {a.upper()} ({characters / n:.2f} characters a token)"
           for a, n in tokens.items() if n]
    return f"{fmt_count(characters)} characters" + (f" = {_join(per)}" if per else "")


def _norm_sentence(norm: Mapping[str, str]) -> str | None:
    b, g = norm.get("bert"), norm.get("gpt")
    if b is None or g is None:
        return None
    if b != g:
        return (f"BERT uses {NORM_TEXT.get(b, f'the {b}-LN block')}, GPT {NORM_TEXT.get(g, f'the {g}-LN block')}: in the "
                "norm x objective ablation (400-1,500 steps) each objective learned only with its own block; see the README's recipe section.")
    return f"Both use the same block ({b}-LN, `model.norm.bert` = `model.norm.gpt` = `{b}`)."


def _subword_sentence(word_subword: Mapping[str, Mapping[str, str]]) -> str | None:
    """Where each objective reads a word's tag, per tagging task (``tasks.<task>.word_subword``)."""
    groups: dict[tuple[str | None, str | None], list[str]] = {}
    for task, setting in word_subword.items():
        groups.setdefault((setting.get("bert"), setting.get("gpt")), []).append(task)
    out = []
    for (b, g), names in groups.items():
        if b is None or g is None:
            continue
        keys = ", ".join(f"`tasks.{t}.word_subword`" for t in names)
        if b == g:
            out.append(f"Tagging ({_join(names)}) reads each word at its {b} sub-word for both ({keys}).")
        else:
            out.append(f"Tagging ({_join(names)}) reads a word at BERT's {b} sub-word and GPT's {g} ({keys}): a causal "
                       "state has seen the whole word only at its last piece; see the README's recipe section.")
    return " ".join(out) or None


def recipe_paragraph(r: Recipe) -> str:
    """One paragraph: what both objectives share, then what each one ran; ``""`` when nothing is known."""
    same: list[str] = []
    if r.corpus:
        language = LANGUAGE_NAMES.get(r.language or "", "")
        corpus = f"the same {language + ' ' if language else ''}corpus ({_join(r.corpus)}"
        if r.in_domain_tasks:
            corpus += f", plus the training texts of the fine-tuned tasks {_join(r.in_domain_tasks)}, never their dev or test texts"
        size = _corpus_size(r.corpus_characters, r.corpus_tokens)
        same.append(corpus + (f"; {size}" if size else "") + ")")
    trained = {a: r.vocab_sizes[a] for a in ("bert", "gpt") if a in r.vocab_sizes}
    if len(set(trained.values())) > 1:  # e.g. Chinese: WordPiece runs out of pieces below the size asked for
        same.append(
            f"tokenizer vocabularies of {trained['bert']:,} (WordPiece, BERT) and {trained['gpt']:,} (byte-level BPE, GPT) entries "
            f"for the {r.vocab_size or max(trained.values()):,} asked for (`tokenizer.vocab_size`; WordPiece stops when the corpus "
            "has no more pieces worth a token)"
        )
    elif r.vocab_size:
        same.append(f"the same tokenizer vocabulary size ({r.vocab_size:,}; WordPiece for BERT, byte-level BPE for GPT)")
    size = _size_clause(r.parameters)
    if size:
        same.append(size)
    if r.max_tokens:
        same.append(f"the same token budget ({fmt_count(r.max_tokens)} tokens)")
    if r.finetune_models or r.finetune_seeds:
        seeds = f", {r.finetune_seeds} seed{'s' if r.finetune_seeds != 1 else ''}" if r.finetune_seeds else ""
        same.append(f"the same fine-tuning protocol (optimiser, schedule, epochs, early stopping{seeds}) for every model")
    sentences = []
    if same:
        sentences.append(f"**The recipe.** BERT and GPT are compared on {_join(same)}.")
    per: list[str] = []
    norm = _norm_sentence(r.norm)
    if norm:
        per.append(norm)
    if r.masked_lm_prob is not None:
        objective = {True: "masked LM + next-sentence prediction", None: "masked LM",
                     False: "masked LM only: next-sentence prediction is off, `pretrain.bert.nsp`, as in RoBERTa"}[r.nsp]
        per.append(f"BERT masks {_pct(r.masked_lm_prob)} of the positions ({objective}); GPT predicts every next token.")
    drop = []
    if r.pretrain_dropout is not None:
        drop.append(f"pre-train with dropout {r.pretrain_dropout:g} (`model.dropout`)")
    if r.finetune_dropout is not None:
        drop.append(f"fine-tune with dropout {r.finetune_dropout:g} (`finetune.dropout`)")
    elif r.pretrain_dropout is not None:
        drop.append("fine-tune with the same dropout")
    if drop:
        per.append(f"Both {_join(drop)}.")
    subword = _subword_sentence(r.word_subword)
    if subword:
        per.append(subword)
    if per:
        sentences.append(("Per objective: " if sentences else "**The recipe.** ") + " ".join(per))
    if len(r.pretrain_seeds) > 1:
        sentences.append(
            f"Pre-training runs per objective: {len(r.pretrain_seeds)} (seeds {', '.join(map(str, r.pretrain_seeds))}); "
            "fine-tuning seed i starts from run i, so each pre-trained model's scores average over its runs, and the "
            "significance tests resample the runs as well as the test examples (label efficiency and the budget curve "
            "use the first run).")
    return " ".join(sentences)
