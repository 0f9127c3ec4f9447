"""The exact-answer verifier as a scorer: 1.0 correct, 0.0 wrong, None when it cannot judge.

"Cannot judge" is any verdict but `ok`: no answer found, the pair timed out, or an answer that cannot be
parsed. Such samples are not correct (`correct=False`), and the loop counts and logs them. Samples that
already carry a verdict (the Improve step labels every sample first) are not judged again.
"""

from __future__ import annotations

from rest.records import Sample
from rest.verifier import Verifier


class ExactAnswerScorer:
    """Fills `extracted`, `correct` and `verdict` on each sample and returns its score."""

    name = "exact_answer"
    bounded = True  # scores are already 0 / 1: thresholds read them as they are

    def __init__(self, verifier: Verifier):
        self.verifier = verifier

    def score(self, samples: list[Sample], policy: str | None = None) -> list[float | None]:
        label(samples, self.verifier)
        return [float(s.correct) if s.verdict == "ok" else None for s in samples]

    def close(self) -> None:
        """The verifier belongs to the run, which closes it."""


def label(samples: list[Sample], verifier: Verifier) -> None:
    """Judge every sample that has no verdict yet against its reference."""
    todo = [s for s in samples if s.verdict is None]
    verdicts = verifier.verify([s.completion for s in todo], [s.reference for s in todo])
    for sample, verdict in zip(todo, verdicts):
        sample.extracted, sample.correct, sample.verdict = verdict.extracted, verdict.correct, verdict.status
