"""Stage start-up: importing a stage's entry point loads no library the stage does not need yet.

Every ``python -m pipeline.<stage>`` process pays for what its module imports before it does any work
(about 90 processes per ``dvc repro``). Lightning (with the torchmetrics, scipy.signal, matplotlib and
transformers it loads: 6-8 s), MLflow (3 s) and transformers are imported where they are used: MLflow
when the stage's run opens, Lightning when training starts. The stages that do not train do not import
torch at all. A behaviour test, not a timing test: ``python -m benchmarks.startup`` measures the times.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]

# no stage's module import loads these
NEVER_AT_IMPORT = ("lightning", "pytorch_lightning", "torchmetrics", "mlflow", "transformers")
# the stages that do not train or evaluate a model do not load torch either
CHEAP = ("fetch", "prepare", "tokenizer", "scratch", "report")
# what the baselines stage runs: it scores like a fine-tuned model does, without the fine-tuning stack
BASELINES = sorted(f"bertvsgpt.baselines.{p.stem}" for p in (ROOT / "src/bertvsgpt/baselines").glob("*.py"))


def stage_modules() -> list[str]:
    """``pipeline.<stage>`` of every stage in dvc.yaml."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    return sorted({s.get("do", s)["cmd"].split()[2] for s in stages.values()})


def loaded_by(modules: list[str], watched: tuple[str, ...]) -> dict[str, list[str]]:
    """Import ``modules`` one after the other in one fresh interpreter; for each, the ``watched``
    top-level packages its import loaded (the first module that loads one is the one named)."""
    code = (
        "import importlib, json, sys\n"
        f"watched, out = {watched!r}, {{}}\n"
        "before = set()\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
        "    now = {w for w in watched if w in sys.modules}\n"
        "    out[m] = sorted(now - before)\n"
        "    before = now\n"
        "print(json.dumps(out))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_the_cheap_stages_are_stages():
    assert {f"pipeline.{s}" for s in CHEAP} <= set(stage_modules())


@pytest.mark.parametrize(
    "modules, watched",
    [
        pytest.param([f"pipeline.{s}" for s in CHEAP], NEVER_AT_IMPORT + ("torch",), id="cheap-stages-no-torch"),
        pytest.param(None, NEVER_AT_IMPORT, id="every-stage-no-lightning-mlflow-transformers"),
        pytest.param(BASELINES, NEVER_AT_IMPORT, id="baselines-library-no-lightning-torchmetrics"),
    ],
)
def test_stage_import_loads_no_heavy_library(modules, watched):
    modules = modules or stage_modules()
    loaded = {m: libs for m, libs in loaded_by(modules, watched).items() if libs}
    assert not loaded, f"importing these stage entry points loads libraries they do not need yet: {loaded}"


def test_the_scratch_twin_is_written_without_torch(tmp_path):
    """``write_scratch_model`` itself (not only the import) runs without torch: the scratch stage's
    whole process stays torch-free."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    tok_dir = tmp_path / "tok"
    tok_dir.mkdir()
    vocab = {t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b"])}
    tokenizer = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.save(str(tok_dir / "tokenizer.json"))
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from bertvsgpt.config import load_params\n"
        "from bertvsgpt.pretraining.scratch import write_scratch_model\n"
        f"p = load_params({str(ROOT / 'params.yaml')!r}, ['model.n_layer=1', 'model.d_model=16', 'model.n_head=2', 'model.d_ff=32'])\n"
        f"write_scratch_model('bert', p, Path({str(tok_dir)!r}), Path({str(tmp_path / 'out')!r}))\n"
        "print(sorted(m for m in ('torch', 'lightning', 'mlflow') if m in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"
    config = json.loads((tmp_path / "out" / "config.json").read_text())
    assert config["scratch"] is True and config["architecture"] == "bert" and config["vocab_size"] == len(vocab)
