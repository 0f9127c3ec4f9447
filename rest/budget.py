"""How many samples the loop's Grow draws per problem (rest/conf/budget/): a fixed n, or an adaptive budget.

`Fixed` is ReST-EM as published: `sampler.grow.n` samples of every problem, in one round.
`Adaptive` samples in rounds. The first round draws `per_round` samples of every problem; after each round the
verifier's verdicts decide the next: a problem stops once it has `target` distinct correct samples (by default
the filter's cap: what Improve would keep at most; duplicates are counted once, as the filter drops them) or
`max_per_problem` samples; the rest of the budget (`samples_per_problem` x the number of problems, in all) goes
to the problems still open, `per_round` each, until it is spent or no problem is open. When a round cannot give
every open problem its `per_round`, the ones with the fewest samples so far come first (ties in an order drawn
from the problem id), one sample at a time.

Both are pure planners: they see the problems and what each has so far (a `Tally`) and return the next round's
`Request`s, or nothing when Grow is done. Each request carries its own seed, `sample_seed(seed, "grow",
iteration, round, problem id)` (Fixed keeps the seeds Grow always had: no round), and the sample index its
samples start at (indices continue across rounds): the samples do not depend on batching, order or resuming.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from rest.errors import UserError, is_number, is_whole
from rest.records import Problem
from rest.sampler.settings import SamplingSettings, sample_seed


@dataclass
class Tally:
    """One problem's samples so far: how many were drawn, and its distinct correct completions."""

    drawn: int = 0
    correct: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Request:
    """Draw `count` samples of `problem` with `seed`; their sample indices start at `first_index`."""

    problem: Problem
    count: int
    first_index: int
    seed: int


class Fixed:
    """`sampler.grow.n` samples per problem, one round, seeded as Grow always was (today's behaviour)."""

    def total(self, problems: int, settings: SamplingSettings) -> int:
        return settings.n * problems

    def plan(self, problems: list[Problem], tallies: dict[str, Tally], round_: int, settings: SamplingSettings,
             iteration: int) -> list[Request]:
        if round_ > 0:
            return []
        return [Request(p, settings.n, 0, sample_seed(settings.seed, "grow", iteration, p.id)) for p in problems]


class Adaptive:
    """Rounds of `per_round` samples per open problem, `samples_per_problem` x problems in all (see above)."""

    def __init__(self, samples_per_problem: float, per_round: int, max_per_problem: int, target: int | None):
        problem = _settings_error(samples_per_problem, per_round, max_per_problem, target)
        if problem:
            raise UserError(problem)
        self.samples_per_problem, self.per_round = samples_per_problem, per_round
        self.max_per_problem, self.target = max_per_problem, target

    def total(self, problems: int, settings: SamplingSettings) -> int:
        return int(self.samples_per_problem * problems)

    def plan(self, problems: list[Problem], tallies: dict[str, Tally], round_: int, settings: SamplingSettings,
             iteration: int) -> list[Request]:
        left = self.total(len(problems), settings) - sum(t.drawn for t in tallies.values())
        wants = {p.id: min(self.per_round, self.max_per_problem - tallies[p.id].drawn)
                 for p in problems if self.open(tallies[p.id])}
        counts = self.share(wants, tallies, left, (settings.seed, "budget", iteration, round_))
        return [Request(p, counts[p.id], tallies[p.id].drawn, sample_seed(settings.seed, "grow", iteration, round_, p.id))
                for p in problems if counts[p.id] > 0]

    def open(self, tally: Tally) -> bool:
        """Still sampled: below the maximum, and short of `target` distinct correct samples."""
        return tally.drawn < self.max_per_problem and (self.target is None or len(tally.correct) < self.target)

    @staticmethod
    def share(wants: dict[str, int], tallies: dict[str, Tally], left: int, salt: tuple) -> Counter[str]:
        """Each problem's count this round: what it wants when `left` covers everyone, else one sample at a time to
        the problems with the fewest samples so far (ties: an order drawn from `salt` and the problem id)."""
        if sum(wants.values()) <= left:
            return Counter(wants)
        order = sorted(wants, key=lambda pid: (tallies[pid].drawn, sample_seed(*salt, pid), pid))
        counts: Counter[str] = Counter()
        while left > 0:
            for pid in order:
                if left > 0 and counts[pid] < wants[pid]:
                    counts[pid] += 1
                    left -= 1
        return counts


def _settings_error(samples_per_problem, per_round, max_per_problem, target) -> str | None:
    """One line saying what is wrong with an adaptive budget's settings (counts are whole numbers: a fraction of a
    sample would reach the engine), or None."""
    if not is_number(samples_per_problem) or samples_per_problem < 1:
        return (f"budget.samples_per_problem must be a number >= 1 (a budget smaller than the number of problems "
                f"leaves some unsampled), got {samples_per_problem!r}")
    if not is_whole(per_round, 1):
        return f"budget.per_round must be a whole number >= 1, got {per_round!r}"
    if not is_whole(max_per_problem, 1):
        return f"budget.max_per_problem must be a whole number >= 1, got {max_per_problem!r}"
    if max_per_problem < per_round:
        return f"budget.max_per_problem ({max_per_problem}) must be >= budget.per_round ({per_round})"
    if max_per_problem < samples_per_problem:
        return (f"budget.max_per_problem ({max_per_problem}) must be >= budget.samples_per_problem "
                f"({samples_per_problem}): no problem could take its share of the budget")
    if target is not None and not is_whole(target, 1):
        return f"budget.target must be a whole number >= 1 of correct samples (or null: no early stop), got {target!r}"
    return None
