"""Grow rows/s on one vLLM engine against Ray replicas of it (sampler=ray), same problems, seeds and settings.

    .venv/bin/python bench/ray_grow.py                       # the tiny default model, 256 pool problems x 8
    .venv/bin/python bench/ray_grow.py --model smollm2 --problems 128

In one process, three samplers in turn: (a) one `VLLMSampler` engine in this process, (b) `RaySampler` with one
replica (what Ray itself costs per problem: the same one engine, in an actor), (c) `RaySampler` with --replicas
engines, each on its own cores. Each one is started and warmed up on one prompt first (engine start, and Ray's
for b and c, measured apart as "start s"), then runs Grow as the loop does (`rest.stages.grow.grow`: chunks of
--chunk problems streamed through the engines, every sample judged by the verifier), timed; then it is closed
before the next one starts. Rows are completions (problems x n). Every side's samples are compared with (a)'s.
Writes the figures to --out as JSON.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from omegaconf import OmegaConf

from bench.default_run import cpu_flags
from rest.config import build, compose
from rest.run import Run
from rest.sampler.hardware import engine_dtype
from rest.stages.grow import grow

log = logging.getLogger("bench")
MODELS = {"tiny": [],
          "smollm2": ["model=smollm2", "task.max_operand=20", "task.max_operands=2", "task.sizes.seed=50",
                      "task.sizes.pool=256", "task.sizes.test=128"]}


def measure(run: Run, engine, problems: list, chunk: int) -> dict:
    """Start `engine` (timed apart), then Grow over `problems`; the samples and the figures."""
    start = time.perf_counter()
    sampler = build(engine)
    sampler.generate(run.base_model, ["warm-up\n"], run.grow_settings)
    started = time.perf_counter() - start
    chunks = [problems[i : i + chunk] for i in range(0, len(problems), chunk)]
    start = time.perf_counter()
    samples = [s for part in grow(sampler, run.base_model, run.task, chunks, run.grow_settings, run.verifier,
                                  ("grow", 1), 1) for s in part]
    seconds = time.perf_counter() - start
    sampler.close()
    return {"start_s": round(started, 1), "grow_s": round(seconds, 2), "rows": len(samples),
            "rows_per_s": round(len(samples) / seconds, 1), "problems_per_s": round(len(problems) / seconds, 2),
            "tokens_per_s": round(sum(s.num_tokens for s in samples) / seconds, 1),
            "samples": [(s.problem_id, s.sample_index, s.token_ids, s.completion) for s in samples]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", choices=list(MODELS), default="tiny")
    ap.add_argument("--problems", type=int, default=256, help="the first N problems of the pool split")
    ap.add_argument("--n", type=int, default=8, help="samples per problem")
    ap.add_argument("--chunk", type=int, default=64, help="problems per Grow chunk (one batch of the stream)")
    ap.add_argument("--replicas", type=int, default=2, help="engines of side (c)")
    ap.add_argument("--out", type=Path, default=Path("bench/results/ray_grow.json"))
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    cfg = compose([*MODELS[args.model], f"sampler.grow.n={args.n}", f"task.limits.pool={args.problems}"])
    ray_engine = OmegaConf.to_container(compose([*MODELS[args.model], "sampler=ray"]).sampler.engine, resolve=True)
    sides = {"a: VLLMSampler, 1 engine": cfg.sampler.engine,
             "b: RaySampler, 1 replica": {**ray_engine, "replicas": 1},
             f"c: RaySampler, {args.replicas} replicas": {**ray_engine, "replicas": args.replicas}}
    results = {}
    with Run(cfg, Path("/tmp/bench-ray-grow")) as run:
        problems = run.task.problems("pool")
        for name, engine in sides.items():
            results[name] = measure(run, engine, problems, args.chunk)
            log.info("%s: %s", name, {k: v for k, v in results[name].items() if k != "samples"})
    reference = results[next(iter(results))]["samples"]
    for side in results.values():
        side["same_samples_as_a"] = side.pop("samples") == reference
    dtype = engine_dtype(cfg.sampler.engine.dtype)[0]
    print(f"\n{args.model}, {len(problems)} problems x {args.n} samples, chunks of {args.chunk}, dtype {dtype}, "
          f"{len(os.sched_getaffinity(0))} cores\n")
    print("| sampler | start s | Grow s | rows/s | problems/s | tokens/s | same samples as a |")
    print("|---|---|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['start_s']} | {r['grow_s']} | {r['rows_per_s']} | {r['problems_per_s']} | "
              f"{r['tokens_per_s']} | {'yes' if r['same_samples_as_a'] else 'NO'} |")
    print(f"\nCPU flags: {' '.join(cpu_flags())}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"model": args.model, "problems": len(problems), "n": args.n, "chunk": args.chunk,
                                    "dtype": dtype, "cpu_flags": cpu_flags(), "sides": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
