"""Which Improve steps a run makes: ReST-EM grows anew every iteration; ReST grows once per Grow step and
then runs one Improve + Train step per threshold, tau_1 < tau_2 < ..., on the same grown samples.

>>> [(s.iteration, s.grow, s.threshold) for s in schedule({"name": "rest", "grow_steps": 1, "thresholds": [0.0, 0.5]}, 0.3)]
[(1, True, 0.3), (2, False, 0.5)]
>>> [(s.iteration, s.grow, s.threshold) for s in schedule({"name": "rest_em", "iterations": 2}, None)]
[(1, True, None), (2, True, None)]
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from rest.errors import UserError, is_whole


@dataclass(frozen=True)
class Step:
    iteration: int
    grow: bool  # sample anew (else: filter the samples of iteration `source` again)
    threshold: float | None  # the Threshold filter's minimum for this step (None: the filter's own setting)
    source: int  # the iteration whose grown samples this step filters (its own when it grows)


def schedule(algorithm: dict, floor: float | None) -> list[Step]:
    """`floor` is `filter.threshold`: in ReST each step keeps reward >= max(tau_i, floor)."""
    if algorithm["name"] == "rest_em":
        _check_count(algorithm, "iterations", 0)
        return [Step(it, True, None, it) for it in range(1, algorithm["iterations"] + 1)]
    thresholds = list(algorithm["thresholds"] or [])
    check_thresholds(thresholds, floor)
    _check_count(algorithm, "grow_steps", 1)
    steps = []
    for _ in range(algorithm["grow_steps"]):
        source = len(steps) + 1
        for i, tau in enumerate(thresholds):
            level = tau if floor is None else max(tau, floor)
            steps.append(Step(len(steps) + 1, i == 0, level, source))
    return steps


def _check_count(algorithm: dict, key: str, least: int) -> None:
    value = algorithm[key]
    if not is_whole(value, least):
        raise UserError(f"algorithm.{key} must be a whole number >= {least}, got {value!r}")


def check_thresholds(thresholds: list[float], floor: float | None) -> None:
    if not thresholds:
        raise UserError("algorithm.thresholds is empty: give at least one Improve threshold, e.g. [0.0, 0.5, 0.7, 0.9]")
    for tau in thresholds + ([floor] if floor is not None else []):
        if isinstance(tau, bool) or not isinstance(tau, int | float) or not 0.0 <= tau <= 1.0:
            raise UserError(f"threshold {tau} is outside [0, 1] (thresholds apply to scores normalised to [0, 1])")
    if any(b <= a for a, b in itertools.pairwise(thresholds)):
        raise UserError(f"algorithm.thresholds must rise (tau_1 < tau_2 < ...), got {thresholds}")
