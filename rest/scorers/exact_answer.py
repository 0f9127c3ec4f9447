"""The exact-answer verifier as a scorer: 1.0 correct, 0.0 wrong, None when it cannot judge.

"Cannot judge" is any verdict but `ok`: no answer found, the pair timed out, or an answer that cannot be
parsed. Such samples are not correct (`correct=False`), and the loop counts and logs them.
"""

from __future__ import annotations

from rest.records import Sample
from rest.verifier import Verifier


class ExactAnswerScorer:
    """Fills `extracted`, `correct` and `verdict` on each sample and returns its score."""

    name = "exact_answer"

    def __init__(self, verifier: Verifier):
        self.verifier = verifier

    def score(self, samples: list[Sample]) -> list[float | None]:
        verdicts = self.verifier.verify([s.completion for s in samples], [s.reference for s in samples])
        for sample, verdict in zip(samples, verdicts):
            sample.extracted, sample.correct, sample.verdict = verdict.extracted, verdict.correct, verdict.status
        return [float(v.correct) if v.status == "ok" else None for v in verdicts]
