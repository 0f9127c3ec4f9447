"""The exact-answer verifier as a scorer: 1.0 correct, 0.0 wrong, None when it cannot judge.

"Cannot judge" is any verdict but `ok`: no answer found, the pair timed out, or an answer that cannot be
parsed. Such samples are not correct (`correct=False`), and the loop counts and logs them. Samples that
already carry a verdict (Grow judges every sample) are not judged again. The verifier is the run's own,
handed over in the scoring context.
"""

from __future__ import annotations

import logging
from types import EllipsisType
from typing import TYPE_CHECKING

from rest.records import Sample

if TYPE_CHECKING:
    from rest.contracts import Judge, ScoringContext

log = logging.getLogger(__name__)

class ExactAnswerScorer:
    """Fills `extracted`, `correct` and `verdict` on each sample and returns its score."""

    bounded = True  # scores are already 0 / 1: thresholds read them as they are

    def score(self, samples: list[Sample], context: ScoringContext) -> list[float | None]:
        label(samples, context.verifier)
        return [float(s.correct) if s.verdict == "ok" else None for s in samples]

    def release(self) -> None:
        """Holds nothing: the verifier belongs to the run."""


def label(samples: list[Sample], verifier: Judge, fallback: str | None | EllipsisType = ...) -> None:
    """Judge every sample that has no verdict yet against its reference (one without a reference stays
    unjudged: its score is None). `fallback`: the task's reading of unmarked answers (`...`: the verifier's)."""
    todo = [s for s in samples if s.verdict is None and s.reference]
    unreferenced = sum(s.verdict is None and not s.reference for s in samples)
    if unreferenced:
        log.warning("verifier: %d of %d samples have no reference (in mode=score: no `reference`, or `tests` for "
                    "code) and cannot be judged", unreferenced, len(samples))
    verdicts = verifier.verify([s.completion for s in todo], [s.reference for s in todo], fallback)
    for sample, verdict in zip(todo, verdicts):
        sample.extracted, sample.correct, sample.verdict = verdict.extracted, verdict.correct, verdict.status
