"""Two levers of the translation task, measured from a finished run: BERT's decoder init and the training pairs.

- **Decoder init.** Rothe et al., 2020 ("Leveraging Pre-trained Checkpoints for Sequence Generation Tasks",
  TACL) build a sequence-to-sequence model from a BERT checkpoint two ways: a randomly initialised decoder
  (BERT2RND, what ``bertvsgpt.tasks.translation.BertTranslator`` builds) or a decoder whose blocks start as copies
  of the encoder's (BERT2BERT: self-attention, feed-forward and their LayerNorms copied, the new cross-attention
  and its LayerNorm random). ``--decoder-init random encoder`` runs both (GPT has no separate decoder: ``random``
  only).
- **Training pairs.** ``tasks.<task>.max_train_examples`` caps the training split (3,000 of 16,207 Ding pairs
  in earlier defaults; the whole split now); ``--train-pairs`` fine-tunes with other caps (``0``: the whole split), the curve that
  justifies (or not) the cap.

Every run is the pipeline's own ``finetune_task`` with the models of a finished run (``data/models/<model>``,
``data/prepared/tasks/<task>.parquet``) and ``params.yaml``'s protocol and seeds, the i-th seed from pre-training
run i (``pretrain.seeds``), as the ``finetune`` stage starts it; the cell the run itself made
(random decoder, the params' cap) is read from ``data/finetune/<model>/<task>/seed_<s>`` unless ``--rerun``.
Prints test BLEU and chrF per run and the means per cell; writes ``scores.csv`` under ``--out``. The new runs lie in
``<out>/runs/<init>_<pairs>/<model>/<task>/seed_<s>``, so ``<out>/runs/<init>_<pairs>/<model>`` is a model folder
for ``benchmarks.paired`` (the report's paired bootstrap, against the run's models and baselines).

    python -m benchmarks.mt_levers --workspace /path/to/a/finished/run                      # BERT, both inits
    python -m benchmarks.mt_levers --workspace . --models bert bert-scratch gpt gpt-scratch --train-pairs 3000 0
    python -m benchmarks.paired .bench/mt_levers/runs/random_all/bert --baselines data/baselines \
        --against bert-scratch=.bench/mt_levers/runs/random_all/bert-scratch
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Optional, Sequence

from torch import nn

INITS = ("random", "encoder")  # BERT's decoder: BERT2RND, BERT2BERT


def warm_start_decoder(translator: nn.Module) -> int:
    """Copy encoder block ``i``'s self-attention, MLP and LayerNorms into decoder block ``i`` (BERT2BERT).

    Our post-LN encoder block is ``ln_1(x + attn(x))``, ``ln_2(x + mlp(x))``; the decoder block is
    ``ln_1(x + attn(x))``, ``ln_2(x + cross_attn(x))``, ``ln_3(x + mlp(x))``, so ``ln_3`` takes the encoder's
    ``ln_2``. Decoder blocks beyond the encoder's depth copy its last block. The cross-attention stays as
    initialised. Returns the number of tensors copied."""
    encoder, decoder = translator.encoder.h, translator.decoder.h
    if encoder[0].pre_ln:
        raise ValueError("warm_start_decoder: the decoder blocks are post-LN; a pre-LN encoder's blocks do not map onto them")
    copied = 0
    for i, block in enumerate(decoder):
        source = encoder[min(i, len(encoder) - 1)]
        for target, origin in ((block.attn, source.attn), (block.ln_1, source.ln_1), (block.mlp, source.mlp), (block.ln_3, source.ln_2)):
            target.load_state_dict(origin.state_dict())
            copied += len(origin.state_dict())
    return copied


def finetune(workspace: Path, model: str, run: Any, warm: bool, index: int = 0) -> dict[str, Any]:
    """One fine-tuning run (a ``TaskRun``) from ``workspace``'s ``model`` with the pipeline's own ``finetune_task``,
    BERT's decoder warm-started when ``warm``; returns the run's ``metrics.json``. The run starts from the
    pre-training run the ``finetune`` stage gives the ``index``-th fine-tuning seed (``run_for_seed``: seed i from
    pre-training run i), and records it (``pretraining_run.json``) as the stage does."""
    import bertvsgpt.tasks.translation as translation
    from bertvsgpt.pretraining.runs import record_run, run_for_seed
    from bertvsgpt.tasks.options import RunOptions
    from bertvsgpt.tasks.registry import finetune_task

    start = run_for_seed(workspace / "data/models" / model, index)

    build = translation.build_translator

    def warm_built(pretrained, arch, decoder_layers=translation.DEFAULT_DECODER_LAYERS, config=None):
        translator = build(pretrained, arch, decoder_layers, config)
        if arch == "bert":
            warm_start_decoder(translator)
        return translator

    if warm:  # the task kind builds its model through this module-level function
        translation.build_translator = warm_built
    try:
        finetune_task(start.path, run, options=RunOptions(precision=run.ft_cfg.precision, enable_progress_bar=False))
    finally:
        translation.build_translator = build
    record_run(run.out_dir, start)
    return json.loads((run.out_dir / "metrics.json").read_text())


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.mt_levers", description=__doc__.splitlines()[0])
    ap.add_argument("--workspace", type=Path, default=Path("."), help="a finished run's repository (data/models, data/prepared)")
    ap.add_argument("--models", nargs="+", default=["bert"], help="models of the run (bert, gpt, bert-scratch, gpt-scratch)")
    ap.add_argument("--task", default="mt", help="a translation task of params.yaml")
    ap.add_argument("--seeds", type=int, nargs="+", help="fine-tuning seeds (default: params.yaml finetune.seeds)")
    ap.add_argument("--decoder-init", nargs="+", choices=INITS, default=list(INITS), help="BERT's decoder: random, encoder")
    ap.add_argument("--train-pairs", type=int, nargs="+", help="training-split caps (0: all; default: the params' cap)")
    ap.add_argument("--rerun", action="store_true", help="re-run the cell the finished run made too")
    ap.add_argument("--out", type=Path, default=Path(".bench/mt_levers"), help="where the new runs and scores.csv go")
    args = ap.parse_args(argv)

    from dataclasses import replace

    import polars as pl

    from bertvsgpt.config import load_params
    from bertvsgpt.tasks.options import TaskRun

    params = load_params(args.workspace / "params.yaml")
    task_cfg = params.tasks.get(args.task)
    if task_cfg is None or task_cfg.type != "translation":
        ap.error(f"--task {args.task}: not a translation task of {args.workspace / 'params.yaml'}")
    if args.train_pairs is not None and any(n < 0 for n in args.train_pairs):
        ap.error("--train-pairs must be >= 0 (0: the whole training split)")
    stage_seeds = list(params.finetune.seeds)
    seeds = args.seeds if args.seeds is not None else stage_seeds
    caps = [task_cfg.max_train_examples] if args.train_pairs is None else [n or None for n in args.train_pairs]
    rows: list[dict[str, Any]] = []
    table = None
    for model in args.models:
        inits = [i for i in args.decoder_init if i == "random" or not model.startswith("gpt")]
        for pairs in caps:
            for position, seed in enumerate(seeds):
                # the stage starts finetune.seeds[i] from pre-training run i; a seed it does not list, by its position here
                index = stage_seeds.index(seed) if seed in stage_seeds else position
                for init in inits:
                    t0 = time.perf_counter()
                    own = init == "random" and pairs == task_cfg.max_train_examples and not args.rerun
                    if own:
                        committed = args.workspace / "data/finetune" / model / args.task / f"seed_{seed}" / "metrics.json"
                        if not committed.is_file():
                            print(f"no run at {committed}: run the pipeline first or pass --rerun", file=sys.stderr)
                            return 2
                        m = json.loads(committed.read_text())
                    else:
                        run_dir = args.out / "runs" / f"{init}_{pairs or 'all'}" / model / args.task / f"seed_{seed}"
                        if table is None:  # read once, on the first new run
                            table = pl.read_parquet(args.workspace / "data/prepared/tasks" / f"{args.task}.parquet")
                        run = TaskRun(table, replace(task_cfg, max_train_examples=pairs), params.finetune, seed, run_dir)
                        m = finetune(args.workspace, model, run, init == "encoder", index)
                    rows.append({
                        "model": model, "decoder_init": init, "train_pairs": m["n_train"], "seed": seed,
                        "test_bleu": m["test_bleu"], "test_chrf": m["test_chrf"], "steps_run": m["steps_run"],
                        "train_seconds": m["train_seconds"],
                    })  # fmt: skip
                    print(
                        f"{model:14s} decoder {init:8s} {m['n_train']:6d} pairs seed {seed}  BLEU {m['test_bleu']:6.3f}"
                        f"  chrF {m['test_chrf']:6.2f}  ({'the run' if own else 'new'}, {time.perf_counter() - t0:.0f} s)",
                        flush=True,
                    )
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "scores.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print("means over seeds:")
    cells = sorted(
        {(r["model"], r["decoder_init"], r["train_pairs"]) for r in rows},
        key=lambda c: (args.models.index(c[0]), c[2], INITS.index(c[1])),
    )
    for model, init, pairs in cells:
        cell = [r for r in rows if (r["model"], r["decoder_init"], r["train_pairs"]) == (model, init, pairs)]
        print(
            f"{model:14s} decoder {init:8s} {pairs:6d} pairs  BLEU {statistics.mean(r['test_bleu'] for r in cell):6.3f}"
            f"  chrF {statistics.mean(r['test_chrf'] for r in cell):6.2f}  ({len(cell)} seed(s))"
        )
    print(f"wrote {args.out / 'scores.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
