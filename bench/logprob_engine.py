"""Scored tokens/s of the batched log-prob engine vs one plain forward pass per sample, on the same rows.

    .venv/bin/python bench/logprob_engine.py                      # the committed tiny base model
    .venv/bin/python bench/logprob_engine.py --model PATH          # any local checkpoint
    .venv/bin/python bench/logprob_engine.py --random-width 512    # a random Llama of that width (8 layers, 32k vocab)

Rows: prompts and worked solutions of the built-in arithmetic task (seed split), so lengths vary as in a Grow
step. Both methods compute log pi(a_h | s_h) and V(s_h) for every completion token; the script checks that they
agree (max abs difference) and reports tokens/s of each and their ratio. Timings exclude model loading.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path

import torch

from rest.base_model import init_tiny_llama
from rest.config import build, compose
from rest.scorers.logprobs import LogProbEngine

log = logging.getLogger("bench")
DEFAULT_MODEL = "data/models/tiny-llama-7f493d043a8a"


def rows(count: int) -> tuple[list[str], list[str]]:
    """The default task's prompts and worked solutions (rest/conf/task/arithmetic.yaml, `count` seed problems)."""
    task = build(compose().task, sizes={"seed": count, "pool": 1, "test": 1})
    problems = task.problems("seed")
    return [task.prompt(p) for p in problems], [p.solution for p in problems]


def per_sample(engine: LogProbEngine, prompts: list[str], completions: list[str]) -> list[list[float]]:
    """The plain way: one forward pass per sample, full logits, log-softmax over every position."""
    out = []
    for prompt_ids, completion_ids in engine.encode(prompts, completions):
        ids = torch.tensor([prompt_ids + completion_ids], device=engine.device)
        with torch.no_grad():
            logits = engine.model(input_ids=ids).logits[0].float()
        logprobs = torch.log_softmax(logits, dim=-1)
        positions = torch.arange(len(prompt_ids) - 1, len(prompt_ids) + len(completion_ids) - 1, device=ids.device)
        out.append(logprobs[positions, torch.tensor(completion_ids, device=ids.device)].tolist())
        torch.logsumexp(logits, dim=-1)  # V(s) at alpha = 1, as the engine computes it
    return out


def timed(fn):
    start = time.perf_counter()
    result = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return result, time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None)
    ap.add_argument("--random-width", type=int, default=None, help="benchmark a random Llama of this hidden size")
    ap.add_argument("--rows", type=int, default=1000)
    ap.add_argument("--batch-tokens", type=int, default=8192)
    ap.add_argument("--out", type=Path, default=Path("bench/results/logprob_engine.json"))
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    model = args.model or DEFAULT_MODEL
    if args.random_width:
        model = tempfile.mkdtemp(prefix="bench-llama-")
        w = args.random_width
        init_tiny_llama(model, {"hidden_size": w, "intermediate_size": 4 * w, "num_hidden_layers": 8,
                                    "num_attention_heads": max(1, w // 64), "num_key_value_heads": max(1, w // 64),
                                    "max_position_embeddings": 512}, seed=0)
    prompts, completions = rows(args.rows)
    engine = LogProbEngine(model, batch_tokens=args.batch_tokens, max_length=None)
    engine.score(prompts[:8], completions[:8], alpha=1.0)  # warm-up
    batched, batched_s = timed(lambda: engine.score(prompts, completions, alpha=1.0))
    plain, plain_s = timed(lambda: per_sample(engine, prompts, completions))
    tokens = sum(len(r.token_ids) for r in batched)
    diff = max(abs(a - b) for r, p in zip(batched, plain) for a, b in zip(r.logprobs, p))
    params = sum(p.numel() for p in engine.model.parameters())
    result = {"model": model, "parameters": params, "device": str(engine.device), "dtype": str(engine.dtype),
              "rows": len(prompts), "scored_tokens": tokens, "batch_tokens": args.batch_tokens,
              "batched_tokens_per_s": tokens / batched_s, "per_sample_tokens_per_s": tokens / plain_s,
              "ratio": plain_s / batched_s, "max_abs_logprob_diff": diff, "torch_threads": torch.get_num_threads()}
    print(f"\n{len(prompts)} rows, {tokens} scored tokens, {params / 1e6:.1f}M-parameter model on {engine.device} "
          f"({engine.dtype}), batch_tokens={args.batch_tokens}\n")
    print("| method | scored tokens/s |\n|---|---|")
    print(f"| batched engine | {result['batched_tokens_per_s']:,.0f} |\n| one forward per sample | "
          f"{result['per_sample_tokens_per_s']:,.0f} |")
    print(f"\nratio: {result['ratio']:.1f}x; max |logprob difference| = {diff:.2e}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
