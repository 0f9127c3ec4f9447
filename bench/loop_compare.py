"""Whole loops side by side: named override sets, same seeds, same iterations; held-out pass@1 per iteration,
the gain over iteration 0, and the mean and spread over seeds at the last iteration.

    .venv/bin/python bench/loop_compare.py --out bench/results/self_signals.json --seeds 0 1 \\
        --side plain= --side verifier_free=experiment=verifier_free \\
        --side east_a1="trainer.weighting=east trainer.east_a=1" --side east_a-1="trainer.weighting=east trainer.east_a=-1"

Each side runs `python run.py OVERRIDES sampler.grow.seed=S algorithm.iterations=I hydra.run.dir=RUNS/NAME_seedS` in a
subprocess, one after another. A run directory that exists is resumed (finished stages are skipped), so a run
measured before can be put there and is read back rather than redone. The result file is rewritten after every
run, so a partial measurement survives.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import time
from pathlib import Path
from statistics import mean, pstdev

ROOT = Path(__file__).resolve().parents[1]
log = logging.getLogger("bench.loop_compare")


def run_loop(overrides: list[str], run_dir: Path) -> list[dict]:
    """One loop in a subprocess (resumed when `run_dir` holds a run); its metrics.jsonl rows."""
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    with (run_dir.parent / f"{run_dir.name}.log").open("a") as out:
        result = subprocess.run([sys.executable, "run.py", *overrides, f"hydra.run.dir={run_dir}"], cwd=ROOT,
                                stdout=out, stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0:
        raise SystemExit(f"run.py {' '.join(overrides)} failed (exit {result.returncode}): see {run_dir}.log")
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def summary(runs: dict[int, list[dict]]) -> dict:
    """pass@1 per iteration for each seed; at the last iteration the mean, spread (population std) and gain."""
    last = {seed: rows[-1]["pass@1"] for seed, rows in runs.items()}
    gains = {seed: rows[-1]["pass@1"] - rows[0]["pass@1"] for seed, rows in runs.items()}
    return {"pass@1": {seed: [round(r["pass@1"], 4) for r in rows] for seed, rows in runs.items()},
            "kept": {seed: [r.get("kept") for r in rows] for seed, rows in runs.items()},
            "last_mean": round(mean(last.values()), 4), "last_std": round(pstdev(last.values()), 4),
            "gain_mean": round(mean(gains.values()), 4)}


def cpu_flags() -> list[str]:
    flags = Path("/proc/cpuinfo").read_text().split()
    return sorted({f for f in flags if f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")})


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--side", action="append", required=True, help='NAME="OVERRIDES" (empty: the default run)')
    ap.add_argument("--seeds", nargs="+", type=int, default=[0])
    ap.add_argument("--seed-key", default="sampler.grow.seed",
                    help="what a seed sets: sampler.grow.seed (default: Grow's samples; same task and base model) "
                         "or seed (everything, including the task and the base model)")
    ap.add_argument("--iterations", type=int, default=3)
    ap.add_argument("--runs", type=Path, default=Path("/tmp/loop-compare"))
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    sides = dict(side.split("=", 1) for side in args.side)
    result = {"iterations": args.iterations, "seeds": args.seeds, "runs": str(args.runs), "cpu_flags": cpu_flags(),
              "sides": {}}
    for seed in args.seeds:
        for name, text in sides.items():
            overrides = [*text.split(), f"{args.seed_key}={seed}", f"algorithm.iterations={args.iterations}"]
            start = time.perf_counter()
            rows = run_loop(overrides, args.runs / f"{name}_seed{seed}")
            side = result["sides"].setdefault(name, {"overrides": text, "runs": {}})
            side["runs"][seed] = rows
            side["summary"] = summary(side["runs"])
            log.info("%s seed %d (%.0f s): pass@1 %s", name, seed, time.perf_counter() - start,
                     side["summary"]["pass@1"][seed])
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps({**result, "sides": {k: {"overrides": v["overrides"],
                                                                    "summary": v["summary"]}
                                                                for k, v in result["sides"].items()}}, indent=2) + "\n")


if __name__ == "__main__":
    main()
