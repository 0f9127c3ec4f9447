"""Scorers: `score(samples) -> list[float | None]`; None means "could not be scored" and is counted."""

from typing import Protocol

from rest.records import Sample


class Scorer(Protocol):
    name: str

    def score(self, samples: list[Sample]) -> list[float | None]: ...
