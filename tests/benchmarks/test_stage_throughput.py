"""benchmarks/stage_throughput.py: the pre-training stage's code timed against the bench's step."""

from benchmarks import stage_throughput


def test_missing_tokenizers_are_one_error_line_and_exit_2(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data" / "tokenizers" / "bert").mkdir(parents=True)
    (tmp_path / "data" / "tokenizers" / "bert" / "tokenizer.json").write_text("{}")
    assert stage_throughput.main(["--models", "bert", "gpt"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: data/tokenizers/gpt/tokenizer.json is missing (run `make run` first)"]
