"""Does Grow give the same samples when run again, and under another batching? With vLLM's engine core in its own
process (vLLM's default) and in this process (`sampler.engine.deterministic_scheduling`, the default here).

    .venv/bin/python bench/reproducibility.py                        # the tiny default model
    .venv/bin/python bench/reproducibility.py --model smollm2 --max-tokens 32

In one process, for each side in turn (engine core in another process, then in this one): one engine is started,
warmed up, and runs the loop's Grow (`rest.stages.grow.grow`) over the same problems, seeds and settings --runs
times in chunks of --chunk problems; every rerun is compared with the first, sample by sample (token ids, then
cumulative log-probability). Then the in-process side runs Grow once more per --batchings chunk size, compared with
its first run: what another batching (mode=generate's chunk size, shards, Ray replicas) changes. Writes --out.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.default_run import cpu_flags
from bench.ray_grow import MODELS
from rest.config import build, compose
from rest.run import Run
from rest.sampler.hardware import engine_dtype
from rest.stages.grow import grow

log = logging.getLogger("bench")
SIDES = {"engine core in its own process": False, "engine core in this process": True}


def grow_once(run: Run, sampler, problems: list, chunk: int) -> tuple[list, float]:
    """Grow over `problems` in chunks of `chunk`: the samples and tokens/s."""
    chunks = [problems[i : i + chunk] for i in range(0, len(problems), chunk)]
    start = time.perf_counter()
    samples = [s for part in grow(sampler, run.base_model, run.task, chunks, run.grow_settings, run.verifier,
                                  ("grow", 1), 1) for s in part]
    return samples, sum(s.num_tokens for s in samples) / (time.perf_counter() - start)


def differences(first: list, other: list) -> dict:
    """How many samples differ in their tokens, and how many only in their log-probability (and by how much)."""
    tokens = sum(a.token_ids != b.token_ids for a, b in zip(first, other, strict=True))
    same_tokens = [(a, b) for a, b in zip(first, other) if a.token_ids == b.token_ids]
    logprob = [abs(a.cumulative_logprob - b.cumulative_logprob) for a, b in same_tokens
               if a.cumulative_logprob != b.cumulative_logprob]
    return {"samples": len(first), "other_tokens": tokens, "other_logprob_only": len(logprob),
            "max_logprob_difference": max(logprob, default=0.0)}


def measure(run: Run, engine, problems: list, args) -> dict:
    """One side: --runs Grows in chunks of --chunk, reruns compared with the first; then --batchings if asked."""
    sampler = build(engine)
    sampler.generate(run.base_model, ["warm-up\n"], run.grow_settings)
    runs = [grow_once(run, sampler, problems, args.chunk) for _ in range(args.runs)]
    first = runs[0][0]
    result = {"tokens_per_s": [round(speed, 1) for _, speed in runs],
              "reruns": [differences(first, samples) for samples, _ in runs[1:]]}
    if engine.deterministic_scheduling:
        result["batchings"] = {size: differences(first, grow_once(run, sampler, problems, size)[0])
                               for size in args.batchings}
    sampler.close()
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", choices=list(MODELS), default="tiny")
    ap.add_argument("--problems", type=int, default=64, help="the first N problems of the pool split")
    ap.add_argument("--n", type=int, default=4, help="samples per problem")
    ap.add_argument("--max-tokens", type=int, default=None, help="default: the model file's")
    ap.add_argument("--chunk", type=int, default=8, help="problems per Grow chunk")
    ap.add_argument("--runs", type=int, default=3, help="Grows per side, all compared with the first")
    ap.add_argument("--batchings", type=int, nargs="*", default=[1, 3, 64], help="other chunk sizes")
    ap.add_argument("--dtype", default="auto")
    ap.add_argument("--out", type=Path, default=Path("bench/results/reproducibility.json"))
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    tokens = [f"sampler.grow.max_tokens={args.max_tokens}"] if args.max_tokens else []
    cfg = compose([*MODELS[args.model], *tokens, f"sampler.grow.n={args.n}", f"task.limits.pool={args.problems}",
                   f"sampler.engine.dtype={args.dtype}"])
    results = {}
    with Run(cfg, Path("/tmp/bench-reproducibility")) as run:
        problems = run.task.problems("pool")
        for name, in_process in SIDES.items():
            cfg.sampler.engine.deterministic_scheduling = in_process
            results[name] = measure(run, cfg.sampler.engine, problems, args)
            log.info("%s: %s", name, results[name])
    report(args, cfg, len(problems), results)


def report(args, cfg, problems: int, results: dict) -> None:
    dtype = " ".join(engine_dtype(cfg.sampler.engine.dtype))
    print(f"\n{args.model}, {problems} problems x {args.n} samples, chunks of {args.chunk}, dtype {dtype}, "
          f"CPU flags: {' '.join(cpu_flags())}\n")
    print("| engine core | Grow tokens/s (median) | reruns: samples with other tokens | other log-prob only |")
    print("|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {statistics.median(r['tokens_per_s'])} | "
              f"{', '.join(str(d['other_tokens']) for d in r['reruns'])} of {r['reruns'][0]['samples']} | "
              f"{', '.join(str(d['other_logprob_only']) for d in r['reruns'])} |")
    for size, d in results[next(reversed(results))].get("batchings", {}).items():
        print(f"chunks of {size} instead of {args.chunk}: {d['other_tokens']} samples with other tokens, "
              f"{d['other_logprob_only']} with another log-probability only (max {d['max_logprob_difference']:.2g})")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"model": args.model, "problems": problems, "n": args.n, "chunk": args.chunk,
                                    "dtype": dtype, "cpu_flags": cpu_flags(), "sides": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
