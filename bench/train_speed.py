"""Seconds of the loop's Train with one trainer setting against another, on a finished run's kept samples.

    .venv/bin/python bench/train_speed.py RUN --iteration 1 --a gradient_checkpointing=true \
        --b gradient_checkpointing=false --rounds 2 --out bench/results/train_gradient_checkpointing.json

Both sides train with the run's trainer settings (its model file's, its overrides) from the base model, in this
process, on the samples Improve kept in RUN/iter_N/samples, as the loop's in-process Train does (building the
trainer, tokenizing, training; not saving); A and B alternate (A B, B A, ...). Each Train's seconds, steps and
mean training loss are written to --out, with the CPU flags.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.default_run import cpu_flags
from rest.config import build, compose
from rest.models import resolve_base_model
from rest.stages.train import kept_examples

log = logging.getLogger("bench")


def setting(text: str) -> dict:
    """`key=value` (the value read as YAML) as a one-item dict."""
    key, _, value = text.partition("=")
    return {key: yaml.safe_load(value)}


def one_train(cfg, base: str, examples: list[dict], changes: dict) -> dict:
    """One Train from `base` as the loop's in-process Train runs it (build and train; the save is left out)."""
    trainer = build(cfg.trainer, **changes)
    start = time.perf_counter()
    result = trainer.build(examples, base, tempfile.mkdtemp(prefix="bench-train-")).train()
    seconds = time.perf_counter() - start
    return {"settings": changes, "seconds": round(seconds, 2), "training_loss": result.training_loss,
            "steps": result.global_step}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path)
    parser.add_argument("--iteration", type=int, default=1)
    parser.add_argument("--a", action="append", type=setting, default=[])
    parser.add_argument("--b", action="append", type=setting, default=[])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    overrides = yaml.safe_load((args.run / ".hydra" / "overrides.yaml").read_text()) or []
    cfg = compose(overrides)
    examples = kept_examples(args.run / f"iter_{args.iteration}" / "samples", None)
    base = resolve_base_model(cfg.model, build(cfg.task))
    sides = {"a": {k: v for d in args.a for k, v in d.items()}, "b": {k: v for d in args.b for k, v in d.items()}}
    runs = []
    for i in range(args.rounds):
        for name in ("a", "b") if i % 2 == 0 else ("b", "a"):
            runs.append({"side": name, **one_train(cfg, base, examples, sides[name])})
            log.info("%s", runs[-1])
    totals = {name: sum(r["seconds"] for r in runs if r["side"] == name) for name in sides}
    result = {"run": str(args.run), "iteration": args.iteration, "examples": len(examples), "sides": sides,
              "cpu_flags": cpu_flags(), "runs": runs, "seconds": totals, "b_over_a": round(totals["b"] / totals["a"], 3)}
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    log.info("A %.1fs, B %.1fs over %d rounds: B/A = %.3f", totals["a"], totals["b"], args.rounds, result["b_over_a"])


if __name__ == "__main__":
    main()
