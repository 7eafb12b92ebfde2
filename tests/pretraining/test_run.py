"""Pre-training: budget, schedule, optimiser groups, resume fingerprint, budget checkpoints, real tiny runs."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from types import SimpleNamespace

import polars as pl
import pytest
import torch
from safetensors.torch import load_file

from bertvsgpt.config import load_params
from bertvsgpt.models import BertForPreTraining, GPTForPreTraining, ModelConfig, load_pretrained
from bertvsgpt.pretraining import run as run_module
from bertvsgpt.pretraining.callbacks import BudgetCheckpoints
from bertvsgpt.optim import adamw_param_groups, linear_warmup_decay
from bertvsgpt.pretraining.module import PretrainModule, steps_for_budget
from bertvsgpt.pretraining.run import fingerprint, prepare_resume_dir, pretrain, tokenizer_fingerprint
from bertvsgpt.pretraining.scratch import write_scratch_model
from bertvsgpt.tokenization.build import build_tokenizer
from tests.e2e_data import write_prepared_corpus

PARAMS_YAML = Path(__file__).resolve().parents[2] / "params.yaml"
TINY = [
    "model.n_layer=1",
    "model.d_model=32",
    "model.n_head=2",
    "model.d_ff=64",
    "model.max_seq_len=32",
    "pretrain.seq_len=32",
    "pretrain.batch_size=4",
    "pretrain.max_tokens=1024",
    "pretrain.precision=32-true",
    "pretrain.checkpoint_fractions=[0.5]",
    "tokenizer.vocab_size=300",
    "tokenizer.min_frequency=1",
    "pretrain.bert.nsp=true",  # both of the paper's objectives: the NSP columns are under test too
    "pretrain.compile.gpt=false",  # eager: the reference of the compiled runs' own test
]
# by hand: ceil(1024 / (4 * 32)) = 8 optimizer steps; the 0.5 checkpoint is at step 4
EXPECTED_STEPS = 8
EXPECTED_BUDGET_STEP = 4


@pytest.fixture(scope="module", autouse=True)
def _one_thread_and_global_state():
    """One intra-op thread; undo the global switches Lightning's deterministic=True flips."""
    n = torch.get_num_threads()
    det = torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
    torch.use_deterministic_algorithms(det)


@pytest.fixture(scope="module")
def params():
    return load_params(PARAMS_YAML, TINY)


def tiny_config(arch: str, vocab_size: int = 50) -> ModelConfig:
    return ModelConfig(
        vocab_size=vocab_size, n_layer=1, n_head=2, d_model=32, d_ff=64, max_seq_len=16, dropout=0.0,
        type_vocab_size=2 if arch == "bert" else 0, causal=arch == "gpt",
    )


def tiny_model(arch: str):
    cfg = tiny_config(arch)
    return (BertForPreTraining if arch == "bert" else GPTForPreTraining)(cfg), cfg


# --- steps_for_budget and the LR schedule --------------------------------------------------------


@pytest.mark.parametrize(
    "max_tokens,batch,seq,world,expected",
    [
        (1024, 4, 32, 1, 8),  # exact
        (1000, 4, 32, 1, 8),  # 7.8 -> 8 (ceil, never short of the budget)
        (1025, 4, 32, 1, 9),  # 8.01 -> 9
        (1024, 4, 32, 2, 4),  # two devices halve the steps
        (1024, 4, 32, 3, 3),  # 2.67 -> 3
        (1, 32, 128, 1, 1),  # at least one step
    ],
)
def test_steps_for_budget(max_tokens, batch, seq, world, expected):
    assert steps_for_budget(max_tokens, batch, seq, world) == expected


def test_steps_for_budget_covers_the_budget():
    for max_tokens in (1, 127, 128, 129, 5000):
        steps = steps_for_budget(max_tokens, 4, 32)
        assert steps * 128 >= max_tokens > (steps - 1) * 128  # enough steps, and not one too many


def test_linear_warmup_decay_values():
    f = linear_warmup_decay(10, 110)
    assert 0.0 < f(0) <= 1 / 10  # starts small, not at zero
    assert f(10) == pytest.approx(1.0)  # peak at the end of warm-up
    assert f(60) == pytest.approx(0.5)  # half-way through the decay
    assert f(110) == pytest.approx(0.0)  # zero at the end
    assert f(200) == 0.0  # never negative past the end
    warm = [f(s) for s in range(10)]
    assert all(a < b for a, b in zip(warm, warm[1:]))  # rises during the warm-up steps ...
    assert warm[-1] <= f(10)  # ... up to the peak
    decay = [f(s) for s in range(10, 111)]
    assert all(a > b for a, b in zip(decay, decay[1:]))  # then falls linearly
    diffs = {round(a - b, 9) for a, b in zip(decay, decay[1:])}
    assert diffs == {round(1 / 100, 9)}


def test_linear_warmup_decay_without_warmup_starts_at_peak():
    f = linear_warmup_decay(0, 4)
    assert [f(s) for s in range(5)] == pytest.approx([1.0, 0.75, 0.5, 0.25, 0.0])


# --- AdamW parameter groups -------------------------------------------------------------------


@pytest.mark.parametrize("arch", ["bert", "gpt"])
def test_adamw_groups_no_decay_on_biases_and_layernorm(arch):
    model, _ = tiny_model(arch)
    decay, no_decay = adamw_param_groups(model, 0.01)
    assert decay["weight_decay"] == 0.01 and no_decay["weight_decay"] == 0.0
    decay_ids = {id(p) for p in decay["params"]}
    no_decay_ids = {id(p) for p in no_decay["params"]}
    for name, p in model.named_parameters(remove_duplicate=False):
        is_1d = name.endswith("bias") or "LayerNorm" in name or ".ln_" in name
        assert is_1d == (p.ndim == 1), name
        if is_1d:
            assert id(p) in no_decay_ids and id(p) not in decay_ids, name
        else:
            assert id(p) in decay_ids and id(p) not in no_decay_ids, name


@pytest.mark.parametrize("arch", ["bert", "gpt"])
def test_adamw_groups_count_tied_weights_once(arch):
    model, _ = tiny_model(arch)
    emb = model.bert.embeddings.word_embeddings.weight if arch == "bert" else model.transformer.embeddings.word_embeddings.weight
    head = model.cls_mlm.decoder.weight if arch == "bert" else model.lm_head.weight
    assert head is emb  # the test model really ties them
    decay, no_decay = adamw_param_groups(model, 0.01)
    params = decay["params"] + no_decay["params"]
    assert sum(p is emb for p in params) == 1
    assert len({id(p) for p in params}) == len(params)
    unique = {id(p): p for _, p in model.named_parameters(remove_duplicate=False)}
    assert sum(p.numel() for p in params) == sum(p.numel() for p in unique.values())
    # AdamW refuses a parameter that appears in two groups: this must construct
    torch.optim.AdamW(adamw_param_groups(model, 0.01), lr=1e-3)


def test_adamw_groups_skip_frozen_parameters():
    model, _ = tiny_model("gpt")
    frozen = model.transformer.embeddings.position_embeddings.weight
    frozen.requires_grad_(False)
    decay, no_decay = adamw_param_groups(model, 0.1)
    assert all(p is not frozen for p in decay["params"] + no_decay["params"])


# --- fingerprint and resume folder ------------------------------------------------------------

STATS = {"vocab_size": 300, "n_tokens": 1000}


def _changed(params, path: str, value):
    p = copy.deepcopy(params)
    obj = p
    *parents, leaf = path.split(".")
    for k in parents:
        obj = getattr(obj, k)
    assert hasattr(obj, leaf)
    setattr(obj, leaf, value)
    return p


def test_fingerprint_is_stable(params):
    fp = fingerprint("bert", params, STATS)
    assert fp == fingerprint("bert", copy.deepcopy(params), dict(STATS))
    assert len(fp) == 16 and int(fp, 16) >= 0


@pytest.mark.parametrize(
    "path,value",
    [
        ("model.d_model", 64),
        ("model.n_layer", 2),
        ("model.dropout", 0.1),
        ("pretrain.lr", 3e-3),
        ("pretrain.max_tokens", 2048),
        ("pretrain.batch_size", 8),
        ("pretrain.bert.masked_lm_prob", 0.2),
        ("pretrain.bert.nsp", False),
        ("seed", 7),
    ],
)
def test_fingerprint_changes_with_model_and_pretrain_params(params, path, value):
    assert fingerprint("bert", _changed(params, path, value), STATS) != fingerprint("bert", params, STATS)


@pytest.mark.parametrize("arch,other", [("bert", "gpt"), ("gpt", "bert")])
def test_fingerprint_follows_its_own_architectures_compile_switch_only(params, arch, other):
    switched = _changed(params, f"pretrain.compile.{arch}", not getattr(params.pretrain.compile, arch))
    assert fingerprint(arch, switched, STATS) != fingerprint(arch, params, STATS)
    assert fingerprint(other, switched, STATS) == fingerprint(other, params, STATS)  # its run still resumes


def test_fingerprint_changes_with_arch_and_tokenizer(params):
    fp = fingerprint("bert", params, STATS)
    assert fingerprint("gpt", params, STATS) != fp
    assert fingerprint("bert", params, {**STATS, "n_tokens": 1001}) != fp
    assert fingerprint("bert", params, {**STATS, "vocab_size": 301}) != fp


def test_fingerprint_changes_with_tokenizer_content_and_source(params, tmp_path):
    tok = tmp_path / "tok"
    (tok / "train").mkdir(parents=True)
    (tok / "tokenizer.json").write_text('{"merges": ["a b"]}')
    for name in ("ids.npy", "sent_offsets.npy", "doc_offsets.npy"):
        (tok / "train" / name).write_bytes(b"0123")
    stats = tokenizer_fingerprint(tok, 300, 1000)
    fp = fingerprint("bert", params, stats, "src1")
    assert fingerprint("bert", params, tokenizer_fingerprint(tok, 300, 1000), "src1") == fp
    assert fingerprint("bert", params, stats, "src2") != fp  # other library code: not resumed
    (tok / "tokenizer.json").write_text('{"merges": ["a c"]}')  # same sizes, other merges
    assert fingerprint("bert", params, tokenizer_fingerprint(tok, 300, 1000), "src1") != fp
    (tok / "tokenizer.json").write_text('{"merges": ["a b"]}')
    (tok / "train" / "doc_offsets.npy").write_bytes(b"0124")  # same ids, other document boundaries
    assert fingerprint("bert", params, tokenizer_fingerprint(tok, 300, 1000), "src1") != fp


@pytest.mark.parametrize(
    "path,value", [("evaluate.batch_size", 3), ("finetune.lr", 0.5), ("tracking.experiment", "other")]
)
def test_fingerprint_ignores_params_that_do_not_shape_pretraining(params, path, value):
    assert fingerprint("gpt", _changed(params, path, value), STATS) == fingerprint("gpt", params, STATS)


def test_prepare_resume_dir_fresh_folder(tmp_path):
    d = tmp_path / "resume"
    assert prepare_resume_dir(d, "abc") is None
    assert (d / "fingerprint.txt").read_text().strip() == "abc"
    assert [p.name for p in d.iterdir()] == ["fingerprint.txt"]


def test_prepare_resume_dir_resumes_on_matching_fingerprint(tmp_path):
    d = tmp_path / "resume"
    prepare_resume_dir(d, "abc")
    (d / "last.ckpt").write_bytes(b"ckpt")
    (d / "budget").mkdir()
    (d / "budget" / "w").write_text("w")
    assert prepare_resume_dir(d, "abc") == d / "last.ckpt"
    # nothing is cleared when resuming
    assert (d / "last.ckpt").read_bytes() == b"ckpt" and (d / "budget" / "w").is_file()


def test_prepare_resume_dir_clears_on_other_fingerprint(tmp_path):
    d = tmp_path / "resume"
    prepare_resume_dir(d, "abc")
    (d / "last.ckpt").write_bytes(b"ckpt")
    (d / "budget").mkdir()
    (d / "budget" / "w").write_text("w")
    assert prepare_resume_dir(d, "xyz") is None
    assert [p.name for p in d.iterdir()] == ["fingerprint.txt"]
    assert (d / "fingerprint.txt").read_text().strip() == "xyz"


def test_prepare_resume_dir_without_checkpoint_starts_afresh(tmp_path):
    d = tmp_path / "resume"
    prepare_resume_dir(d, "abc")
    (d / "partial.tmp").write_text("x")
    assert prepare_resume_dir(d, "abc") is None
    assert [p.name for p in d.iterdir()] == ["fingerprint.txt"]


def test_prepare_resume_dir_without_stamp_does_not_resume(tmp_path):
    d = tmp_path / "resume"
    d.mkdir()
    (d / "last.ckpt").write_bytes(b"ckpt from an unknown run")
    assert prepare_resume_dir(d, "abc") is None
    assert not (d / "last.ckpt").exists()


# --- BudgetCheckpoints ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fractions,total,expected",
    [
        ([0.25, 0.5], 8, [2, 4]),  # exact steps
        ([0.5, 0.25], 8, [2, 4]),  # sorted
        ([0.5, 0.5], 8, [4]),  # de-duplicated
        ([0.01], 8, [1]),  # 0.08 of a step -> the first step
        ([0.5, 0.99], 8, [4]),  # 7.92 -> step 8 = the end: the final export covers it
        ([], 100, []),
    ],
)
def test_budget_checkpoint_steps(fractions, total, expected):
    assert BudgetCheckpoints(Path("unused"), fractions, total).steps == expected


@pytest.mark.parametrize("fraction,total,expected", [(0.24, 10, 3), (0.25, 10, 3), (0.25, 245, 62)])
def test_budget_checkpoint_step_is_at_or_past_the_fraction(fraction, total, expected):
    steps = BudgetCheckpoints(Path("unused"), [fraction], total).steps
    assert steps == [expected]
    assert steps[0] >= fraction * total


def test_budget_checkpoints_export_at_the_selected_steps_only(tmp_path):
    model, cfg = tiny_model("gpt")
    cb = BudgetCheckpoints(tmp_path / "budget", [0.25, 0.5], 8)
    module = SimpleNamespace(model=model, config=cfg)
    for step in range(1, 9):
        cb.on_train_batch_end(SimpleNamespace(global_step=step, is_global_zero=True), module, None, None, step - 1)
    assert sorted(p.name for p in (tmp_path / "budget").iterdir()) == ["step_0000002", "step_0000004"]
    loaded, loaded_cfg = load_pretrained(tmp_path / "budget" / "step_0000002")
    assert isinstance(loaded, GPTForPreTraining) and loaded_cfg == cfg
    for (name, a), b in zip(model.state_dict().items(), loaded.state_dict().values()):
        assert torch.equal(a, b), name


def test_budget_checkpoints_skip_non_zero_ranks_and_existing_exports(tmp_path):
    model, cfg = tiny_model("gpt")
    cb = BudgetCheckpoints(tmp_path / "budget", [0.5], 8)
    module = SimpleNamespace(model=model, config=cfg)
    cb.on_train_batch_end(SimpleNamespace(global_step=4, is_global_zero=False), module, None, None, 3)
    assert not (tmp_path / "budget").exists()
    cb.on_train_batch_end(SimpleNamespace(global_step=4, is_global_zero=True), module, None, None, 3)
    weights = tmp_path / "budget" / "step_0000004" / "model.safetensors"
    first = weights.read_bytes()
    with torch.no_grad():
        model.transformer.embeddings.word_embeddings.weight.add_(1.0)
    cb.on_train_batch_end(SimpleNamespace(global_step=4, is_global_zero=True), module, None, None, 3)
    assert weights.read_bytes() == first  # an existing export (from before a resume) is kept


# --- real tiny pre-training runs --------------------------------------------------------------

@pytest.fixture(scope="module")
def no_peak_probe():
    """Skip the ~1 s matmul peak probe (only the MFU denominator; not under test here)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(run_module, "measure_matmul_peak_flops", lambda *a, **k: 1e12)
        yield


@pytest.fixture(scope="module")
def tokenizer_dirs(tmp_path_factory, params):
    root = tmp_path_factory.mktemp("pretrain-data")
    corpus = write_prepared_corpus(root / "corpus.parquet", n_docs=30, heldout_every=6)
    return {arch: (build_tokenizer(arch, params, corpus, root / f"tok-{arch}"), root / f"tok-{arch}") for arch in ("bert", "gpt")}


def _weights(directory: Path) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in load_file(str(directory / "model.safetensors")).items()}


class StepCounter:
    """Counts PretrainModule.training_step calls (0 when a run resumes at the end of its budget)."""

    def __init__(self, mp: pytest.MonkeyPatch) -> None:
        self.calls = 0
        orig = PretrainModule.training_step

        def counted(module, batch, batch_idx):
            self.calls += 1
            return orig(module, batch, batch_idx)

        mp.setattr(PretrainModule, "training_step", counted)


@pytest.fixture(scope="module", params=["bert", "gpt"])
def twice(request, tmp_path_factory, params, tokenizer_dirs, no_peak_probe):
    """Pre-train once, then call pretrain() again with the same params and folders."""
    arch = request.param
    _, tok_dir = tokenizer_dirs[arch]
    root = tmp_path_factory.mktemp(f"run-{arch}")
    out, resume = root / "out", root / "resume"
    res = SimpleNamespace(arch=arch, tok_dir=tok_dir, out=out, resume=resume)
    with pytest.MonkeyPatch.context() as mp:
        counter = StepCounter(mp)
        res.summary1 = pretrain(arch, params, tok_dir, out, resume, enable_progress_bar=False)
        res.steps_run1 = counter.calls
        res.files1 = sorted(str(p.relative_to(out)) for p in out.rglob("*"))
        res.weights1 = _weights(out)
        res.budget1 = _weights(out / "checkpoints" / f"step_{EXPECTED_BUDGET_STEP:07d}")
        res.summary_file1 = json.loads((out / "summary.json").read_text())
        res.last_ckpt = torch.load(resume / "last.ckpt", map_location="cpu", weights_only=True)
        counter.calls = 0
        res.summary2 = pretrain(arch, params, tok_dir, out, resume, enable_progress_bar=False)
        res.steps_run2 = counter.calls
        res.weights2 = _weights(out)
    return res


def test_pretrain_writes_model_config_summary_and_budget_checkpoint(twice):
    budget = f"checkpoints/step_{EXPECTED_BUDGET_STEP:07d}"
    assert twice.files1 == sorted(
        ["checkpoints", budget, f"{budget}/config.json", f"{budget}/model.safetensors", "config.json", "curve.csv", "model.safetensors", "summary.json", "tokenizer.json"]
    )
    curve = pl.read_csv(twice.out / "curve.csv")
    # one row per logging step, with the loss and the tokens seen so far
    assert curve.get_column("step").to_list() == sorted(curve.get_column("step").to_list())
    assert curve.get_column("tokens_seen").to_list() == [s * 4 * 32 for s in curve.get_column("step").to_list()]
    assert curve.get_column("loss").is_finite().all()
    model, cfg = load_pretrained(twice.out)
    assert isinstance(model, BertForPreTraining if twice.arch == "bert" else GPTForPreTraining)
    assert (cfg.n_layer, cfg.d_model, cfg.n_head, cfg.d_ff, cfg.max_seq_len) == (1, 32, 2, 64, 32)
    assert cfg.causal == (twice.arch == "gpt")
    assert cfg.vocab_size == json.loads((twice.tok_dir / "stats.json").read_text())["vocab_size"]
    assert json.loads((twice.out / "config.json").read_text())["architecture"] == twice.arch


def test_every_curve_row_carries_the_objectives_metrics(twice):
    # the metrics beside the loss are logged only on the steps the curve records, so each row must have them
    curve = pl.read_csv(twice.out / "curve.csv")
    names = ["mlm_loss", "mlm_accuracy", "mlm_perplexity", "nsp_loss", "nsp_accuracy"] if twice.arch == "bert" else ["perplexity"]
    assert len(curve) >= 1
    for name in names:
        assert curve.get_column(name).is_finite().all(), name


@pytest.mark.parametrize(("every", "max_steps", "recorded"), [(3, 8, [3, 6, 8]), (1, 3, [1, 2, 3]), (10, 10, [10])])
def test_metrics_beside_the_loss_are_logged_on_the_recorded_steps_only(every, max_steps, recorded):
    module = PretrainModule("gpt", tiny_config("gpt").to_dict(), 1e-3, 0.0, 0, max_steps)
    assert module._step_is_recorded()  # no trainer (a bare module): log everything
    steps = []
    for done in range(max_steps):  # global_step = optimizer steps done before this batch
        module._trainer = SimpleNamespace(global_step=done, log_every_n_steps=every, max_steps=max_steps)
        if module._step_is_recorded():
            steps.append(done + 1)
    assert steps == recorded


def test_pretrain_summary_counts_steps_and_tokens(twice):
    s = twice.summary1
    assert s == twice.summary_file1
    assert s["arch"] == twice.arch and s["precision"] == "32-true" and s["world_size"] == 1
    assert s["steps"] == EXPECTED_STEPS == twice.steps_run1
    assert s["tokens_seen"] == s["steps"] * 4 * 32 == 1024
    assert s["train_flops"] == pytest.approx(s["tokens_seen"] * s["flops_per_token"])
    assert s["epochs"] == pytest.approx(round(EXPECTED_STEPS * 4 / s["train_sequences"], 3))
    assert math.isfinite(s["final_train_loss"]) and s["final_train_loss"] > 0
    assert s["parameters"] > s["parameters_non_embedding"] > 0


def test_pretrain_trains_the_weights(twice):
    # the budget export (step 4) and the final weights (step 8) differ: the optimizer did update them
    assert twice.budget1.keys() == twice.weights1.keys()
    assert any(not torch.equal(twice.budget1[k], twice.weights1[k]) for k in twice.weights1)


def test_pretrain_final_weights_are_the_last_checkpoint(twice):
    assert twice.last_ckpt["global_step"] == EXPECTED_STEPS
    state = {k.removeprefix("model."): v for k, v in twice.last_ckpt["state_dict"].items()}
    for k, v in twice.weights1.items():
        assert torch.equal(state[k], v), k
    assert (twice.resume / "budget" / f"step_{EXPECTED_BUDGET_STEP:07d}" / "model.safetensors").is_file()


def test_pretrain_again_resumes_from_last_checkpoint(twice):
    # resumed at global_step == max_steps: no training step runs, and the weights are unchanged
    assert twice.steps_run2 == 0
    assert twice.summary2["steps"] == EXPECTED_STEPS and twice.summary2["tokens_seen"] == 1024
    assert twice.weights2.keys() == twice.weights1.keys()
    for k in twice.weights1:
        assert torch.equal(twice.weights1[k], twice.weights2[k]), k
    # the compute accounting is restored from the checkpoint, not restarted from zero
    assert twice.summary2["train_seconds"] == twice.summary1["train_seconds"] > 0
    assert (twice.out / "checkpoints" / f"step_{EXPECTED_BUDGET_STEP:07d}" / "model.safetensors").is_file()


def test_pretrain_resumed_summary_keeps_final_train_loss(twice):
    assert math.isfinite(twice.summary2["final_train_loss"])
    assert twice.summary2["final_train_loss"] == pytest.approx(twice.summary1["final_train_loss"])
    json.loads((twice.out / "summary.json").read_text(), parse_constant=lambda c: pytest.fail(f"invalid JSON {c}"))


def test_pretrain_with_changed_params_starts_afresh(tmp_path, params, tokenizer_dirs, no_peak_probe):
    _, tok_dir = tokenizer_dirs["gpt"]
    resume = tmp_path / "resume"
    pretrain("gpt", params, tok_dir, tmp_path / "out1", resume, enable_progress_bar=False)
    old_stamp = (resume / "fingerprint.txt").read_text()
    assert (resume / "last.ckpt").is_file()
    changed = load_params(PARAMS_YAML, [*TINY, "pretrain.lr=0.003"])
    with pytest.MonkeyPatch.context() as mp:
        counter = StepCounter(mp)
        summary = pretrain("gpt", changed, tok_dir, tmp_path / "out2", resume, enable_progress_bar=False)
    assert counter.calls == EXPECTED_STEPS  # trained from step 0, not resumed from the finished run
    assert summary["steps"] == EXPECTED_STEPS
    assert (resume / "fingerprint.txt").read_text() != old_stamp
    old, new = _weights(tmp_path / "out1"), _weights(tmp_path / "out2")
    assert any(not torch.equal(new[k], old[k]) for k in new)


def test_pretrain_after_a_code_change_starts_afresh(tmp_path, params, tokenizer_dirs, no_peak_probe):
    """DVC re-runs the stage when the library changes; the finished state of the old code must not be reused."""
    _, tok_dir = tokenizer_dirs["gpt"]
    resume = tmp_path / "resume"
    pretrain("gpt", params, tok_dir, tmp_path / "out1", resume, enable_progress_bar=False)
    with pytest.MonkeyPatch.context() as mp:
        counter = StepCounter(mp)
        pretrain("gpt", params, tok_dir, tmp_path / "out2", resume, enable_progress_bar=False)
    assert counter.calls == 0  # same code, same inputs: resumed from the finished state
    with pytest.MonkeyPatch.context() as mp:
        counter = StepCounter(mp)
        mp.setattr("bertvsgpt.pretraining.run.source_fingerprint", lambda *parts: "edited")
        summary = pretrain("gpt", params, tok_dir, tmp_path / "out3", resume, enable_progress_bar=False)
    assert counter.calls == EXPECTED_STEPS and summary["steps"] == EXPECTED_STEPS


def test_pretrain_empty_train_store_raises(tmp_path, params, no_peak_probe):
    corpus = tmp_path / "c.parquet"
    pl.DataFrame(
        {"doc_id": ["h"], "source": ["t"], "split": ["heldout"], "sentences": [["Only held-out text here."]]}
    ).write_parquet(corpus)
    build_tokenizer("gpt", params, corpus, tmp_path / "tok")
    with pytest.raises(ValueError, match="empty"):
        pretrain("gpt", params, tmp_path / "tok", tmp_path / "out", tmp_path / "resume", enable_progress_bar=False)


def test_scratch_model_dir_has_the_pretrained_shape_and_tokenizer_but_no_weights(tmp_path, params, tokenizer_dirs):
    for arch in ("bert", "gpt"):
        out = tmp_path / f"{arch}-scratch"
        cfg = write_scratch_model(arch, params, tokenizer_dirs[arch][1], out)
        assert sorted(p.name for p in out.iterdir()) == ["config.json", "tokenizer.json"]
        saved = json.loads((out / "config.json").read_text())
        assert saved["scratch"] is True and saved["architecture"] == arch
        assert ModelConfig.from_dict(saved) == cfg
        assert (cfg.d_model, cfg.n_layer, cfg.norm) == (params.model.d_model, params.model.n_layer, getattr(params.model.norm, arch))
        assert cfg.causal is (arch == "gpt")


def test_pretrain_compiled_trains_like_eager_and_resumes(twice, tmp_path, params, no_peak_probe, compile_calls):
    """pretrain.compile.<arch>=true (inductor) runs the same steps as eager: the same weight names in the export
    and the checkpoint, the same weights up to the compiler's rounding, bitwise the same weights when run again
    from scratch, and a second call resumes from the compiled run's checkpoint."""
    compiled = load_params(PARAMS_YAML, [*TINY, f"pretrain.compile.{twice.arch}=true"])
    out, resume = tmp_path / "out", tmp_path / "resume"
    with pytest.MonkeyPatch.context() as mp:
        counter = StepCounter(mp)
        summary = pretrain(twice.arch, compiled, twice.tok_dir, out, resume, enable_progress_bar=False)
        assert summary["steps"] == EXPECTED_STEPS == counter.calls
        assert compile_calls  # the model did go through the compiler
        weights = _weights(out)
        assert weights.keys() == twice.weights1.keys()
        for k, v in twice.weights1.items():
            torch.testing.assert_close(weights[k], v, rtol=1e-4, atol=1e-5, msg=k)
        last = torch.load(resume / "last.ckpt", map_location="cpu", weights_only=True)
        assert last["state_dict"].keys() == twice.last_ckpt["state_dict"].keys()
        again = tmp_path / "again"
        pretrain(twice.arch, compiled, twice.tok_dir, again / "out", again / "resume", enable_progress_bar=False)
        assert all(torch.equal(_weights(again / "out")[k], v) for k, v in weights.items())
        counter.calls = 0
        pretrain(twice.arch, compiled, twice.tok_dir, out, resume, enable_progress_bar=False)
        assert counter.calls == 0
        assert all(torch.equal(_weights(out)[k], v) for k, v in weights.items())
