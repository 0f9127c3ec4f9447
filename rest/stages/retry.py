"""Retry: the problems of an iteration's Grow with no correct sample, sampled again with help in the question.

- rationalization (STaR, Zelikman et al. 2022): the reference answer is given as a hint;
- reflection (Re-ReST, Dou et al. 2024): one of the model's own wrong samples of the problem is shown, with
  feedback (the first sample whose answer the verifier judged wrong, "The answer X is wrong."; if none, the first
  sample without an answer, "No final answer was given."; if none either, the first sample, whose answer the
  verifier could not judge, "The answer X could not be checked.").

Each source is on or off (`mode.rationalize`, `mode.reflect`). Its samples are drawn with `grow` (own seed salt,
own n) right after Grow, while the engine is up (`draw_retries`), and judged by the verifier; every sample's
`prompt` is rewritten to the plain prompt `task.prompt(problem)`, so neither the hint nor the wrong attempt is ever
trained on (nor stored: the question sampled is the source's template applied to the problem). After Improve,
`keep_retried` scores them with the run's scorers, as Improve scores the grown samples (the reward is ranked among
the retried samples), and keeps the verified correct ones that pass the source's own `check` (a filter, e.g. a
step check: a hinted answer can be copied after wrong steps; or one that reads a score), deduplicated and capped per
problem (the filter's `cap`, over both sources together, rationalization first): they join the iteration's
training set. Retried samples are trained on in the iteration they were drawn (a ReST run's later Improve steps,
which Grow nothing, retry nothing).

-> iter_N/retry/: rationalize/ and reflect/ (samples datasets; a source with no sample has none), stats.json
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import ClassVar, Protocol

from rest.artifacts import STATS, atomic_dir, load_samples, save_samples, write_json
from rest.config import build
from rest.contracts import Filter, Judge, Sampler, Scorer, ScoringContext, Task
from rest.errors import UserError, is_whole
from rest.filters import CapPerProblem, Chain, DropDuplicates, KeepCorrect
from rest.records import Problem, Sample
from rest.sampler import SamplingSettings
from rest.stages.grow import CHUNK, grow
from rest.stages.improve import score_samples
from rest.templates import check_template

log = logging.getLogger(__name__)


class Source(Protocol):
    """Where retried questions come from: `question` rewrites an unsolved problem's question."""

    name: ClassVar[str]
    enabled: bool
    n: int
    check: Filter | None

    def question(self, problem: Problem, wrong: list[Sample]) -> str: ...


@dataclass(frozen=True)
class Rationalize:
    """STaR's rationalization: `template` ({question}, {answer}) is the question with the reference as a hint."""

    enabled: bool
    n: int
    template: str
    check: Filter | None = None
    name: ClassVar[str] = "rationalize"

    def __post_init__(self):
        check_source(self, required=("question", "answer"))

    def question(self, problem: Problem, wrong: list[Sample]) -> str:
        return self.template.format(question=problem.question, answer=problem.answer)


@dataclass(frozen=True)
class Reflect:
    """Re-ReST's reflection: `template` ({question}, {attempt}, optionally {feedback}) shows a wrong sample."""

    enabled: bool
    n: int
    template: str
    check: Filter | None = None
    name: ClassVar[str] = "reflect"

    def __post_init__(self):
        check_source(self, required=("question", "attempt"), optional=("feedback",))

    def question(self, problem: Problem, wrong: list[Sample]) -> str:
        attempt, feedback = shown_attempt(wrong)
        return self.template.format(question=problem.question, attempt=attempt.completion, feedback=feedback)


def shown_attempt(unsolved: list[Sample]) -> tuple[Sample, str]:
    """The sample reflection shows, and what it says of it: never "wrong" for an answer the verifier did not judge
    (a timeout may hide a right one)."""
    judged_wrong = next((s for s in unsolved if s.extracted and s.correct is False), None)
    if judged_wrong:
        return judged_wrong, f"The answer {judged_wrong.extracted} is wrong."
    unanswered = next((s for s in unsolved if not s.extracted), None)
    if unanswered:
        return unanswered, "No final answer was given."
    return unsolved[0], f"The answer {unsolved[0].extracted} could not be checked."


def from_settings(kind: type[Source], settings: dict) -> Source:
    """A source from its `mode.<name>` settings, its `check` built: a filter's class path or `_target_` config."""
    known = [f.name for f in fields(kind)]
    unknown = [key for key in settings if key not in known]
    if unknown:
        raise UserError(f"mode.{kind.name}.{unknown[0]}: no such setting; mode.{kind.name} has {', '.join(known)}")
    check = settings.get("check")
    if isinstance(check, str):
        check = {"_target_": check}
    if check is not None and not isinstance(check, dict):
        raise UserError(f"mode.{kind.name}.check must be null, a filter's class path or a config with _target_ "
                        f"(rest/filters.py), got {check!r}")
    try:
        check = build(check) if check else None
    except UserError as err:
        raise UserError(f"mode.{kind.name}.check: {err}") from None
    return kind(**{**settings, "check": check})


def check_source(source: Source, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> None:
    """One UserError line for a bad `mode.<name>` (n below 1, a template without its fields), before any work."""
    key = f"mode.{source.name}"
    if not is_whole(source.n, 1):
        raise UserError(f"{key}.n: draw a whole number >= 1 of samples per unsolved problem (got {source.n!r}); "
                        f"to turn it off set {key}.enabled=false")
    check_template(source.template, f"{key}.template", required, optional)


def check_hints(rationalize: Rationalize, problems: list[Problem], split: str) -> None:
    """Rationalization gives the reference answer as a hint: the problems to retry (`split`'s) must have one."""
    if rationalize.enabled and not any(p.answer for p in problems):
        raise UserError(f"mode.rationalize: the task's {split} problems have no reference answers to give as hints")


@dataclass(frozen=True)
class Retried:
    """An iteration's retried samples by source (verified, under the plain prompt), before they are scored."""

    samples: dict[str, list[Sample]]
    problems: int  # the unsolved problems retried
    seconds: float  # spent drawing and verifying


def draw_retries(out: Path, iteration: int, sources: Sequence[Source], grown: Path, policy: str, task: Task,
                 split: str, sampler: Sampler, settings: SamplingSettings, verifier: Judge) -> Retried | None:
    """The enabled `sources` on the problems of `split` with no correct sample in `grown`; None when no source is
    on or `out` is finished."""
    sources = [s for s in sources if s.enabled]
    if not sources:
        return None
    if (out / STATS).exists():
        log.info("iteration %d: retried samples exist at %s, skipping Retry", iteration, out)
        return None
    start = time.perf_counter()
    unsolved, wrong = unsolved_problems(task.problems(split), load_samples(grown))
    drawn: dict[str, list[Sample]] = {source.name: [] for source in sources}
    for source in sources if unsolved else ():  # nothing to retry: the engine is not woken
        log.info("iteration %d: Retry (%s): %d unsolved problems x %d samples", iteration, source.name,
                 len(unsolved), source.n)
        hinted = [replace(p, question=source.question(p, wrong[p.id])) for p in unsolved]
        chunks = [hinted[i : i + CHUNK] for i in range(0, len(hinted), CHUNK)]
        retry_settings = replace(settings, n=source.n, skip_refused=True)  # a question too long: no samples
        drawn[source.name] = [s for chunk in grow(sampler, policy, task, chunks, retry_settings,
                                                  verifier, (source.name, iteration), iteration) for s in chunk]
    plain = {p.id: task.prompt(p) for p in unsolved}
    for sample in (s for samples in drawn.values() for s in samples):
        sample.prompt = plain[sample.problem_id]  # trained on as the plain problem: no hint, no wrong attempt
    return Retried(drawn, len(unsolved), time.perf_counter() - start)


def keep_retried(out: Path, iteration: int, sources: Sequence[Source], retried: Retried | None,
                 scorers: dict[str, Scorer], reward: str, context: ScoringContext, cap: int | None) -> None:
    """Scores `retried` with the run's scorers, marks the kept samples and writes them to `out`."""
    if retried is None:
        return
    start = time.perf_counter()
    samples = [s for source_samples in retried.samples.values() for s in source_samples]
    unscorable = {}
    if samples:  # none when no problem was unsolved: no judge is loaded
        log.info("iteration %d: Retry: scoring %d retried samples with %s", iteration, len(samples), ", ".join(scorers))
        unscorable = score_samples(samples, scorers, reward, context)
    mark_kept_retried([s for s in sources if s.enabled], retried.samples, cap)
    seconds = retried.seconds + time.perf_counter() - start
    save_retried(out, retried.samples, retried.problems, round(seconds, 2),
                 {f"retry_{key}": count for key, count in unscorable.items()})
    log.info("iteration %d: Retry: %s", iteration, ", ".join(
        f"{name} kept {sum(s.kept for s in samples)} of {len(samples)}" for name, samples in retried.samples.items()))


def mark_kept_retried(sources: Sequence[Source], drawn: dict[str, list[Sample]], cap: int | None) -> None:
    """Mark kept: each source's verified samples that pass its `check`, deduplicated and capped over all sources."""
    passed = [s for source in sources
              for s in Chain([KeepCorrect(), *([source.check] if source.check else [])])(drawn[source.name])]
    dedup_and_cap = Chain([DropDuplicates(), *([CapPerProblem(cap)] if cap else [])])
    for sample in (s for samples in drawn.values() for s in samples):
        sample.kept = False
    for sample in dedup_and_cap(passed):
        sample.kept = True


def unsolved_problems(problems: list[Problem], grown: list[Sample]) -> tuple[list[Problem], dict[str, list[Sample]]]:
    """The problems with a reference and samples but none correct, in split order; each problem's wrong samples."""
    wrong: dict[str, list[Sample]] = {}
    solved = set()
    for sample in grown:  # problem by problem, sample index by sample index
        if sample.correct:
            solved.add(sample.problem_id)
        else:
            wrong.setdefault(sample.problem_id, []).append(sample)
    return [p for p in problems if p.answer and p.id in wrong and p.id not in solved], wrong


def save_retried(out: Path, drawn: dict[str, list[Sample]], problems: int, seconds: float, unscorable: dict) -> None:
    """One dataset per source (none when it drew nothing) and the counts of all, in one rename."""
    stats = {"seconds_retry": seconds, **unscorable}
    with atomic_dir(out) as tmp:
        for name, samples in drawn.items():
            counts = {f"{name}_problems": problems, f"{name}_samples": len(samples),
                      f"{name}_correct": sum(bool(s.correct) for s in samples),
                      f"{name}_kept": sum(s.kept for s in samples),
                      f"{name}_solved": len({s.problem_id for s in samples if s.correct}),
                      f"{name}_refused": problems - len({s.problem_id for s in samples}),  # question too long
                      f"tokens_{name}": sum(s.num_tokens for s in samples)}
            if samples:
                save_samples(tmp / name, samples, counts)
            stats.update(counts)
        write_json(tmp / STATS, stats)
