"""EAST (Wang et al. 2025, "Entropy-Based Adaptive Weighting for Self-Training", arXiv 2503.23913): weight each kept
example's SFT loss by how unsure the model was about its problem.

Per problem, the iteration's n grown samples are grouped by their extracted answer, compared as maj@k compares them
(rest/evaluate.py: the verifier's `vote_key`, a plain number's value or the normalised text); a sample with no
answer is a group of its own. The entropy of the group sizes, divided by log n, is h in [0, 1] (0: every sample
agrees; 1: all differ). n = 1 is an error: one sample has no distribution. The weight is the paper's mapping, w = h^a (the authors' code, mandyyyyii/east
train/sft_trainer.py, divides entropy^a by a constant chosen so that the weights average 1; here that constant is the
mean over the kept examples, so the weights of the kept examples average exactly 1):

- a = 0: every weight is 1 (0^0 = 1): plain ReST-EM. a > 0 favours uncertain problems (the paper uses a = 1);
  a problem whose samples all agree weighs 0, as in the paper.
- a < 0 favours confident problems. h = 0 would weigh infinitely much, so h is floored at half the smallest non-zero
  entropy n samples can have (one sample differing from n - 1 that agree): an all-agreeing problem then weighs a
  finite amount more than the most confident disagreeing one, and the order of the problems is kept.
- When no kept example has a non-zero weight (a > 0 and every kept problem's samples agree) the weights stay 1.

Simplification: the paper's entropy is over the samples its pipeline keeps for training; here it is over every grown
sample of the problem (what the issue asks), and retried and seed-mix examples weigh 1.
"""

from __future__ import annotations

import logging
import math
from collections import Counter, defaultdict
from dataclasses import dataclass

from rest.errors import UserError
from rest.records import Sample
from rest.verifier.equivalence import vote_key

log = logging.getLogger(__name__)
WEIGHTINGS = ("east",)  # trainer.weighting: null (off) or one of these
MAX_EXPONENT = 20.0  # |trainer.east_a|: past this, weights over- or underflow float64 at the floor


@dataclass(frozen=True)
class East:
    """`trainer.weighting=east` with exponent `a` (`trainer.east_a`)."""

    a: float

    def apply(self, samples: list[Sample]) -> dict[str, float]:
        """Puts its problem's entropy and weight (scaled so that the kept samples' weights average 1) on every sample
        (Train reads the kept ones'); returns the weights by problem."""
        entropies = answer_entropy(samples)
        weights = mean_one(east_weights(samples, self.a), [s for s in samples if s.kept])
        for sample in samples:
            sample.answer_entropy = entropies[sample.problem_id]
            sample.weight = weights[sample.problem_id]
        return weights


def settings_error(weighting: str | None, a) -> str | None:
    """One line saying what is wrong with `trainer.weighting` / `trainer.east_a` (None: a trainer config without the
    key; its value is rest/conf/trainer/'s, never a fallback here), or None."""
    if weighting is None:
        return None
    if weighting not in WEIGHTINGS:
        return f"trainer.weighting must be null (off) or one of {WEIGHTINGS}, got {weighting!r}"
    if a is None:
        return (f"trainer.weighting={weighting} needs trainer.east_a, a number in [-{MAX_EXPONENT:g}, "
                f"{MAX_EXPONENT:g}], which this trainer config does not set (rest/conf/trainer/sft.yaml does)")
    if isinstance(a, bool) or not isinstance(a, int | float) or not abs(a) <= MAX_EXPONENT:
        return f"trainer.east_a must be a number in [-{MAX_EXPONENT:g}, {MAX_EXPONENT:g}], got {a!r}"
    return None


def from_trainer(trainer) -> East | None:
    """The weighting a trainer config asks for (`trainer.weighting`, `trainer.east_a`), or None (off)."""
    weighting, a = trainer.get("weighting"), trainer.get("east_a")
    problem = settings_error(weighting, a)
    if problem:
        raise UserError(problem)
    return East(float(a)) if weighting == "east" else None


def answer_entropy(samples: list[Sample]) -> dict[str, float]:
    """Each problem's answer entropy over its samples, normalised to [0, 1] by log n."""
    groups: dict[str, list[str | None]] = defaultdict(list)
    for sample in samples:
        groups[sample.problem_id].append(sample.extracted)
    return {problem: _entropy(answers, problem) for problem, answers in groups.items()}


def _entropy(answers: list[str | None], problem: str) -> float:
    n = len(answers)
    if n < 2:
        raise UserError(f"trainer.weighting=east: problem {problem} has {n} grown sample(s); the answer entropy needs "
                        "at least 2 per problem (sampler.grow.n >= 2; with budget=adaptive, budget.per_round >= 2 and "
                        "budget.samples_per_problem >= 2)")
    keys = [vote_key(a) if a is not None else ("no answer", i) for i, a in enumerate(answers)]
    h = -sum(c / n * math.log(c / n) for c in Counter(keys).values())
    return min(1.0, max(0.0, h / math.log(n)))  # rounding can leave [0, 1] (-0.0 when every answer agrees)


def smallest_entropy(n: int) -> float:
    """The smallest non-zero normalised entropy of n samples: n - 1 agree, one differs."""
    return (-(n - 1) / n * math.log((n - 1) / n) + math.log(n) / n) / math.log(n)


def east_weights(samples: list[Sample], a: float) -> dict[str, float]:
    """Each problem's weight h^a before normalisation (see the module's docstring for a < 0's floor)."""
    counts = Counter(s.problem_id for s in samples)
    weights = {}
    for problem, h in answer_entropy(samples).items():
        if a < 0:
            h = max(h, smallest_entropy(counts[problem]) / 2)
        weights[problem] = h**a
    return weights


def mean_one(weights: dict[str, float], kept: list[Sample]) -> dict[str, float]:
    """`weights` scaled so that the kept samples' weights (one per sample) average 1."""
    total = sum(weights[s.problem_id] for s in kept)
    if not kept or total <= 0:
        if kept:
            log.warning("EAST: every kept problem has weight 0 (all its samples agree); training unweighted")
        return dict.fromkeys(weights, 1.0)
    return {problem: w * len(kept) / total for problem, w in weights.items()}
