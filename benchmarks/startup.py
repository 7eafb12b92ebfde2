"""Start-up time of every pipeline stage entry point (``pipeline/<stage>.py``).

Run from the repository root::

    python -m benchmarks.startup                 # every stage, median of 3 runs each
    python -m benchmarks.startup --runs 5 fetch finetune

Two columns per stage, each the median over ``--runs`` fresh subprocesses:

``import``   process start to the end of ``import pipeline.<stage>`` (what ``python -X importtime``
             breaks down), i.e. the modules a stage loads before it can parse its arguments.
``to work``  process start to the first call into the stage's own work (``fetch_all``,
             ``prepare``, ``build_tokenizer``, the ``pretrain(...)`` call (whose first argument is
             its Lightning logger), ``write_scratch_model``, the task table's ``read_parquet``,
             ``intrinsic_over_runs``, ``load_inputs``): the module import plus loading
             ``params.yaml`` and opening the stage's MLflow run. The stage runs as
             ``python -m pipeline.<stage>`` would, in an empty temporary directory against a
             throwaway ``sqlite`` MLflow store (created by one untimed warm-up run), and is stopped
             at that call, so nothing of the working tree is read or written.

The last column lists the heavy libraries the module import loads (``lightning``, ``mlflow``,
``transformers``, ``torch``): a training stage loads Lightning when it starts training, not before.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# stage -> (arguments, the name in the stage module's namespace of its first own work call)
STAGES: dict[str, tuple[list[str], str]] = {
    "fetch": ([], "fetch_all"),
    "prepare": ([], "prepare"),
    "tokenizer": (["model=bert"], "build_tokenizer"),
    "pretrain": (["model=bert"], "lightning_logger"),  # pretrain(..., logger=lightning_logger(...)) starts with it
    "scratch": (["model=bert"], "write_scratch_model"),
    "finetune": (["model=bert", "task=sentiment"], "pl.read_parquet"),
    "finetune_budget": (["model=bert"], "pl.read_parquet"),  # reads its task table before its MLflow run opens
    "baselines": (["task=sentiment"], "pl.read_parquet"),
    "evaluate": ([], "intrinsic_over_runs"),
    "report": ([], "load_inputs"),
}
HEAVY = ("lightning", "mlflow", "transformers", "torch")

# Runs the stage as `python -m pipeline.<stage>` but stops it at its first work call: run_stage(main)
# replaces that name in main's module namespace first.
_TO_WORK = """
import os, runpy, sys, time
t0 = float(os.environ["STARTUP_T0"])
import bertvsgpt.cli as cli
def stop(*args, **kwargs):
    print(f"STARTUP {time.time() - t0:.4f}", flush=True)
    os._exit(0)
real_run_stage = cli.run_stage
def run_stage(main, *args, **kwargs):
    *owner, name = os.environ["STARTUP_STOP"].split(".")
    namespace = main.__globals__
    target = namespace.get(owner[0]) if owner else None
    if not (hasattr(target, name) if owner else name in namespace):
        print("the stage module has no " + os.environ["STARTUP_STOP"] + ": update STAGES in benchmarks/startup.py", file=sys.stderr)
        sys.exit(3)
    if owner:
        setattr(target, name, stop)
    else:
        namespace[name] = stop
    return real_run_stage(main, *args, **kwargs)
cli.run_stage = run_stage
sys.argv = ["pipeline." + os.environ["STARTUP_STAGE"], *sys.argv[1:]]
runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
print("the stage ended without reaching " + os.environ["STARTUP_STOP"], file=sys.stderr)
sys.exit(1)
"""


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "LOCAL_RANK", "SLURM_PROCID", "JSM_NAMESPACE_RANK")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "src"), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.update(extra)
    return env


def import_time(stage: str) -> tuple[float, list[str]]:
    """Seconds from process start to the end of ``import pipeline.<stage>``, and the heavy modules it loaded."""
    code = f"import sys, pipeline.{stage}; print('HEAVY', *[m for m in {HEAVY!r} if m in sys.modules])"
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_env(), capture_output=True, text=True, check=True)
    elapsed = time.perf_counter() - t0
    heavy = next(line.split()[1:] for line in out.stdout.splitlines() if line.startswith("HEAVY"))
    return elapsed, heavy


def to_work_time(stage: str, workdir: Path) -> float:
    """Seconds from process start to the stage's first work call (see the module docstring)."""
    args, stop = STAGES[stage]
    env = _env(
        STARTUP_T0=repr(time.time()), STARTUP_STOP=stop, STARTUP_STAGE=stage,
        BERTVSGPT_PARAMS=str(ROOT / "params.yaml"), MLFLOW_TRACKING_URI=f"sqlite:///{workdir / 'mlflow.db'}",
    )
    out = subprocess.run([sys.executable, "-c", _TO_WORK, *args], cwd=workdir, env=env, capture_output=True, text=True)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("STARTUP ")), None)
    if line is None:
        raise RuntimeError(f"{stage}: did not reach {stop} (exit {out.returncode}): {out.stderr.strip()[-2000:]}")
    return float(line.split()[1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    present = [s for s in STAGES if (ROOT / "pipeline" / f"{s}.py").is_file()]
    parser.add_argument("stages", nargs="*", default=present, help=f"default: all ({', '.join(present)})")
    parser.add_argument("--runs", type=int, default=3, help="subprocess runs per measurement (median)")
    parser.add_argument("--import-only", action="store_true", help="skip the 'to work' column")
    args = parser.parse_args(argv)
    unknown = [s for s in args.stages if s not in STAGES]
    if unknown:
        parser.error(f"unknown stage(s): {', '.join(unknown)}")

    print(f"{'stage':<16} {'import (s)':>10} {'to work (s)':>11}  heavy modules at import")
    with tempfile.TemporaryDirectory(prefix="startup-") as tmp:
        workdir = Path(tmp)
        if not args.import_only:
            to_work_time("fetch", workdir)  # warm-up: creates the throwaway MLflow store
        for stage in args.stages:
            imports = [import_time(stage) for _ in range(args.runs)]
            imp = statistics.median(t for t, _ in imports)
            work = "" if args.import_only else f"{statistics.median(to_work_time(stage, workdir) for _ in range(args.runs)):.2f}"
            print(f"{stage:<16} {imp:>10.2f} {work:>11}  {' '.join(imports[-1][1]) or '-'}", flush=True)


if __name__ == "__main__":
    main()
