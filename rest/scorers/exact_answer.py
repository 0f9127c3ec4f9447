"""The exact-answer verifier as a scorer: 1.0 correct, 0.0 wrong, None when no answer can be extracted."""

from __future__ import annotations

from rest.answers import extract_answer, is_equivalent
from rest.records import Sample


class ExactAnswerScorer:
    """Fills `extracted` and `correct` on each sample and returns its score."""

    name = "exact_answer"

    def __init__(self, fallback_last_number: bool = False):
        self.fallback_last_number = fallback_last_number

    def score(self, samples: list[Sample]) -> list[float | None]:
        scores = []
        for sample in samples:
            sample.extracted = extract_answer(sample.completion, self.fallback_last_number)
            sample.correct = is_equivalent(sample.extracted, sample.reference)
            scores.append(None if sample.extracted is None else float(sample.correct))
        return scores
