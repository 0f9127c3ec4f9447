"""Improve: filters are small, pure, order-preserving callables `list[Sample] -> list[Sample]`,
chained in the order the config lists them (`rest/conf/filter/*.yaml`)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from rest.contracts import Filter
from rest.errors import UserError, is_whole
from rest.records import Sample
from rest.tasks.arithmetic import steps_hold


class KeepCorrect:
    """Keep samples the verifier judged correct (ReST-EM's binary reward); `enabled=false` keeps all."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled

    def __call__(self, samples: list[Sample]) -> list[Sample]:
        return [s for s in samples if s.correct] if self.enabled else samples


class DropDuplicates:
    """Drop a sample whose completion repeats an earlier one of the same problem: exactly, or with
    `normalized=true` after collapsing whitespace and number formatting (1,000 = 1000, 3.50 = 3.5)."""

    def __init__(self, normalized: bool = False):
        self.normalized = normalized

    def __call__(self, samples: list[Sample]) -> list[Sample]:
        seen: set[tuple[str, str]] = set()
        kept = []
        for s in samples:
            key = (s.problem_id, _canonical(s.completion) if self.normalized else s.completion)
            if key not in seen:
                seen.add(key)
                kept.append(s)
        return kept


class CapPerProblem:
    """Keep at most `cap` samples per problem (ReST-EM uses 10), the earliest first; None keeps them all."""

    def __init__(self, cap: int | None):
        if cap is not None and not is_whole(cap, 1):
            raise UserError(f"filter: cap must be a whole number >= 1, or null (no cap), got {cap!r}")
        self.cap = cap

    def __call__(self, samples: list[Sample]) -> list[Sample]:
        if self.cap is None:
            return list(samples)
        taken: Counter[str] = Counter()
        kept = []
        for s in samples:
            if taken[s.problem_id] < self.cap:
                taken[s.problem_id] += 1
                kept.append(s)
        return kept


class Threshold:
    """Keep samples whose `score` is at least `min` (None: keep all); unscored samples are dropped.
    `score` is `reward` (the Improve score normalised to [0, 1], see rest/scorers/rewards.py) or a scorer's name.
    With `per_problem_quantile=true`, `min` is a quantile: keep each problem's samples at or above its own
    `min`-quantile score."""

    def __init__(self, min: float | None, score: str = "reward", per_problem_quantile: bool = False):
        if min is not None and (score == "reward" or per_problem_quantile) and not 0.0 <= min <= 1.0:
            raise UserError(f"filter.threshold must be in [0, 1] (scores are normalised), got {min}")
        self.min, self.score, self.per_problem_quantile = min, score, per_problem_quantile

    def __call__(self, samples: list[Sample]) -> list[Sample]:
        if self.min is None:
            return samples
        floor = self._quantiles(samples) if self.per_problem_quantile else {}
        return [s for s in samples if (v := _score(s, self.score)) is not None and v >= floor.get(s.problem_id, self.min)]

    def _quantiles(self, samples: list[Sample]) -> dict[str, float]:
        values: dict[str, list[float]] = {}
        for s in samples:
            if (v := _score(s, self.score)) is not None:
                values.setdefault(s.problem_id, []).append(v)
        return {p: _quantile(sorted(v), self.min) for p, v in values.items()}


class TopKPerProblem:
    """Keep each problem's `k` samples with the highest `score` (ties: the earlier sample), in input order."""

    def __init__(self, score: str, k: int):
        if not is_whole(k, 1):
            raise UserError(f"filter: k must be a whole number >= 1, got {k!r}")
        self.score, self.k = score, k

    def __call__(self, samples: list[Sample]) -> list[Sample]:
        by_problem: dict[str, list[int]] = {}
        for i, s in enumerate(samples):
            if _score(s, self.score) is not None:
                by_problem.setdefault(s.problem_id, []).append(i)
        keep = set()
        for indices in by_problem.values():
            ranked = sorted(indices, key=lambda i: (-_score(samples[i], self.score), i))
            keep.update(ranked[: self.k])
        return [s for i, s in enumerate(samples) if i in keep]


class DropUnanimous:
    """Drop problems whose scored samples are all correct or all wrong (nothing to contrast)."""

    def __call__(self, samples: list[Sample]) -> list[Sample]:
        return AccuracyBand(0.0, 1.0, inclusive=False)(samples)


class AccuracyBand:
    """Keep problems whose fraction of correct samples lies in [low, high] (PRIME keeps 0.2-0.8);
    `inclusive=false` makes it (low, high). `rates: previous` reads each problem's pass rate in the previous Grow
    (the run's per-problem history, rest/history.py) instead, falling back to this Grow's where it has none."""

    def __init__(self, low: float, high: float, inclusive: bool = True, rates: str = "current"):
        if not 0.0 <= low <= high <= 1.0:
            raise UserError(f"filter: accuracy band needs 0 <= low <= high <= 1, got [{low}, {high}]")
        if rates not in ("current", "previous"):
            raise UserError(f"filter: accuracy band rates must be current or previous, got {rates!r}")
        self.low, self.high, self.inclusive, self.rates = low, high, inclusive, rates

    def __call__(self, samples: list[Sample]) -> list[Sample]:
        totals: Counter[str] = Counter(s.problem_id for s in samples)
        correct: Counter[str] = Counter(s.problem_id for s in samples if s.correct)
        previous = {s.problem_id: s.previous_pass_rate for s in samples if s.previous_pass_rate is not None}
        def inside(p: str) -> bool:
            accuracy = correct[p] / totals[p]
            if self.rates == "previous":
                accuracy = previous.get(p, accuracy)
            if self.inclusive:
                return self.low <= accuracy <= self.high
            return self.low < accuracy < self.high
        return [s for s in samples if inside(s.problem_id)]


class LengthBounds:
    """Keep samples of `min_tokens` to `max_tokens` completion tokens (None: no bound)."""

    def __init__(self, min_tokens: int = 0, max_tokens: int | None = None):
        self.min_tokens, self.max_tokens = min_tokens, max_tokens

    def __call__(self, samples: list[Sample]) -> list[Sample]:
        return [s for s in samples if s.num_tokens >= self.min_tokens
                and (self.max_tokens is None or s.num_tokens <= self.max_tokens)]


class DropTruncated:
    """Drop samples that hit the token limit (`finish_reason == "length"`): their answer may be cut off."""

    def __call__(self, samples: list[Sample]) -> list[Sample]:
        return [s for s in samples if s.finish_reason != "length"]


class ArithmeticStepsHold:
    """Keep samples whose every `a op b = c` line holds (task=arithmetic's worked solutions): a process check on
    top of the verifier's final answer, which a sample reaches through a wrong step more often than not."""

    def __call__(self, samples: list[Sample]) -> list[Sample]:
        return [s for s in samples if steps_hold(s.completion)]


def _score(sample: Sample, name: str) -> float | None:
    if name == "reward":
        return sample.reward
    if name not in sample.scores:
        raise UserError(f"filter: no sample has a {name!r} score; the scorer(s) of this run give {sorted(sample.scores)}")
    return sample.scores[name]


def _quantile(sorted_values: list[float], q: float) -> float:
    """The q-quantile by linear interpolation between closest ranks."""
    position = q * (len(sorted_values) - 1)
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def _canonical(text: str) -> str:
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)
    text = re.sub(r"(\d+\.\d*?)0+\b", r"\1", text)
    text = re.sub(r"(\d+)\.(?!\d)", r"\1", text)
    return re.sub(r"\s+", " ", text).strip()


class Chain:
    """Apply filters in order."""

    def __init__(self, filters: Sequence[Filter]):
        self.filters = list(filters)

    def __call__(self, samples: list[Sample]) -> list[Sample]:
        for f in self.filters:
            samples = f(samples)
        return samples
