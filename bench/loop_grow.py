"""Tokens/s of the loop's Grow stage against raw `vllm.LLM.generate`, same dtype, prompts, seeds and settings.

    .venv/bin/python bench/loop_grow.py                          # the default task's pool split (2,000 x 8)
    .venv/bin/python bench/loop_grow.py --problems 500

In the loop, Grow runs on an engine that is already up (Evaluate started it), so both sides are timed with the
engine started and warmed up beforehand: the framework's `grow_stage` (chunks streamed through one engine, the
verifier, the samples dataset written atomically) against one `LLM.generate` call with per-problem
SamplingParams (vLLM as usually called). Rounds alternate the order (A B, B A, ...); the ratio is taken over all
runs' tokens and seconds. Writes the figures to --out as JSON.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rest.config import build, compose
from rest.run import Run
from rest.sampler import sample_seed
from rest.sampler.hardware import engine_dtype
from rest.stages.grow import grow_stage

log = logging.getLogger("bench")


def framework(run: Run) -> tuple[int, float]:
    run.sampler.generate(run.base_model, ["warm-up\n"], run.grow_settings)  # engine up, as after Evaluate
    out = Path(tempfile.mkdtemp(prefix="bench-grow-")) / "grown"
    start = time.perf_counter()
    grow_stage(out, 1, run.base_model, run.task, "pool", run.sampler, run.grow_settings, run.verifier)
    seconds = time.perf_counter() - start
    tokens = json.loads((out / "stats.json").read_text())["tokens_grown"]
    shutil.rmtree(out.parent)
    run.sampler.close()
    return tokens, seconds


def raw_vllm(run: Run) -> tuple[int, float]:
    from vllm import LLM, SamplingParams

    engine = {k: v for k, v in build(run.cfg.sampler.engine).engine_kwargs.items()}
    settings, problems = run.grow_settings, run.task.problems("pool")
    llm = LLM(model=run.base_model, seed=run.cfg.seed, dtype=engine_dtype(run.cfg.sampler.engine.dtype)[0],
              gpu_memory_utilization=run.cfg.sampler.engine.gpu_memory_utilization, **engine)
    params = [SamplingParams(n=settings.n, temperature=settings.temperature, top_p=settings.top_p, top_k=settings.top_k,
                             max_tokens=settings.max_tokens, stop=list(settings.stop) or None, logprobs=0,
                             seed=sample_seed(settings.seed, "grow", 1, p.id)) for p in problems]
    llm.generate(["warm-up\n"], params[0], use_tqdm=False)
    start = time.perf_counter()
    outputs = llm.generate([run.task.prompt(p) for p in problems], params, use_tqdm=False)
    seconds = time.perf_counter() - start
    llm.llm_engine.engine_core.shutdown()
    return sum(len(c.token_ids) for o in outputs for c in o.outputs), seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", type=int, default=None, help="first N problems of the pool split (default: all)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("bench/results/loop_grow.json"))
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    cfg = compose([f"task.limits.pool={args.problems}"] if args.problems else [])
    methods = {"loop Grow stage": framework, "raw LLM.generate": raw_vllm}
    order = [m for r in range(args.rounds) for m in (list(methods) if r % 2 == 0 else list(methods)[::-1])]
    runs = []
    with Run(cfg, Path(tempfile.mkdtemp(prefix="bench-run-"))) as run:
        for method in order:
            tokens, seconds = methods[method](run)
            runs.append({"method": method, "tokens": tokens, "seconds": round(seconds, 2)})
            log.info("%s: %d tokens in %.1fs (%.0f tokens/s)", method, tokens, seconds, tokens / seconds)
    rate = {m: sum(r["tokens"] for r in runs if r["method"] == m) / sum(r["seconds"] for r in runs if r["method"] == m)
            for m in methods}
    dtype = engine_dtype(cfg.sampler.engine.dtype)
    result = {"dtype": dtype, "runs": runs, "tokens_per_s": rate, "ratio": rate["loop Grow stage"] / rate["raw LLM.generate"]}
    print(f"\nengine dtype {dtype[0]} ({dtype[1]}); runs in this order\n\n| method | tokens | seconds | tokens/s |\n|---|---|---|---|")
    for r in runs:
        print(f"| {r['method']} | {r['tokens']} | {r['seconds']:.1f} | {r['tokens'] / r['seconds']:.0f} |")
    print(f"\nratio (loop Grow / raw vLLM, tokens/s over all runs): {result['ratio']:.3f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
