"""Evaluate a policy on held-out problems: greedy pass@1, and pass@k / maj@k from k samples.

Correctness is always judged by the exact-answer verifier, whatever scorer the Improve step uses.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass

from rest.answers import extract_answer, is_equivalent, normalize
from rest.records import Problem
from rest.sampler import SamplingSettings, sample_seed


@dataclass(frozen=True)
class EvalSettings:
    split: str = "test"
    k: int = 4
    temperature: float = 1.0
    max_tokens: int = 64
    stop: tuple[str, ...] = ()
    seed: int = 0


def evaluate(sampler, model_path: str, task, settings: EvalSettings) -> tuple[dict, list[dict]]:
    """Returns (metrics, one row per problem with the greedy completion and the k sampled answers)."""
    start = time.perf_counter()
    problems = task.problems(settings.split)
    prompts = [task.prompt(p) for p in problems]
    greedy = sampler.generate(model_path, prompts, _sampling(settings, n=1, temperature=0.0))
    seeds = [sample_seed(settings.seed, "eval", p.id) for p in problems]
    sampled = sampler.generate(model_path, prompts, _sampling(settings, n=settings.k), seeds)
    rows = [_problem_row(p, g[0].text, [c.text for c in s]) for p, g, s in zip(problems, greedy, sampled)]
    n = max(len(rows), 1)
    metrics = {
        "pass@1": sum(r["greedy_correct"] for r in rows) / n,
        "pass@k": sum(any(r["sampled_correct"]) for r in rows) / n,
        "maj@k": sum(r["majority_correct"] for r in rows) / n,
        "k": settings.k,
        "eval_problems": len(rows),
        "seconds_eval": round(time.perf_counter() - start, 2),
    }
    return metrics, rows


def majority_answer(answers: list[str | None]) -> str | None:
    """Most frequent extracted answer (after normalisation); ties go to the earliest; None never votes."""
    votes = Counter(normalize(a) for a in answers if a is not None)
    return max(votes, key=votes.__getitem__) if votes else None


def _problem_row(problem: Problem, greedy_text: str, sampled_texts: list[str]) -> dict:
    greedy_answer = extract_answer(greedy_text, fallback_last_number=False)
    answers = [extract_answer(t, fallback_last_number=False) for t in sampled_texts]
    majority = majority_answer(answers)
    return {
        "problem_id": problem.id,
        "reference": problem.answer,
        "greedy_completion": greedy_text,
        "greedy_extracted": greedy_answer,
        "greedy_correct": is_equivalent(greedy_answer, problem.answer),
        "sampled_extracted": answers,
        "sampled_correct": [is_equivalent(a, problem.answer) for a in answers],
        "majority_answer": majority,
        "majority_correct": is_equivalent(majority, problem.answer),
    }


def _sampling(settings: EvalSettings, n: int, temperature: float | None = None) -> SamplingSettings:
    return SamplingSettings(
        n=n,
        temperature=settings.temperature if temperature is None else temperature,
        max_tokens=settings.max_tokens,
        stop=list(settings.stop),
    )
