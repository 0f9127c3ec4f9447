"""Improve: filters are small, pure, order-preserving callables `list[Sample] -> list[Sample]`,
chained in the order the config lists them (`conf/filter/*.yaml`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

from rest.errors import UserError
from rest.records import Sample

Filter = Callable[[list[Sample]], list[Sample]]


class KeepCorrect:
    """Keep samples the verifier judged correct (ReST-EM's binary reward)."""

    def __call__(self, samples: list[Sample]) -> list[Sample]:
        return [s for s in samples if s.correct]


class DropDuplicates:
    """Drop a sample whose completion repeats an earlier one for the same problem."""

    def __call__(self, samples: list[Sample]) -> list[Sample]:
        seen: set[tuple[str, str]] = set()
        kept = []
        for s in samples:
            key = (s.problem_id, s.completion)
            if key not in seen:
                seen.add(key)
                kept.append(s)
        return kept


class CapPerProblem:
    """Keep at most `cap` samples per problem (ReST-EM uses 10), the earliest first."""

    def __init__(self, cap: int):
        if cap < 1:
            raise UserError(f"filter: cap must be >= 1, got {cap}")
        self.cap = cap

    def __call__(self, samples: list[Sample]) -> list[Sample]:
        taken: Counter[str] = Counter()
        kept = []
        for s in samples:
            if taken[s.problem_id] < self.cap:
                taken[s.problem_id] += 1
                kept.append(s)
        return kept


class Chain:
    """Apply filters in order."""

    def __init__(self, filters: Sequence[Filter]):
        self.filters = list(filters)

    def __call__(self, samples: list[Sample]) -> list[Sample]:
        for f in self.filters:
            samples = f(samples)
        return samples
