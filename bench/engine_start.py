"""Start time and KV cache of the run's in-process CPU engine, its KV cache capped at what its sequences can fill
(the sampler as it is) against the share of RAM alone (the cap switched off, as before a2bbeba).

    .venv/bin/python bench/engine_start.py                  # the default tiny model, 2 starts a side

Each start is a fresh process with vLLM already imported (only `LLM(...)` is timed); the sides alternate
(capped, share, share, capped) so that drift in the machine's speed falls on both.
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


def measure(capped: bool) -> dict:
    """In this process: the configured engine on the base model; seconds to start, KV cache tokens allocated."""
    from vllm import LLM  # noqa: F401  (vLLM imported before the clock starts)

    from rest.config import compose
    from rest.run import Run
    from rest.sampler import vllm as sampler_module

    if not capped:
        sampler_module.kv_cache_bytes_used = lambda *args: None
    with Run(compose([]), Path("/tmp/bench-engine-start")) as run:
        start = time.perf_counter()
        llm = run.sampler._serve(run.base_model)
        seconds = time.perf_counter() - start
        cache = llm.llm_engine.vllm_config.cache_config
        tokens = cache.num_gpu_blocks * cache.block_size
    return {"seconds": round(seconds, 2), "kv_tokens": tokens}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("bench/results/engine_start.json"))
    args = ap.parse_args()
    runs = {"capped": [], "share": []}
    for side in ("capped", "share", "share", "capped"):
        out = subprocess.run([sys.executable, __file__, "--measure", side], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.splitlines()[-1]
        runs[side].append(json.loads(out))
    mean = {side: sum(r["seconds"] for r in rs) / len(rs) for side, rs in runs.items()}
    result = {"cpu_flags": cpu_flags(), "mean_seconds": mean, "runs": runs}
    print(f"engine start: capped {mean['capped']:.2f} s ({runs['capped'][0]['kv_tokens']:,} KV tokens), "
          f"share of RAM {mean['share']:.2f} s ({runs['share'][0]['kv_tokens']:,}); CPU flags: {' '.join(cpu_flags())}")
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--measure"]:
        print(json.dumps(measure(sys.argv[2] == "capped")))
    else:
        main()
