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


class Threshold:
    """Keep samples whose `score` (a scorer's name) is at least `min` (None: keep all); unscored ones are dropped."""

    def __init__(self, score: str, min: float | None):
        self.score, self.min = score, min

    def __call__(self, samples: list[Sample]) -> list[Sample]:
        if self.min is None:
            return samples
        return [s for s in samples if _score(s, self.score) is not None and _score(s, self.score) >= self.min]


class TopKPerProblem:
    """Keep each problem's `k` samples with the highest `score` (ties: the earlier sample), in input order."""

    def __init__(self, score: str, k: int):
        if k < 1:
            raise UserError(f"filter: k must be >= 1, got {k}")
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


def _score(sample: Sample, name: str) -> float | None:
    if name not in sample.scores:
        raise UserError(f"filter: no sample has a {name!r} score; the scorer(s) of this run give {sorted(sample.scores)}")
    return sample.scores[name]


class Chain:
    """Apply filters in order."""

    def __init__(self, filters: Sequence[Filter]):
        self.filters = list(filters)

    def __call__(self, samples: list[Sample]) -> list[Sample]:
        for f in self.filters:
            samples = f(samples)
        return samples
