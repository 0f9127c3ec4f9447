"""Grow: `settings.n` samples per problem from a policy, each judged by the verifier (`extracted`, `correct`,
`verdict`). `grow` is the one place samples are made: the loop, mode=generate and mode=rm_eval all call it.

Problems go to the engine in chunks through one stream (the next chunk waits in the engine behind the current
one), so the verifier judges a finished chunk while the engine samples the next. Each problem's samples are
seeded from the run seed, the `salt` (stage, iteration) and the problem id: chunking, sharding and resuming do
not change them. The loop's Grow (`grow_stage`) draws as many samples as its budget plans (rest/budget.py): a
fixed n per problem in one round, or rounds that stop sampling a problem once it has enough correct samples;
each finished chunk is kept in iter_N/grown.parts/ until the dataset is written, so a killed Grow resumes there.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, replace
from pathlib import Path

from rest.artifacts import STATS, inside, read_json, save_samples, write_json, write_jsonl
from rest.budget import Fixed, Request, Tally
from rest.contracts import Budget, Judge, Sampler, Task
from rest.records import Problem, Sample, ids_digest
from rest.sampler import SamplingSettings, sample_seed
from rest.scorers.exact_answer import label

log = logging.getLogger(__name__)
CHUNK = 512  # problems per engine batch in the loop's Grow (only how work overlaps; results do not depend on it)
FIXED = Fixed()  # today's Grow: sampler.grow.n samples per problem (rest/conf/budget/fixed.yaml)
PARTS = ".parts"  # iter_N/grown.parts/: the finished chunks of an unfinished Grow
NO_ANSWER_SHARE = 0.5  # more grown samples than this share without a readable answer: a warning


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
               settings: SamplingSettings, verifier: Judge, budget: Budget = FIXED) -> None:
    """The loop's Grow: every problem of `split`, as many samples of each as `budget` plans (round by round, each
    round judged before the next is planned), written as a samples dataset at `out` (iter_N/grown)."""
    parts = out.with_name(out.name + PARTS)
    if (out / STATS).exists():
        log.info("iteration %d: grown samples exist at %s, skipping Grow", iteration, out)
        shutil.rmtree(parts, ignore_errors=True)  # left if a kill came between the save and their removal
        return
    start = time.perf_counter()
    problems = task.problems(split)
    total = budget.total(len(problems), settings)
    log.info("iteration %d: Grow: %d problems, %d samples at most, with %s", iteration, len(problems), total, policy)
    run_dir = out.parent.parent  # out is <run dir>/iter_N/grown: a moved run keeps its chunks
    keep_parts_of(parts, {"policy": inside(policy, run_dir), "sampling": asdict(settings),
                          "budget": [type(budget).__name__, vars(budget)], "problems": ids_digest(p.id for p in problems)})
    tallies = {p.id: Tally() for p in problems}
    samples, rounds = [], 0
    while requests := budget.plan(problems, tallies, rounds, settings, iteration):
        drawn = draw(sampler, policy, task, requests, settings, verifier, iteration, parts / f"round{rounds}")
        for s in drawn:
            tallies[s.problem_id].drawn += 1
            if s.correct:
                tallies[s.problem_id].correct.add(s.completion)
        samples += drawn
        rounds += 1
        log.info("iteration %d: Grow round %d: %d samples of %d problems; %d problems solved, %d samples drawn of %d",
                 iteration, rounds, len(drawn), len(requests), sum(bool(t.correct) for t in tallies.values()),
                 len(samples), total)
    position = {p.id: i for i, p in enumerate(problems)}
    samples.sort(key=lambda s: (position[s.problem_id], s.sample_index))  # problem by problem, as one round gives
    verdicts = Counter(s.verdict for s in samples)
    stats = {"grown": len(samples), "correct": sum(bool(s.correct) for s in samples), "rounds": rounds,
             "problems_solved": sum(bool(t.correct) for t in tallies.values()), "budget_unspent": total - len(samples),
             "no_answer": verdicts["no_answer"] + verdicts["no_code"], "timeouts": verdicts["timeout"],
             "tokens_grown": sum(s.num_tokens for s in samples), "seconds_grow": round(time.perf_counter() - start, 2)}
    save_samples(out, samples, stats)
    shutil.rmtree(parts, ignore_errors=True)  # the dataset holds them all now
    log.info("iteration %d: Grow: %d samples, %d judged correct", iteration, stats["grown"], stats["correct"])
    warn_if_unanswered(iteration, samples, stats["no_answer"], settings.max_tokens)


def warn_if_unanswered(iteration: int, samples: list[Sample], no_answer: int, max_tokens: int) -> None:
    """Most completions without an answer the verifier can read: the prompt does not ask for the answer's form (a
    pretrained model on another task's prompts), or max_tokens or the engine's context cuts the completions off
    before it."""
    if not samples or no_answer <= NO_ANSWER_SHARE * len(samples):
        return
    cut = [s for s in samples if s.finish_reason == "length"]
    at_context = sum(s.num_tokens < max_tokens for s in cut)  # the prompt and the completion filled the context
    context = f", {at_context} at the engine's context, sampler.engine.max_model_len" if at_context else ""
    log.warning("iteration %d: %d of %d completions have no answer the verifier can read (%d stopped at "
                "sampler.grow.max_tokens=%d%s): ask for the answer's form in the prompt (task.prompt_template, "
                "task.chat_template) or raise max_tokens%s", iteration, no_answer, len(samples),
                len(cut) - at_context, max_tokens, context, " or max_model_len" if at_context else "")


def keep_parts_of(parts: Path, plan: dict) -> None:
    """Chunks kept by a killed stage (Grow; mode=score) are resumed only under the same `plan` (Grow: policy,
    sampling, budget, problems); a rerun with other settings drops them and makes everything again."""
    path = parts / "plan.json"
    if path.exists() and read_json(path) != json.loads(json.dumps(plan)):
        log.info("the finished chunks at %s were made with other settings; making them again", parts)
        shutil.rmtree(parts)
    if not path.exists():
        write_json(path, plan)


def draw(sampler: Sampler, policy: str, task: Task, requests: list[Request], settings: SamplingSettings,
         verifier: Judge, iteration: int, parts: Path) -> list[Sample]:
    """One round's samples, judged: requests asking the same count share one stream (`settings.n` = the count),
    in chunks of CHUNK problems; each request's samples are numbered from its `first_index`. Each finished chunk
    is written to `parts` at once, and a chunk found there is not sampled again: a killed Grow resumes where it
    was (the samples are seeded per problem, so they are the same either way)."""
    groups: dict[int, list[Request]] = {}
    for request in requests:
        groups.setdefault(request.count, []).append(request)
    samples, progress = [], Progress(iteration, len(requests))
    for count, group in groups.items():
        chunks = {parts / f"n{count}_{k:05d}.jsonl": group[i : i + CHUNK] for k, i in enumerate(range(0, len(group), CHUNK))}
        samples += [Sample.from_row(json.loads(line)) for path in chunks if path.exists()
                    for line in path.read_text(encoding="utf-8").splitlines()]
        todo = {path: chunk for path, chunk in chunks.items() if not path.exists()}
        progress.kept(len(group) - sum(map(len, todo.values())))
        prompts = [[task.prompt(r.problem) for r in chunk] for chunk in todo.values()]
        batches = ((texts, [r.seed for r in chunk]) for chunk, texts in zip(todo.values(), prompts))
        streamed = sampler.stream(policy, batches, replace(settings, n=count))
        for (path, chunk), texts, outputs in zip(todo.items(), prompts, streamed):
            drawn = [Sample.grown(r.problem, prompt, r.first_index + j, completion, iteration)
                     for r, prompt, completions in zip(chunk, texts, outputs) for j, completion in enumerate(completions)]
            label(drawn, verifier, task.answer_fallback)
            write_jsonl(path, [s.to_row() for s in drawn])
            samples += drawn
            progress.sampled(len(chunk), len(samples))
    return samples


class Progress:
    """Grow's progress in the log, chunk by chunk (a Grow of a large model runs for hours): problems sampled, and
    the time left at the pace of the chunks sampled so far."""

    def __init__(self, iteration: int, problems: int):
        self.iteration, self.problems, self.done, self.resumed = iteration, problems, 0, 0
        self.start = time.perf_counter()

    def kept(self, problems: int) -> None:
        """`problems` whose chunks a killed Grow had finished."""
        self.done += problems
        self.resumed += problems

    def sampled(self, problems: int, samples: int) -> None:
        self.done += problems
        seconds = time.perf_counter() - self.start
        left = seconds / (self.done - self.resumed) * (self.problems - self.done)
        log.info("iteration %d: Grow: %d of %d problems sampled (%d samples) in %.0fs, about %.0fs left",
                 self.iteration, self.done, self.problems, samples, seconds, left)
