"""Grow's adaptive sampling budget against the fixed n=8 default: the whole loop, same seed(s), same iterations.

    .venv/bin/python bench/adaptive_budget.py                                   # fixed n=8 vs budget=adaptive
    .venv/bin/python bench/adaptive_budget.py --adaptive "budget=adaptive budget.target=2" --seeds 0 1

Each configuration runs `python run.py OVERRIDES seed=S algorithm.iterations=I hydra.run.dir=...` in a
subprocess, one after another (fixed first). From each run's metrics.jsonl, per iteration: samples drawn by Grow
(`grown`), judged correct, kept by Improve, problems with a correct sample, Grow rounds, samples drawn per kept
sample, and held-out greedy pass@1. Written to --out and logged as a table; the run directories stay in --runs.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXED = "sampler.grow.n=8 budget=fixed"
COLUMNS = ("iteration", "grown", "correct", "kept", "problems_solved", "rounds", "per_kept", "pass@1")
log = logging.getLogger("bench.adaptive_budget")


def run_loop(overrides: list[str], run_dir: Path) -> dict:
    start = time.perf_counter()
    with (run_dir.parent / f"{run_dir.name}.log").open("w") as out:
        result = subprocess.run([sys.executable, "run.py", *overrides, f"hydra.run.dir={run_dir}"], cwd=ROOT,
                                stdout=out, stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0:
        raise SystemExit(f"run.py {' '.join(overrides)} failed (exit {result.returncode}): see {run_dir}.log")
    metrics = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    rows = [{key: m.get(key) for key in COLUMNS} for m in metrics]
    for row in rows:
        row["per_kept"] = round(row["grown"] / row["kept"], 2) if row["grown"] and row["kept"] else None
    grown = sum(r["grown"] or 0 for r in rows)
    return {"overrides": overrides, "wall_seconds": round(time.perf_counter() - start, 1), "iterations": rows,
            "total_grown": grown, "total_kept": sum(r["kept"] or 0 for r in rows), "final_pass@1": rows[-1]["pass@1"]}


def table(name: str, side: dict) -> str:
    lines = [f"{name}: {' '.join(side['overrides'])} ({side['wall_seconds']:.0f} s)",
             "  ".join(f"{c:>15}" for c in COLUMNS)]
    for row in side["iterations"]:
        lines.append("  ".join(f"{'-' if row[c] is None else (f'{row[c]:.3f}' if c == 'pass@1' else row[c]):>15}"
                               for c in COLUMNS))
    return "\n".join(lines)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--adaptive", nargs="+", default=["budget=adaptive"],
                    help="one quoted override string per adaptive setting to measure")
    ap.add_argument("--seeds", nargs="+", type=int, default=[0])
    ap.add_argument("--iterations", type=int, default=3)
    ap.add_argument("--runs", type=Path, default=None, help="where run directories go (default: a new temp dir)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench/results/adaptive_budget.json")
    args = ap.parse_args()
    runs = args.runs or Path(tempfile.mkdtemp(prefix="bench-adaptive-budget-"))
    runs.mkdir(parents=True, exist_ok=True)
    settings = {"fixed": FIXED, **{f"adaptive_{i}": text for i, text in enumerate(args.adaptive)}}
    result = {"iterations": args.iterations, "seeds": args.seeds, "runs": str(runs), "cpu_flags": cpu_flags(),
              "sides": {}}
    for seed in args.seeds:
        for name, text in settings.items():
            overrides = [*text.split(), f"seed={seed}", f"algorithm.iterations={args.iterations}"]
            log.info("running %s, seed %d: run.py %s", name, seed, " ".join(overrides))
            side = run_loop(overrides, runs / f"{name}_seed{seed}")
            side["vs_fixed"] = compare(side, result["sides"].get(f"fixed_seed{seed}"))
            result["sides"][f"{name}_seed{seed}"] = side
            log.info("%s\n%s", table(f"{name} seed {seed}", side), side["vs_fixed"] or "")
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(result, indent=2) + "\n")  # after every run: a partial result survives


def compare(side: dict, fixed: dict | None) -> dict | None:
    """Samples drawn against the fixed run's, and pass@1 at the last iteration (the goal: >= with <= half)."""
    if fixed is None:
        return None
    ratio = side["total_grown"] / fixed["total_grown"]
    return {"grown_ratio": round(ratio, 3), "final_pass@1": side["final_pass@1"],
            "fixed_final_pass@1": fixed["final_pass@1"],
            "goal_met": ratio <= 0.5 and side["final_pass@1"] >= fixed["final_pass@1"]}


def cpu_flags() -> list[str]:
    flags = Path("/proc/cpuinfo").read_text().split()
    return sorted({f for f in flags if f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")})


if __name__ == "__main__":
    main()
