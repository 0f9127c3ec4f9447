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
    """Settings: conf/scorer/code_tests.yaml."""

    bounded = True  # 0/1, or a fraction in [0, 1]

    def __init__(self, *, reward: str):
        if reward not in REWARDS:
            raise UserError(f"scorers.code_tests.reward must be one of {REWARDS}, got {reward!r}")
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
        failed = [s for s in samples if s.verdict not in (None, "pass", CANNOT_JUDGE)]  # None: no tests
        outcomes = dict(zip(map(id, failed), verifier.outcomes([s.completion for s in failed],
                                                               [s.reference for s in failed])))
        scores = []
        for s in samples:
            outcome = outcomes.get(id(s))
            if s.verdict in (None, CANNOT_JUDGE) or (outcome and outcome.verdict is None):
                scores.append(None)
            else:
                scores.append(outcome.passed / outcome.total if outcome else 1.0)
        return scores

    def release(self) -> None:
        """Holds nothing: the verifier belongs to the run."""
