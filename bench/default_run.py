"""The default run (`python run.py`), before and after a change, on the same machine in one run of this script.

    .venv/bin/python bench/default_run.py --before 7ba51d5                       # the whole default run, twice
    .venv/bin/python bench/default_run.py --before 7ba51d5 --overrides experiment=smoke sampler.engine.dtype=bfloat16

`--before REV` is checked out into a temporary git worktree and run with this environment (its own `rest`
package comes first on the path); "after" is this checkout. Each side runs `python run.py OVERRIDES` from a
fresh run directory, timed end to end. Printed and written to --out: each side's table (metrics.jsonl), wall
clock, seconds per stage summed over iterations, vLLM engine starts (from the log), and the CPU's flags.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from rest.report import format_table

STAGES = ("seconds_grow", "seconds_improve", "seconds_update_implicit_prm", "seconds_train", "seconds_eval")


def run_side(checkout: Path, overrides: list[str]) -> dict:
    run_dir = Path(tempfile.mkdtemp(prefix="bench-default-run-"))
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "run.py", *overrides, f"hydra.run.dir={run_dir}"], cwd=checkout, check=False,
                            capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{checkout}: run.py failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    metrics = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    log = result.stdout + result.stderr
    return {"checkout": str(checkout), "wall_seconds": round(seconds, 1), "metrics": metrics,
            "engine_starts": log.count("starting vLLM engine"),
            "stage_seconds": {s: round(sum(m.get(s) or 0 for m in metrics), 1) for s in STAGES}}


def cpu_flags() -> list[str]:
    flags = Path("/proc/cpuinfo").read_text().split()
    return sorted({f for f in flags if f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", required=True, help="the git revision to compare against")
    ap.add_argument("--overrides", nargs="*", default=[])
    ap.add_argument("--out", type=Path, default=Path("bench/results/default_run.json"))
    args = ap.parse_args()
    worktree = Path(tempfile.mkdtemp(prefix="bench-before-")) / "checkout"
    subprocess.run(["git", "worktree", "add", "--detach", str(worktree), args.before], cwd=ROOT, check=True)
    try:
        sides = {"before": run_side(worktree, args.overrides), "after": run_side(ROOT, args.overrides)}
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(worktree)], cwd=ROOT, check=True)
    result = {"before_revision": args.before, "overrides": args.overrides, "cpu_flags": cpu_flags(), **sides}
    for name, side in sides.items():
        print(f"\n{name} ({side['checkout']}): {side['wall_seconds']:.0f} s wall clock, "
              f"{side['engine_starts']} engine starts\n{format_table(side['metrics'])}\nstage seconds: {side['stage_seconds']}")
    print(f"\nCPU flags: {' '.join(result['cpu_flags'])}; wall clock after / before: "
          f"{sides['after']['wall_seconds'] / sides['before']['wall_seconds']:.3f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
