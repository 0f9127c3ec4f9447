"""Rows/s of `mode=generate` vs calling vLLM directly on the same prompts with the same settings, same run.

    .venv/bin/python bench/generate_overhead.py                 # the default task's pool split (2,000 x 8 rows)
    .venv/bin/python bench/generate_overhead.py --problems 500 --overrides sampler.grow.n=4

Both sides are timed end to end, engine start and shutdown included, vLLM imported before: mode=generate (chunks, the verifier, the scorers in
`scorers`, atomic chunk files, the dataset/Parquet/JSONL export) from a fresh run directory, and
`vllm.LLM(...)` + `LLM.generate` with the same per-problem seeds and SamplingParams, as vLLM is usually called and
with `detokenize=False` plus one `batch_decode` after (the framework's own way, see rest/sampler/requests.py).
Both sides use the engine dtype `sampler.engine.dtype` resolves to on this machine. The first run of a
process is slower (warm-up), so rounds alternate the order (A B C, C B A, ...) and each
ratio is taken over all runs' rows and seconds; every run is printed. Writes the figures to --out as JSON.
"""

from __future__ import annotations

import argparse
import gc
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
from rest.models import resolve_base_model
from rest.run import execute
from rest.sampler import sample_seed
from rest.sampler.hardware import engine_dtype

log = logging.getLogger("bench")


def raw_vllm(cfg, model: str, prompts: list[str], seeds: list[int], batch_decode: bool = False) -> tuple[int, float]:
    """`batch_decode`: vLLM skips detokenizing and the texts are decoded in one call after, as mode=generate does."""
    from vllm import LLM, SamplingParams

    engine = build(cfg.sampler.engine).engine_kwargs  # what the framework forwards to vllm.LLM
    grow = cfg.sampler.grow
    start = time.perf_counter()
    llm = LLM(model=model, seed=cfg.seed, dtype=engine_dtype(cfg.sampler.engine.dtype)[0],
              gpu_memory_utilization=cfg.sampler.engine.gpu_memory_utilization, **engine)
    params = [SamplingParams(n=grow.n, temperature=grow.temperature, top_p=grow.top_p, top_k=grow.top_k,
                             max_tokens=grow.max_tokens, stop=list(grow.stop) or None, logprobs=0, seed=s,
                             detokenize=not batch_decode) for s in seeds]
    outputs = llm.generate(prompts, params, use_tqdm=False)
    if batch_decode:
        llm.get_tokenizer().batch_decode([c.token_ids for o in outputs for c in o.outputs], skip_special_tokens=True)
    rows = sum(len(o.outputs) for o in outputs)
    llm.llm_engine.engine_core.shutdown()  # mode=generate shuts its engine down too (to free the memory)
    del llm
    gc.collect()
    return rows, time.perf_counter() - start


def framework(cfg) -> tuple[int, float]:
    run_dir = Path(tempfile.mkdtemp(prefix="bench-generate-"))
    start = time.perf_counter()
    execute(cfg, run_dir)
    seconds = time.perf_counter() - start
    rows = sum(1 for _ in (run_dir / "dataset.jsonl").open())
    shutil.rmtree(run_dir)
    return rows, seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", type=int, default=None, help="first N problems of the split (default: all)")
    ap.add_argument("--rounds", type=int, default=2, help="rounds of (mode=generate, raw), order alternating: ABBA...")
    ap.add_argument("--overrides", nargs="*", default=[])
    ap.add_argument("--out", type=Path, default=Path("bench/results/generate_overhead.json"))
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    overrides = ["mode=generate", *args.overrides] + ([f"task.limits.pool={args.problems}"] if args.problems else [])
    cfg = compose(overrides)
    task = build(cfg.task)
    problems = task.problems(cfg.mode.split)
    model = cfg.mode.policy or resolve_base_model(cfg.model, task)
    prompts = [task.prompt(p) for p in problems]
    seeds = [sample_seed(cfg.sampler.grow.seed, "generate", p.id) for p in problems]

    from vllm import LLM, SamplingParams  # noqa: F401  (loaded before either clock starts, as raw_vllm loads them)

    if list(cfg.sampler.grow.stop):
        raise SystemExit("this benchmark compares runs without stop strings (with them, vLLM must detokenize)")
    methods = {"framework": lambda: framework(cfg), "raw": lambda: raw_vllm(cfg, model, prompts, seeds),
               "raw_batch_decode": lambda: raw_vllm(cfg, model, prompts, seeds, batch_decode=True)}
    order = [m for r in range(args.rounds) for m in (list(methods) if r % 2 == 0 else list(methods)[::-1])]
    runs = []
    for method in order:
        rows, seconds = methods[method]()
        runs.append({"method": method, "rows": rows, "seconds": seconds})
        log.info("%s: %d rows in %.1fs", method, rows, seconds)
    result = summary(runs, list(methods), cfg, len(problems))
    print_table(runs, result, cfg, len(problems))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


def summary(runs: list[dict], methods: list[str], cfg, problems: int) -> dict:
    """Rows/s of each method over all its runs, and the framework's ratio to raw vLLM."""
    total = {m: (sum(r["rows"] for r in runs if r["method"] == m), sum(r["seconds"] for r in runs if r["method"] == m))
             for m in methods}
    rate = {m: rows / seconds for m, (rows, seconds) in total.items()}
    return {"problems": problems, "n": cfg.sampler.grow.n, "chunk_size": cfg.mode.chunk_size,
            "scorers": list(cfg.scorers), "runs": runs, "framework_rows_per_s": rate["framework"],
            "raw_rows_per_s": rate["raw"], "raw_batch_decode_rows_per_s": rate["raw_batch_decode"],
            "ratio": rate["framework"] / rate["raw"], "ratio_to_batch_decode": rate["framework"] / rate["raw_batch_decode"]}


def print_table(runs: list[dict], result: dict, cfg, problems: int) -> None:
    print(f"\n{problems} problems x {cfg.sampler.grow.n} samples, chunk_size {cfg.mode.chunk_size}, "
          f"engine start and shutdown included on both sides, runs in this order\n")
    print("| method | rows | seconds | rows/s |\n|---|---|---|---|")
    names = {"framework": "mode=generate (rest.run.execute, in-process)", "raw": "vllm.LLM + generate",
             "raw_batch_decode": "vllm.LLM + generate(detokenize=False) + batch_decode"}
    for r in runs:
        print(f"| {names[r['method']]} | {r['rows']} | {r['seconds']:.1f} | {r['rows'] / r['seconds']:.0f} |")
    print(f"\nratio (framework / raw vLLM, rows/s over all runs): {result['ratio']:.3f}; "
          f"to raw vLLM decoding in one batch as the framework does: {result['ratio_to_batch_decode']:.3f}")


if __name__ == "__main__":
    main()
