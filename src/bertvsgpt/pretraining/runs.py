"""Several pre-training runs of one architecture (``pretrain.seeds``) and which one a fine-tuning seed starts from.

A pre-training run's downstream scores move with its seed far more than with the fine-tuning seed (README,
"Pre-training seeds, measured": BERT's news accuracy 60-83 over three pre-training seeds), so an answer read
off one run is that run's luck. The ``pretrain`` stage therefore trains one run per seed into one folder:

* ``data/models/<arch>/``: the run of the first seed (what export, the intrinsic samples, the budget curve and
  the label-efficiency runs use), as with a single run;
* ``data/models/<arch>/runs/seed-<s>/``: each further run, the same files;
* ``data/models/<arch>/runs.json``: ``{"runs": [{"seed": s, "path": "."}, {"seed": s2, "path": "runs/seed-s2"}]}``,
  written last, so its presence means every run finished.

Fine-tuning pairs runs with its seeds: fine-tuning seed ``finetune.seeds[i]`` starts from run ``i``
(:func:`run_for_seed`; the schema requires at least as many fine-tuning seeds as runs), so the ``n``
fine-tuning runs of a pre-trained model span its pre-training runs at the cost of a single one, and the
report's bootstrap, which resamples the runs as well as the test examples, covers both sources of noise.
A folder without ``runs.json`` (a scratch twin, a published checkpoint, an older single run) is its own only run.

Nothing heavy is imported here: stages that only look a run up stay cheap.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..io import read_json, write_json

RUNS_FILE = "runs.json"
RUNS_DIR = "runs"


@dataclass(frozen=True)
class PretrainingRun:
    seed: int | None  # None: a folder that records no run (scratch twin, published checkpoint)
    path: Path


def run_dir(model_dir: Path, index: int, seed: int) -> Path:
    """Where run ``index`` (0 = the first seed) of ``model_dir``'s architecture is written."""
    return Path(model_dir) if index == 0 else Path(model_dir) / RUNS_DIR / f"seed-{seed}"


def write_runs_index(model_dir: Path, seeds: list[int]) -> None:
    """Record the finished runs of ``model_dir`` (call after the last one is written)."""
    runs = [{"seed": int(s), "path": run_dir(Path("."), i, s).as_posix()} for i, s in enumerate(seeds)]
    write_json(Path(model_dir) / RUNS_FILE, {"runs": runs})


def pretraining_runs(model_dir: Path) -> list[PretrainingRun]:
    """The pre-training runs in ``model_dir``, first seed first; a folder without ``runs.json`` is its only run."""
    model_dir = Path(model_dir)
    index = model_dir / RUNS_FILE
    if not index.is_file():
        return [PretrainingRun(None, model_dir)]
    runs = read_json(index).get("runs") or []
    if not runs:
        raise ValueError(f"{index}: lists no pre-training run")
    out = []
    for r in runs:
        path = model_dir if r["path"] == "." else model_dir / r["path"]
        if not (path / "config.json").is_file():
            raise FileNotFoundError(f"{index}: the run of seed {r['seed']} has no config.json in {path}")
        out.append(PretrainingRun(int(r["seed"]), path))
    return out


def run_for_seed(model_dir: Path, index: int) -> PretrainingRun:
    """The pre-training run fine-tuning seed number ``index`` (its position in ``finetune.seeds``) starts from:
    run ``index`` (modulo the number of runs, so a folder with one run serves every seed)."""
    runs = pretraining_runs(model_dir)
    return runs[index % len(runs)]


RECORD = "pretraining_run.json"


def record_run(out_dir: Path, run: PretrainingRun) -> None:
    """Note in a fine-tuning run's output folder which pre-training run it started from."""
    write_json(Path(out_dir) / RECORD, {"pretrain_seed": run.seed, "model_dir": run.path.as_posix()})
