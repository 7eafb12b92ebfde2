"""benchmarks/stage_throughput.py: the pre-training stage's code timed against the bench's step."""

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
    from pathlib import Path

    from lightning.pytorch.callbacks import ModelCheckpoint

    from bertvsgpt.config import load_params
    from bertvsgpt.pretraining.module import steps_for_budget

    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    p = load_params("params.yaml").pretrain
    assert stage_throughput.default_run_checkpoint_interval() == steps_for_budget(p.max_tokens, p.batch_size, p.seq_len) // 10
    with stage_throughput.resume_checkpoints_every(781):
        assert ModelCheckpoint(save_last=True, save_top_k=0, every_n_train_steps=6)._every_n_train_steps == 781
    assert ModelCheckpoint(save_last=True, save_top_k=0, every_n_train_steps=6)._every_n_train_steps == 6
