"""Grow: `settings.n` samples per problem from a policy, each judged by the verifier (`extracted`, `correct`,
`verdict`). `grow` is the one place samples are made: the loop, mode=generate and mode=rm_eval all call it.

Problems go to the engine in chunks through one stream (the next chunk waits in the engine behind the current
one), so the verifier judges a finished chunk while the engine samples the next. Each problem's samples are
seeded from the run seed, the `salt` (stage, iteration) and the problem id: chunking, sharding and resuming do
not change them.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from rest.artifacts import STATS, save_samples
from rest.contracts import Judge, Sampler, Task
from rest.records import Problem, Sample
from rest.sampler import SamplingSettings, sample_seed
from rest.scorers.exact_answer import label

log = logging.getLogger(__name__)
CHUNK = 512  # problems per engine batch in the loop's Grow (only how work overlaps; results do not depend on it)


def grow(sampler: Sampler, policy: str, task: Task, chunks: list[list[Problem]], settings: SamplingSettings,
         verifier: Judge, salt: tuple, iteration: int = 0) -> Iterator[list[Sample]]:
    """Yields each chunk's samples (problem by problem, sample index by sample index), judged."""
    prompts = [[task.prompt(p) for p in chunk] for chunk in chunks]
    batches = ((texts, [sample_seed(settings.seed, *salt, p.id) for p in chunk]) for chunk, texts in zip(chunks, prompts))
    for chunk, texts, outputs in zip(chunks, prompts, sampler.stream(policy, batches, settings)):
        samples = [Sample.grown(problem, prompt, j, completion, iteration)
                   for problem, prompt, completions in zip(chunk, texts, outputs)
                   for j, completion in enumerate(completions)]
        label(samples, verifier, task.answer_fallback)
        yield samples


def grow_stage(out: Path, iteration: int, policy: str, task: Task, split: str, sampler: Sampler,
               settings: SamplingSettings, verifier: Judge) -> None:
    """The loop's Grow: every problem of `split`, written as a samples dataset at `out` (iter_N/grown)."""
    if (out / STATS).exists():
        log.info("iteration %d: grown samples exist at %s, skipping Grow", iteration, out)
        return
    start = time.perf_counter()
    problems = task.problems(split)
    log.info("iteration %d: Grow: %d problems x %d samples with %s", iteration, len(problems), settings.n, policy)
    chunks = [problems[i : i + CHUNK] for i in range(0, len(problems), CHUNK)]
    samples = [s for chunk in grow(sampler, policy, task, chunks, settings, verifier, ("grow", iteration), iteration)
               for s in chunk]
    verdicts = Counter(s.verdict for s in samples)
    stats = {"grown": len(samples), "correct": sum(bool(s.correct) for s in samples),
             "no_answer": verdicts["no_answer"] + verdicts["no_code"], "timeouts": verdicts["timeout"],
             "tokens_grown": sum(s.num_tokens for s in samples), "seconds_grow": round(time.perf_counter() - start, 2)}
    save_samples(out, samples, stats)
    log.info("iteration %d: Grow: %d samples, %d judged correct", iteration, stats["grown"], stats["correct"])
