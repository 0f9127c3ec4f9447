"""Improve: score the grown samples with every configured scorer, turn the reward scorer's values into a
normalised `reward` (rest/scorers/rewards.py), and mark the samples the filter chain keeps. ReST's later steps
filter the same scored samples again (`refilter`). Scorers that learn (the implicit PRM) are then updated on
the iteration's verifier labels (`update_scorers`).

A scorer's identity is its configured name (its key under `scorers`): samples carry `scores[name]`, datasets a
`score_<name>` column, filters refer to it by that name.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

from rest.artifacts import STATS, load_samples, read_json, save_samples, write_json
from rest.contracts import Filter, LearningScorer, ReferenceScorer, Scorer, ScoringContext
from rest.errors import UserError
from rest.records import Problem, Sample
from rest.scorers.rewards import normalize
from rest.stop import raise_if_stopped
from rest.weighting import East

log = logging.getLogger(__name__)


def improve(out: Path, iteration: int, grown: Path, scorers: dict[str, Scorer], reward: str, keep: Filter,
            context: ScoringContext, previous_rates: dict[str, float] | None = None,
            weighting: East | None = None) -> None:
    """Scored samples of `grown`, with their `kept` flags, written to `out` (iter_N/samples). `previous_rates`:
    each problem's pass rate in the previous Grow (rest/history.py), put on its samples for filters to read.
    `weighting` (trainer.weighting=east, rest/weighting.py): puts each problem's answer entropy and SFT loss weight
    on its samples (the `answer_entropy` and `weight` columns), which Train reads."""
    if (out / STATS).exists():
        log.info("iteration %d: improved samples exist at %s, skipping Improve", iteration, out)
        return
    start = time.perf_counter()
    samples = load_samples(grown)
    for sample in samples:
        sample.previous_pass_rate = (previous_rates or {}).get(sample.problem_id)
    log.info("iteration %d: Improve: scoring %d samples with %s", iteration, len(samples), ", ".join(scorers))
    unscorable = score_samples(samples, scorers, reward, context)
    kept = mark_kept(samples, keep)
    log.info("iteration %d: Improve: %d of %d samples kept", iteration, kept, len(samples))
    weights = _weigh(iteration, samples, weighting)
    save_samples(out, samples, {"kept": kept, **unscorable, **weights,
                                "seconds_improve": round(time.perf_counter() - start, 2)})


def _weigh(iteration: int, samples: list[Sample], weighting: East | None) -> dict:
    """EAST's weights on the samples; the range of the kept ones' for stats.json."""
    if weighting is None:
        return {}
    weighting.apply(samples)
    kept = [s.weight for s in samples if s.kept] or [1.0]
    log.info("iteration %d: EAST (a = %g): kept samples' weights from %.3f to %.3f", iteration, weighting.a,
             min(kept), max(kept))
    return {"east_a": weighting.a, "weight_min": min(kept), "weight_max": max(kept)}


def score_samples(samples: list[Sample], scorers: dict[str, Scorer], reward: str, context: ScoringContext) -> dict:
    """Every scorer's score on every sample, and the `reward` scorer's normalised among these samples; returns
    how many each scorer could not score (`unscorable_<name>`)."""
    unscorable = {f"unscorable_{name}": score_all(samples, name, scorer, context) for name, scorer in scorers.items()}
    rewards = normalize([s.scores[reward] for s in samples], bounded=scorers[reward].bounded)
    for sample, value in zip(samples, rewards):
        sample.reward = value
    return unscorable


def check_references(scorers: dict[str, Scorer], problems: list[Problem], split: str) -> None:
    """Before any work: a scorer that reads reference answers is refused on problems that have none."""
    readers = [name for name, s in scorers.items() if isinstance(s, ReferenceScorer) and s.needs_references]
    if readers and not any(p.answer for p in problems):
        raise UserError(f"scorer {readers[0]} needs reference answers, and the task's {split} problems have none: "
                        "use a task with references, or another scorer")


def score_all(samples: list[Sample], name: str, scorer: Scorer, context: ScoringContext) -> int:
    """Puts `name`'s score on every sample; returns how many it could not score (None), which are logged."""
    raise_if_stopped()  # a Ctrl-C swallowed in the last scorer's work (a model trained online) stops before this one
    start = time.perf_counter()
    values = scorer.score(samples, context)
    if len(values) != len(samples):
        raise RuntimeError(f"scorer {name} returned {len(values)} scores for {len(samples)} samples")
    for sample, value in zip(samples, values):
        sample.scores[name] = value if value is None or math.isfinite(value) else None  # NaN, ±inf: cannot score
    unscorable = sum(s.scores[name] is None for s in samples)
    log.info("Improve: %d samples scored by %s in %.1fs", len(samples), name, time.perf_counter() - start)
    if unscorable:
        log.warning("%d of %d samples could not be scored by %s (None, NaN or infinite)", unscorable, len(samples),
                    name)
    return unscorable


def mark_kept(samples: list[Sample], keep: Filter) -> int:
    for sample in samples:
        sample.kept = False
    kept = keep(samples)
    for sample in kept:
        sample.kept = True
    return len(kept)


def refilter(out: Path, iteration: int, source: Path, keep: Filter, weighting: East | None = None) -> None:
    """ReST's later Improve steps: the samples scored at `source`, filtered again (a higher threshold); EAST's
    weights are scaled again so that the newly kept samples' average 1."""
    if (out / STATS).exists():
        log.info("iteration %d: filtered samples exist at %s, skipping Improve", iteration, out)
        return
    samples = load_samples(source)
    kept = mark_kept(samples, keep)
    log.info("iteration %d: Improve again on %s: %d of %d samples kept", iteration, source, kept, len(samples))
    weights = _weigh(iteration, samples, weighting)
    save_samples(out, samples, {"grown": 0, "kept": kept, "correct": sum(bool(s.correct) for s in samples),
                                **weights, "filtered_from": str(source)})


def update_scorers(out: Path, iteration: int, scorers: dict[str, Scorer], samples_dir: Path,
                   context: ScoringContext) -> None:
    """Each learning scorer trains on this iteration's labels; its checkpoint (out/<name>) scores the next
    iteration. A finished update (out/<name>.json) is adopted instead of redone."""
    for name, scorer in scorers.items():
        if isinstance(scorer, LearningScorer) and scorer.learns:
            _update(out / name, iteration, name, scorer, samples_dir, context)


def _update(out: Path, iteration: int, name: str, scorer: LearningScorer, samples_dir: Path,
            context: ScoringContext) -> None:
    marker = out.with_name(f"{name}.json")
    if marker.exists():
        log.info("iteration %d: update of scorer %s finished before (%s), using it", iteration, name, marker)
        if read_json(marker)[f"scorer_{name}_checkpoint"]:
            scorer.use(str(out))  # where the run is now: it may have moved
        return
    start = time.perf_counter()
    log.info("iteration %d: updating scorer %s on this iteration's verifier labels", iteration, name)
    stats = scorer.update(load_samples(samples_dir), context, out)
    checkpoint = str(out) if out.exists() else None  # None: nothing to learn from this iteration
    write_json(marker, {f"scorer_{name}_checkpoint": checkpoint, **{f"scorer_{name}_{k}": v for k, v in stats.items()},
                        f"seconds_update_{name}": round(time.perf_counter() - start, 2)})
