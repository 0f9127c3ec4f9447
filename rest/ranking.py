"""How well a score ranks samples: pairwise accuracy, best-of-N selection, and its pull towards length.

Pure functions over per-problem lists, so they are easy to test. A missing score (None) ranks below any
score; two missing scores tie. Ties count half in pairs; best-of-N takes the earliest of tied samples.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from statistics import correlation, mean, pstdev

Groups = list[tuple[list[float | None], list[bool]]]


def pairwise_accuracy(better: list[float | None], worse: list[float | None]) -> float:
    """Fraction of pairs where the first score beats the second (ties count half)."""
    if not better:
        return float("nan")
    return mean(_win(a, b) for a, b in zip(better, worse))


def correct_over_incorrect(groups: list[tuple[list[float | None], list[bool]]]) -> tuple[float, int]:
    """Over every problem and every (correct, incorrect) pair of its samples: how often the correct one
    scores higher (ties half). Returns (accuracy, number of pairs); problems with only one kind add no pair."""
    wins, pairs = 0.0, 0
    for scores, correct in groups:
        good = [s for s, c in zip(scores, correct) if c]
        bad = [s for s, c in zip(scores, correct) if not c]
        wins += sum(_win(g, b) for g in good for b in bad)
        pairs += len(good) * len(bad)
    return (wins / pairs if pairs else float("nan")), pairs


def pick_best(scores: list[float | None]) -> int | None:
    """Index of the highest score (the earliest on ties); None when nothing is scored."""
    scored = [(s, -i) for i, s in enumerate(scores) if s is not None]
    return -max(scored)[1] if scored else None


def best_of_n(groups: list[tuple[list[float | None], list[bool]]], n: int) -> float:
    """Accuracy when each problem keeps the best-scored of its first n samples (the first when none is scored: they
    all tie, as equal scores do)."""
    hits = []
    for scores, correct in groups:
        best = pick_best(scores[:n])
        hits.append(correct[best or 0])
    return mean(hits) if hits else float("nan")


def random_pick(groups: list[tuple[list[float | None], list[bool]]], n: int) -> float:
    """Expected accuracy of a uniformly random pick among the first n samples (exact, not sampled)."""
    return mean(mean(correct[:n]) for _, correct in groups) if groups else float("nan")


def oracle(groups: list[tuple[list[float | None], list[bool]]], n: int) -> float:
    """pass@n: a problem counts when any of its first n samples is correct (a perfect verifier's pick)."""
    return mean(any(correct[:n]) for _, correct in groups) if groups else float("nan")


def length_correlation(scores: list[float | None], lengths: list[int]) -> float:
    """Pearson correlation between score and completion length over scored samples (nan if undefined)."""
    pairs = [(s, n) for s, n in zip(scores, lengths) if s is not None]
    if len(pairs) < 3 or len({s for s, _ in pairs}) < 2 or len({n for _, n in pairs}) < 2:
        return float("nan")
    return correlation([s for s, _ in pairs], [float(n) for _, n in pairs])


def bootstrap_se(groups: Groups, statistic: Callable[[Groups], float], draws: int = 200, seed: int = 0) -> float:
    """Standard error of `statistic` over problems: its spread when the problems are drawn again with replacement."""
    rng = random.Random(seed)
    return pstdev(statistic(rng.choices(groups, k=len(groups))) for _ in range(draws))


def _win(a: float | None, b: float | None) -> float:
    if a is None and b is None:
        return 0.5
    if b is None:
        return 1.0
    if a is None:
        return 0.0
    return 1.0 if a > b else 0.5 if a == b else 0.0
