"""Scores normalised to [0, 1], so one threshold means the same whichever scorer produced them.

A scorer whose scores already lie in [0, 1] (`bounded = True`: the verifier's 1 / 0) keeps them. Any other
scorer (the endogenous reward, the implicit PRM: unbounded log-probabilities) is mapped to its percentile rank
among the samples scored in the same Improve step: (rank) / (n - 1), ties sharing their mean rank. So for such
a scorer `threshold=0.7` keeps about the best 30% of a Grow step's samples. Unscored samples stay None.

>>> normalize([3.0, None, -1.0, 3.0, 0.5], bounded=False)
[0.8333333333333334, None, 0.0, 0.8333333333333334, 0.3333333333333333]
>>> normalize([1.0, 0.0, None], bounded=True)
[1.0, 0.0, None]
"""

from __future__ import annotations


def normalize(scores: list[float | None], bounded: bool) -> list[float | None]:
    if bounded:
        return [None if s is None else min(max(float(s), 0.0), 1.0) for s in scores]
    scored = sorted((s, i) for i, s in enumerate(scores) if s is not None)
    if len(scored) == 1:
        return [None if s is None else 1.0 for s in scores]
    ranks: dict[int, float] = {}
    start = 0
    while start < len(scored):
        end = start
        while end + 1 < len(scored) and scored[end + 1][0] == scored[start][0]:
            end += 1
        for _, i in scored[start : end + 1]:
            ranks[i] = (start + end) / 2 / (len(scored) - 1)
        start = end + 1
    return [ranks.get(i) for i in range(len(scores))]
