"""Unit tests as the Improve score: all of a problem's tests pass (ReST-EM's binary reward on code, as on APPS
in Singh et al. 2023) or the fraction of them that pass. The programs run in the run's unit-test verifier
(rest/code/verifier.py), which Grow has already used on these samples: `all` reads its verdicts, `fraction`
asks it to run every test of the programs that did not pass them all.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import TYPE_CHECKING

from rest.code.verifier import CodeVerifier
from rest.errors import UserError
from rest.records import Sample
from rest.scorers.exact_answer import label

if TYPE_CHECKING:
    from rest.contracts import ScoringContext

log = logging.getLogger(__name__)
REWARDS = ("all", "fraction")
CANNOT_JUDGE = "error"  # the verdict of a program the sandbox could not run


class CodeTestsScorer:
    """Settings: rest/conf/scorer/code_tests.yaml."""

    bounded = True  # 0/1, or a fraction in [0, 1]

    def __init__(self, *, reward: str):
        if reward not in REWARDS:
            raise UserError(f"scorer.reward must be one of {REWARDS}, got {reward!r}")
        self.reward = reward

    def score(self, samples: list[Sample], context: ScoringContext) -> list[float | None]:
        if not isinstance(context.verifier, CodeVerifier):
            raise UserError("scorer=code_tests runs programs: use it with a code task (task=code, mbpp, humaneval, "
                            "apps), which selects verifier=code_tests")
        label(samples, context.verifier)
        log.info("code_tests: verdicts %s", dict(Counter(s.verdict for s in samples)))
        if self.reward == "all":
            return [None if s.verdict in (None, CANNOT_JUDGE) else float(s.correct) for s in samples]
        return self._fractions(samples, context.verifier)

    def _fractions(self, samples: list[Sample], verifier: CodeVerifier) -> list[float | None]:
        """1.0 for a pass; the share of tests passed, every test run, for the rest; None when it cannot judge."""
        scores = [None if s.verdict in (None, CANNOT_JUDGE) else 1.0 for s in samples]  # None verdict: no tests
        failed = [i for i, s in enumerate(samples) if s.verdict not in (None, "pass", CANNOT_JUDGE)]
        outcomes = verifier.outcomes([samples[i].completion for i in failed], [samples[i].reference for i in failed])
        for i, outcome in zip(failed, outcomes):
            scores[i] = None if outcome.verdict is None else outcome.passed / outcome.total
        return scores

    def release(self) -> None:
        """Holds nothing: the verifier belongs to the run."""
