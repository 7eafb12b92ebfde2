"""benchmarks/stage_throughput.py: the pre-training stage's code timed against the bench's step."""

from pathlib import Path

import pytest

from benchmarks import stage_throughput


def test_missing_tokenizers_are_one_error_line_and_exit_2(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data" / "tokenizers" / "bert").mkdir(parents=True)
    (tmp_path / "data" / "tokenizers" / "bert" / "tokenizer.json").write_text("{}")
    assert stage_throughput.main(["--models", "bert", "gpt"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: data/tokenizers/gpt/tokenizer.json is missing (run `make run` first)"]


def test_timing_runs_checkpoint_at_the_default_runs_rate(monkeypatch):
    """The stage saves a resume checkpoint every tenth of its steps; a timing run keeps the default run's
    interval (a tenth of params.yaml's budget in steps), not a tenth of its own few steps."""
    from lightning.pytorch.callbacks import ModelCheckpoint

    from bertvsgpt.config import load_params
    from bertvsgpt.pretraining.module import steps_for_budget

    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    p = load_params("params.yaml").pretrain
    assert stage_throughput.default_run_checkpoint_interval() == steps_for_budget(p.max_tokens, p.batch_size, p.seq_len) // 10
    with stage_throughput.resume_checkpoints_every(781):
        assert ModelCheckpoint(save_last=True, save_top_k=0, every_n_train_steps=6)._every_n_train_steps == 781
    assert ModelCheckpoint(save_last=True, save_top_k=0, every_n_train_steps=6)._every_n_train_steps == 6


@pytest.mark.parametrize("own", [False, True])
def test_stage_run_applies_the_default_runs_checkpoint_rate_unless_asked_not_to(tmp_path, monkeypatch, own):
    """stage_run hands the stage no budget exports and a resume-checkpoint interval of the default run's;
    with own_checkpoints, the short run's own settings (params.yaml's fractions, a tenth of its steps)."""
    import polars as pl
    from lightning.pytorch.callbacks import ModelCheckpoint

    import bertvsgpt.pretraining.run as run_module
    from bertvsgpt.config import load_params

    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    seen = {}

    def fake_pretrain(arch, params, tokenizer_dir, out_dir, resume_dir, enable_progress_bar=True):
        seen["fractions"] = list(params.pretrain.checkpoint_fractions)
        seen["every"] = ModelCheckpoint(save_last=True, save_top_k=0, every_n_train_steps=6)._every_n_train_steps
        Path(out_dir).mkdir(parents=True)
        pl.DataFrame({"step": [8], "tokens_per_second": [1.0]}).write_csv(Path(out_dir) / "curve.csv")
        return {"steps": 8}

    monkeypatch.setattr(run_module, "pretrain", fake_pretrain)
    r = stage_throughput.stage_run("gpt", 64, 4096, tmp_path, own_checkpoints=own)
    assert r["summary"] == {"steps": 8} and r["curve"] == [{"step": 8, "tokens_per_second": 1.0}]
    if own:
        assert seen == {"fractions": list(load_params("params.yaml").pretrain.checkpoint_fractions), "every": 6}
    else:
        assert seen == {"fractions": [], "every": stage_throughput.default_run_checkpoint_interval()}
