"""Tests of benchmarks/mt_levers.py: the BERT2BERT warm start and the command's refusals."""

from __future__ import annotations

import shutil
from dataclasses import replace

import pytest
import torch

from benchmarks import mt_levers as bench
from bertvsgpt.models import BertForPreTraining, ModelConfig
from bertvsgpt.tasks.translation import BertTranslator

CFG = ModelConfig(vocab_size=50, n_layer=2, n_head=2, d_model=16, d_ff=32, max_seq_len=12, dropout=0.0,
                  type_vocab_size=2, causal=False)  # fmt: skip


def _same(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_warm_start_copies_each_encoder_block_into_its_decoder_block():
    torch.manual_seed(0)
    translator = BertTranslator(BertForPreTraining(CFG), decoder_layers=3)
    cross = [(b.cross_attn.state_dict(), b.ln_2.state_dict()) for b in translator.decoder.h]
    cross = [({k: v.clone() for k, v in c.items()}, {k: v.clone() for k, v in n.items()}) for c, n in cross]
    enc, dec = translator.encoder.h, translator.decoder.h
    assert not _same(dec[0].attn, enc[0].attn) and not _same(dec[1].mlp, enc[1].mlp)  # random before

    batch = {"src_ids": torch.randint(5, 50, (2, 6)), "src_mask": torch.ones(2, 6, dtype=torch.long),
             "decoder_ids": torch.randint(5, 50, (2, 5))}  # fmt: skip
    before, _ = translator(batch)
    copied = bench.warm_start_decoder(translator)

    assert copied == 3 * sum(len(m.state_dict()) for m in (enc[0].attn, enc[0].ln_1, enc[0].mlp, enc[0].ln_2))
    for i, block in enumerate(dec):
        source = enc[min(i, len(enc) - 1)]  # the third decoder block copies the last encoder block
        assert _same(block.attn, source.attn) and _same(block.ln_1, source.ln_1)
        assert _same(block.mlp, source.mlp) and _same(block.ln_3, source.ln_2)  # the post-MLP LayerNorm
        assert block.attn.c_attn.weight is not source.attn.c_attn.weight  # copies, not shared parameters
        for k, v in cross[i][0].items():  # the cross-attention and its LayerNorm stay as initialised
            assert torch.equal(block.cross_attn.state_dict()[k], v)
        for k, v in cross[i][1].items():
            assert torch.equal(block.ln_2.state_dict()[k], v)
    after, _ = translator(batch)
    assert after.shape == before.shape and not torch.allclose(after, before)


def test_warm_start_refuses_a_pre_ln_encoder():
    translator = BertTranslator(BertForPreTraining(replace(CFG, norm="pre")), decoder_layers=2)
    with pytest.raises(ValueError, match="pre-LN"):
        bench.warm_start_decoder(translator)


def test_refuses_a_task_that_is_not_translation_and_a_workspace_without_runs(tmp_path, capsys):
    with pytest.raises(SystemExit):
        bench.main(["--workspace", ".", "--task", "sentiment"])
    assert "not a translation task" in capsys.readouterr().err
    shutil.copy("params.yaml", tmp_path / "params.yaml")
    assert bench.main(["--workspace", str(tmp_path), "--seeds", "0", "--out", str(tmp_path / "out")]) == 2
    assert "no run at" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        bench.main(["--workspace", ".", "--train-pairs", "-1"])
    assert "--train-pairs must be >= 0" in capsys.readouterr().err


def test_each_fine_tuning_seed_starts_from_its_own_pre_training_run(tmp_path, monkeypatch):
    """As the ``finetune`` stage does (``run_for_seed``), the i-th seed fine-tunes pre-training run i and records it;
    an earlier version started every seed from the first run."""
    import json
    from types import SimpleNamespace

    import bertvsgpt.tasks.registry as registry
    from bertvsgpt.pretraining.runs import write_runs_index

    model_dir = tmp_path / "data/models/bert"
    for sub in (model_dir, model_dir / "runs/seed-1"):
        sub.mkdir(parents=True)
        (sub / "config.json").write_text("{}")
    write_runs_index(model_dir, [42, 1])
    started = []

    def fake_finetune_task(path, run, options=None):
        started.append(path)
        run.out_dir.mkdir(parents=True)
        (run.out_dir / "metrics.json").write_text(json.dumps({"test_bleu": 1.0}))

    monkeypatch.setattr(registry, "finetune_task", fake_finetune_task)
    for index in (0, 1):
        run = SimpleNamespace(out_dir=tmp_path / f"out/seed_{index}", ft_cfg=SimpleNamespace(precision="32"))
        assert bench.finetune(tmp_path, "bert", run, False, index) == {"test_bleu": 1.0}
        recorded = json.loads((run.out_dir / "pretraining_run.json").read_text())
        assert recorded["pretrain_seed"] == (42, 1)[index]
    assert started == [model_dir, model_dir / "runs/seed-1"]


def test_a_seed_keeps_its_pre_training_run_when_run_alone(tmp_path, monkeypatch):
    """``--seeds 1`` alone still fine-tunes from pre-training run 1 (seed 1's place in ``finetune.seeds``), and a seed
    the stage does not list takes its position in ``--seeds``."""
    import polars as pl

    shutil.copy("params.yaml", tmp_path / "params.yaml")
    (tmp_path / "data/prepared/tasks").mkdir(parents=True)
    pl.DataFrame({"x": [1]}).write_parquet(tmp_path / "data/prepared/tasks/mt.parquet")
    calls = []

    def fake(workspace, model, run, warm, index=0):
        calls.append((run.seed, index))
        return {"n_train": 5, "test_bleu": 0.0, "test_chrf": 0.0, "steps_run": 1, "train_seconds": 0.0}

    monkeypatch.setattr(bench, "finetune", fake)
    args = ["--workspace", str(tmp_path), "--models", "gpt", "--train-pairs", "5", "--out", str(tmp_path / "out")]
    assert bench.main([*args, "--seeds", "1"]) == 0
    assert bench.main([*args, "--seeds", "7", "0"]) == 0
    assert calls == [(1, 1), (7, 0), (0, 0)]
