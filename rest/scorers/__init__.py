"""Scorers: `score(samples, policy) -> list[float | None]`; None means "could not be scored" and is counted."""

from typing import Protocol

from rest.records import Sample


class Scorer(Protocol):
    name: str
    bounded: bool  # scores already in [0, 1]; otherwise thresholds see their percentile rank (rest/rewards.py)

    def score(self, samples: list[Sample], policy: str | None = None) -> list[float | None]:
        """One score per sample; `policy` is the model being improved (the default judge of model-based scorers)."""

    def close(self) -> None:
        """Free what scoring holds (a model's memory) before training."""
