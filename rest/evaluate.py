"""Evaluate a policy on held-out problems: greedy pass@1, and pass@k / maj@k from k samples drawn with the
Grow step's sampling settings (its temperature, top-p/k, max_tokens and stop strings: the model's own).

Correctness is always judged by the run's verifier (the exact answer; a code task's unit tests), whatever scorer
the Improve step uses. maj@k votes on the extracted answers (for code: the program text).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace
from itertools import accumulate, pairwise
from typing import TYPE_CHECKING

from rest.records import Problem
from rest.sampler import SamplingSettings, sample_seed
from rest.verifier.equivalence import vote_key

if TYPE_CHECKING:
    from rest.contracts import Judge, Sampler, Task


@dataclass(frozen=True)
class EvalSettings:
    """The loop's `mode.eval`: which split, and how many samples for pass@k and maj@k (0: greedy pass@1 only)."""

    split: str
    k: int


def evaluate(sampler: Sampler, model_path: str, task: Task, settings: EvalSettings, sampling: SamplingSettings,
             verifier: Judge) -> tuple[dict, list[dict]]:
    """Returns (metrics, one row per problem with the greedy completion and the k sampled answers)."""
    start = time.perf_counter()
    problems = task.problems(settings.split)
    prompts = [task.prompt(p) for p in problems]
    greedy = sampler.generate(model_path, prompts, replace(sampling, n=1, temperature=0.0))
    seeds = [sample_seed(sampling.seed, "eval", p.id) for p in problems]
    sampled = sampler.generate(model_path, prompts, replace(sampling, n=settings.k), seeds) if settings.k else [
        [] for _ in problems]
    rows = _judge(problems, [g[0].text for g in greedy], [[c.text for c in s] for s in sampled], verifier,
                  task.answer_fallback)
    n = max(len(rows), 1)
    metrics = {
        "pass@1": sum(r["greedy_correct"] for r in rows) / n,
        "pass@k": sum(any(r["sampled_correct"]) for r in rows) / n if settings.k else None,
        "maj@k": sum(bool(r["majority_correct"]) for r in rows) / n if settings.k else None,
        "k": settings.k,
        "eval_problems": len(rows),
        "tokens_eval": sum(len(c.token_ids) for completions in (*greedy, *sampled) for c in completions),
        "seconds_eval": round(time.perf_counter() - start, 2),
    }
    return metrics, rows


def majority_answer(answers: list[str | None], key: Callable[[str], Hashable] = vote_key) -> str | None:
    """Most frequent extracted answer (by `key`: the same number, or the same text after normalisation); ties go to
    the earliest; None never votes."""
    keyed = [(key(a), a) for a in answers if a is not None]
    votes = Counter(k for k, _ in keyed)
    if not votes:
        return None
    winner = max(votes, key=votes.__getitem__)
    return next(a for k, a in keyed if k == winner)


def _judge(problems: list[Problem], greedy: list[str], sampled: list[list[str]], verifier: Judge,
           fallback: str | None) -> list[dict]:
    """All of an evaluation's pairs go to the verifier in three batches (greedy, sampled, majority)."""
    references = [p.answer for p in problems]
    greedy_verdicts = verifier.verify(greedy, references, fallback)
    flat = verifier.verify([t for texts in sampled for t in texts],
                           [r for r, texts in zip(references, sampled) for _ in texts], fallback)
    offsets = [0, *accumulate(len(texts) for texts in sampled)]
    per_problem = [flat[a:b] for a, b in pairwise(offsets)]
    majorities = [majority_answer([v.extracted for v in verdicts]) for verdicts in per_problem]
    majority_verdicts = verifier.judge(majorities, references)
    return [
        {
            "problem_id": problem.id,
            "reference": problem.answer,
            "greedy_completion": text,
            "greedy_extracted": g.extracted,
            "greedy_correct": g.correct,
            "greedy_verdict": g.status,
            "sampled_extracted": [v.extracted for v in verdicts],
            "sampled_correct": [v.correct for v in verdicts],
            "majority_answer": majority,
            "majority_correct": m.correct,
        }
        for problem, text, g, verdicts, majority, m in zip(problems, greedy, greedy_verdicts, per_problem, majorities,
                                                           majority_verdicts)
    ]
