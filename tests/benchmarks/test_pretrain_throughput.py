"""Tests of benchmarks/pretrain_throughput.py: a tiny end-to-end run and a like-for-like model check."""

from __future__ import annotations

import json
import math

import pytest
import torch

pytest.importorskip("transformers")  # a dev dependency (pyproject's [dev] extra)

from benchmarks import pretrain_throughput as bench  # noqa: E402

TINY = dict(n_layer=1, d_model=32, n_head=2, d_ff=128, vocab_size=128, seq_len=16, batch_size=2)
TINY_ARGS = [
    "--compile", "none",  # eager unless a test asks: compiling is the subject of its own tests
    "--layers", "1", "--d-model", "32", "--heads", "2", "--d-ff", "128", "--vocab", "128",
    "--seq-len", "16", "--batch", "2", "--steps", "1", "--warmup", "0", "--peak-seconds", "0.1",
]  # fmt: skip


def tiny_config(**kw) -> bench.BenchConfig:
    base = dict(
        TINY, dropout=0.1, masked_lm_prob=0.15, max_predictions_per_seq=5, lr=5e-4, weight_decay=0.01,
        grad_clip=1.0, seed=0,
    )  # fmt: skip
    base.update(kw)
    return bench.BenchConfig(**base).validate()


def test_tiny_run_writes_four_models_and_our_over_hf_ratios(tmp_path, capsys):
    out = tmp_path / "bench.json"
    returned = bench.main([*TINY_ARGS, "--dtype", "fp32", "--out", str(out)])

    results = json.loads(out.read_text())
    assert results == json.loads(json.dumps(returned))  # what main returns is what it wrote
    assert set(results["models"]) == {"ours_bert", "hf_bert", "ours_gpt", "hf_gpt"}
    cfg = results["config"]
    assert (cfg["n_layer"], cfg["d_model"], cfg["n_head"], cfg["vocab_size"], cfg["seq_len"], cfg["batch_size"]) == (
        1, 32, 2, 128, 16, 2
    )  # fmt: skip
    assert cfg["tokens_per_step"] == 2 * 16
    for name, r in results["models"].items():
        assert r["tokens_per_s"] > 0, name
        assert r["ms_per_step"] > 0, name
        assert r["mfu"] > 0, name
        assert math.isfinite(r["final_loss"]) and r["final_loss"] > 0, name
        # tokens are batch x seq_len per step for every model
        assert r["tokens_per_s"] == pytest.approx(cfg["tokens_per_step"] / (r["ms_per_step"] / 1000), rel=1e-6)
    models = results["models"]
    for family in ("bert", "gpt"):
        expected = models[f"ours_{family}"]["tokens_per_s"] / models[f"hf_{family}"]["tokens_per_s"]
        assert results["ratios"][family] == pytest.approx(expected)
    assert results["run"]["precision"] == "32-true" and results["run"]["dtype"] == "float32"

    printed = capsys.readouterr().out
    for name in models:
        assert name in printed
    assert printed.count("PASS") + printed.count("FAIL") == 4
    for family in ("bert", "gpt"):  # the GEMM-only bound of each family, and HF's step time over it
        assert results["gemm_floor_ms_per_step"][family] > 0
        expected = models[f"hf_{family}"]["ms_per_step"] / results["gemm_floor_ms_per_step"][family]
        assert results["ceiling_ratios"][family] == pytest.approx(expected)
    assert printed.count("bound: the GEMMs alone") == 2


def test_auto_dtype_follows_the_pipeline():
    from bertvsgpt.hardware import resolve_precision

    assert bench.resolve_dtype("auto")[0] == resolve_precision("auto")
    assert bench.resolve_dtype("fp32") == ("32-true", torch.float32)
    assert bench.resolve_dtype("bf16") == ("bf16-mixed", torch.bfloat16)
    with pytest.raises(ValueError):
        bench.resolve_dtype("fp8")


def test_hf_and_our_models_have_the_same_configuration(capsys):
    cfg = tiny_config()
    models = bench.build_models(cfg)
    counts = {name: bench.count_parameters(m) for name, m in models.items()}
    with capsys.disabled():
        print("\n(total, non-embedding) parameters:", counts)

    # Our count agrees with the models' own definition of non-embedding parameters.
    assert counts["ours_bert"][1] == models["ours_bert"].num_parameters(non_embedding=True)
    assert counts["ours_gpt"][1] == models["ours_gpt"].num_parameters(non_embedding=True)

    # BERT: same embeddings (+ LayerNorm), blocks, pooler, MLM transform + output bias and NSP head,
    # decoder tied to the word embeddings in both -> identical counts.
    assert counts["ours_bert"] == counts["hf_bert"]

    # GPT: OpenAI GPT has no LayerNorm on the embeddings; ours keeps BERT's (weight + bias) on both
    # models so the BERT-vs-GPT comparison is controlled. That is the only difference allowed.
    embedding_layernorm = 2 * cfg.d_model
    assert counts["ours_gpt"][0] - counts["hf_gpt"][0] == embedding_layernorm
    assert counts["ours_gpt"][1] - counts["hf_gpt"][1] == embedding_layernorm

    # Tied input/output embeddings everywhere (also implied by the counts above).
    assert models["ours_bert"].cls_mlm.decoder.weight is models["ours_bert"].bert.embeddings.word_embeddings.weight
    assert models["hf_bert"].cls.predictions.decoder.weight is models["hf_bert"].bert.embeddings.word_embeddings.weight
    assert models["ours_gpt"].lm_head.weight is models["ours_gpt"].transformer.embeddings.word_embeddings.weight
    assert models["hf_gpt"].lm_head.weight is models["hf_gpt"].transformer.tokens_embed.weight

    # Same sizes, dropout and LayerNorm epsilon.
    hb, hg = models["hf_bert"].config, models["hf_gpt"].config
    assert (hb.num_hidden_layers, hb.hidden_size, hb.num_attention_heads, hb.intermediate_size) == (
        cfg.n_layer, cfg.d_model, cfg.n_head, cfg.d_ff
    )  # fmt: skip
    assert (hb.vocab_size, hb.max_position_embeddings, hb.type_vocab_size, hb.hidden_act) == (
        cfg.vocab_size, cfg.seq_len, 2, "gelu"
    )  # fmt: skip
    assert hb.hidden_dropout_prob == hb.attention_probs_dropout_prob == cfg.dropout
    assert (hg.n_layer, hg.n_embd, hg.n_head, hg.vocab_size, hg.n_positions) == (
        cfg.n_layer, cfg.d_model, cfg.n_head, cfg.vocab_size, cfg.seq_len
    )  # fmt: skip
    assert hg.resid_pdrop == hg.embd_pdrop == hg.attn_pdrop == cfg.dropout
    assert models["hf_gpt"].transformer.h[0].mlp.c_fc.nf == cfg.d_ff  # 4 * n_embd, hard-coded by transformers
    for name in ("ours_bert", "ours_gpt"):
        c = models[name].config
        assert (c.n_layer, c.d_model, c.n_head, c.d_ff, c.vocab_size, c.max_seq_len, c.dropout) == (
            cfg.n_layer, cfg.d_model, cfg.n_head, cfg.d_ff, cfg.vocab_size, cfg.seq_len, cfg.dropout
        )  # fmt: skip
    assert hb.layer_norm_eps == hg.layer_norm_epsilon == models["ours_bert"].config.layer_norm_eps
    assert all(m.training for m in models.values())


def test_pre_ln_gpt_is_timed_against_gpt2_with_the_same_parameters():
    """The pipeline's GPT (pre-LN) is compared with GPT2LMHeadModel: the class our export maps it to, with
    exactly our parameter count (no embedding LayerNorm, a final one, exact GELU, any d_ff)."""
    cfg = tiny_config(norm_gpt="pre", d_ff=96)  # GPT-2 takes any inner size
    models = bench.build_models(cfg)
    assert type(models["hf_gpt"]).__name__ == "GPT2LMHeadModel" and bench.hf_gpt_class(cfg) == "GPT2LMHeadModel"
    assert models["ours_gpt"].config.norm == "pre" and models["hf_gpt"].config.activation_function == "gelu"
    assert bench.count_parameters(models["ours_gpt"]) == bench.count_parameters(models["hf_gpt"])
    assert models["hf_gpt"].transformer.h[0].mlp.c_fc.nf == 96


def test_the_bench_runs_the_pipelines_blocks():
    """Unset, the blocks come from params.yaml's model.norm, as pre-training builds them."""
    from bertvsgpt.config import load_params

    norm = load_params("params.yaml").model.norm
    cfg = bench.bench_config(bench.parse_args(TINY_ARGS))
    assert (cfg.norm_bert, cfg.norm_gpt) == (norm.bert, norm.gpt)


def test_d_ff_must_be_four_times_d_model():
    with pytest.raises(ValueError, match="4 \\* d_model"):
        tiny_config(d_ff=96)


def test_bert_batch_has_the_same_targets_in_both_formats():
    cfg = tiny_config(batch_size=3)
    b = bench.make_bert_batch(cfg, torch.Generator().manual_seed(0))
    n, P = cfg.num_predictions, cfg.max_predictions_per_seq
    assert n == 2 and P == 5  # round(16 * 0.15) real predictions, padded to max_predictions_per_seq slots
    assert (b["masked_labels"][:, n:] == bench.IGNORE_INDEX).all()
    assert (b["masked_positions"][:, :n] > 0).all()  # never [CLS]
    hf = b["hf_labels"]
    assert ((hf != bench.IGNORE_INDEX).sum(dim=1) == n).all()
    for row in range(3):
        pos = b["masked_positions"][row, :n]
        assert torch.equal(hf[row, pos], b["masked_labels"][row, :n])
        assert (b["input_ids"][row, pos] == bench.MASK_ID).all()
    g = bench.make_gpt_batch(cfg, torch.Generator().manual_seed(0))
    assert torch.equal(g["targets"][:, :-1], g["input_ids"][:, 1:])
    assert (g["targets"][:, -1] == bench.IGNORE_INDEX).all()


@pytest.mark.parametrize("family", ["bert", "gpt"])
def test_step_gemms_are_the_flops_the_models_are_credited(family):
    """The GEMM-only floor times exactly the matmul work MFU counts: 2 x sum(b m k n) over the
    listed products = (6 N + 12 L d T) per token x tokens, N = weight matrices + the projection."""
    from bertvsgpt.pretraining.flops import flops_per_token, output_projection_params

    cfg = tiny_config(n_layer=2, max_predictions_per_seq=3)
    gemm_flops = 2 * sum(b * m * k * n for b, m, k, n in bench.step_gemms(cfg, family))
    d, f = cfg.d_model, cfg.d_ff
    weights = cfg.n_layer * (3 * d * d + d * d + d * f + f * d)  # matrices only: biases are not GEMMs
    head = output_projection_params(family, cfg.vocab_size, d, cfg.seq_len, cfg.max_predictions_per_seq)
    tokens = cfg.batch_size * cfg.seq_len
    expected = flops_per_token(0, cfg.n_layer, d, cfg.seq_len) * tokens + 6 * (weights + head) * tokens
    if family == "bert":
        expected += 6 * cfg.batch_size * d * d  # the pooler, once per sequence
    assert gemm_flops == pytest.approx(expected, rel=1e-9)


def test_repeats_give_medians_and_profile_lists_our_models_top_operators(tmp_path, capsys):
    """--repeats N: every model timed N times (interleaved), the table's ms/step the median of the runs;
    --profile: our two models' operators by self time per step, shares summing to 1 with a (rest) row."""
    import statistics

    results = bench.main([*TINY_ARGS, "--dtype", "fp32", "--repeats", "3", "--profile", "--out", str(tmp_path / "b.json")])
    assert results["run"]["repeats"] == 3
    for name, r in results["models"].items():
        assert len(r["ms_per_step_runs"]) == 3, name
        assert r["ms_per_step"] == pytest.approx(statistics.median(r["ms_per_step_runs"])), name
        if name.startswith("ours"):
            ops = [row["op"] for row in r["profile"]]
            assert ops[-1] == "(rest)" and len(ops) <= bench.PROFILE_TOP + 1
            assert any(op.startswith("aten::") for op in ops), ops
            assert sum(row["share"] for row in r["profile"]) == pytest.approx(1.0)
            shares = [row["self_ms_per_step"] for row in r["profile"][:-1]]
            assert shares == sorted(shares, reverse=True)
        else:
            assert "profile" not in r  # HF's models are timed, not profiled
    printed = capsys.readouterr().out
    assert "median of 3 run(s)" in printed
    assert printed.count("where a step's time goes") == 2


def test_repeats_must_be_positive():
    with pytest.raises(SystemExit):
        bench.parse_args(["--repeats", "0"])


def test_compile_defaults_to_what_the_stage_compiles_and_names_models(tmp_path):
    """Unset, --compile follows params.yaml's pretrain.compile for our two models (the stage never compiles
    HF's); bare --compile is all four; names pick models; 'none' is none and stands alone."""
    from pathlib import Path

    from bertvsgpt.config import load_params

    text = Path(bench.DEFAULT_PARAMS).read_text()
    on = load_params(bench.DEFAULT_PARAMS).pretrain.compile
    assert on.gpt and not on.bert  # the default: GPT's step compiled, BERT's eager (README "Measured")
    assert bench.compiled_models(bench.parse_args([])) == {"ours_gpt"}
    both = tmp_path / "params.yaml"
    both.write_text(text.replace("    bert: false  ", "    bert: true   "))
    assert load_params(both).pretrain.compile.bert
    assert bench.compiled_models(bench.parse_args(["--params", str(both)])) == {"ours_bert", "ours_gpt"}
    assert bench.compiled_models(bench.parse_args(["--compile"])) == set(bench.MODEL_NAMES)
    assert bench.compiled_models(bench.parse_args(["--compile", "ours_gpt", "hf_gpt"])) == {"ours_gpt", "hf_gpt"}
    assert bench.compiled_models(bench.parse_args(["--params", str(both), "--compile", "none"])) == frozenset()
    with pytest.raises(SystemExit):
        bench.parse_args(["--compile", "none", "ours_gpt"])
    with pytest.raises(SystemExit):
        bench.parse_args(["--compile", "ours_t5"])


def test_compiled_gpt_trains_like_eager_and_reports_its_compile_time(tmp_path, capsys, compile_calls):
    """torch.compile of our GPT's step (the fused vocabulary loss included) gives the eager step's losses;
    the first warm-up step, where compilation happens, is reported per run."""
    args = [*TINY_ARGS[:-6], "--steps", "2", "--warmup", "1", "--peak-seconds", "0.1", "--dtype", "fp32", "--repeats", "1"]
    eager = bench.main([*args, "--compile", "none", "--out", str(tmp_path / "e.json")])
    assert compile_calls == []
    compiled = bench.main([*args, "--compile", "ours_gpt", "--out", str(tmp_path / "c.json")])
    assert compile_calls == ["GPTForPreTraining"]  # ours_gpt, and nothing else, went through the compiler
    assert compiled["run"]["compiled"] == ["ours_gpt"] and eager["run"]["compiled"] == []
    for name, r in compiled["models"].items():
        assert r["compiled"] == (name == "ours_gpt"), name
        assert len(r["first_step_seconds_runs"]) == 1 and r["first_step_seconds_runs"][0] > 0, name
    assert compiled["models"]["ours_gpt"]["final_loss"] == pytest.approx(eager["models"]["ours_gpt"]["final_loss"], rel=1e-4)
    assert "compiled: ours_gpt" in capsys.readouterr().out


def _casts_per_step(name: str, low_precision_weights: bool) -> tuple[int, set[torch.dtype]]:
    """(number of tensor casts, aten::_to_copy of a non-scalar, in one bf16 training step; dtypes of the
    parameters after it). Scalars are left out: the optimizer's step counters are cast either way."""
    from torch.profiler import profile

    cfg = tiny_config(dropout=0.0)
    model = bench.build_model(name, cfg)
    step = bench.make_step(
        name, model, cfg, torch.device("cpu"), torch.bfloat16, False, low_precision_weights=low_precision_weights
    )
    batch = bench.make_batches(cfg, 1, torch.device("cpu"))[bench.family(name)][0]
    step(batch)  # the optimizer's state is created in the first step
    with profile(record_shapes=True) as prof:
        loss = step(batch)
    assert math.isfinite(float(loss))
    casts = sum(
        e.count for e in prof.key_averages(group_by_input_shape=True)
        if e.key == "aten::_to_copy" and e.input_shapes and e.input_shapes[0]
    )  # fmt: skip
    return casts, {p.dtype for p in model.parameters()}


@pytest.mark.parametrize("name", ["ours_bert", "ours_gpt"])
def test_bf16_weights_train_without_autocasts_casts(name):
    """--bf16-weights: the parameters are bf16 and a step casts far less than the autocast step, which keeps
    fp32 weights and casts every Linear's weight and input to bf16 (and gradients back)."""
    autocast_casts, autocast_dtypes = _casts_per_step(name, False)
    casts, dtypes = _casts_per_step(name, True)
    assert autocast_dtypes == {torch.float32} and dtypes == {torch.bfloat16}
    assert autocast_casts >= 10  # every Linear's weight and input, forward and backward
    assert casts <= autocast_casts // 4, (casts, autocast_casts)


def test_bf16_weights_runs_all_four_models_and_needs_bf16(tmp_path, capsys):
    results = bench.main([*TINY_ARGS, "--dtype", "bf16", "--bf16-weights", "--out", str(tmp_path / "b.json")])
    assert results["run"]["bf16_weights"] is True and results["run"]["dtype"] == "bfloat16"
    for name, r in results["models"].items():
        assert math.isfinite(r["final_loss"]) and r["ms_per_step"] > 0, name
    assert "bfloat16 weights, no autocast" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="--bf16-weights needs a bf16 training dtype"):
        bench.main([*TINY_ARGS, "--dtype", "fp32", "--bf16-weights", "--out", str(tmp_path / "f.json")])
    assert not (tmp_path / "f.json").exists()
