"""Progress of a long stage in the log, at most once a period: a 7B judge scores a Grow's 240,000 samples for an
hour, and without it the run's log says nothing between the stage's first line and its last."""

from __future__ import annotations

import logging
import time


class Pace:
    """`pace.advance(n)` after each piece of `total` units of work; every `every` seconds it logs how far the work
    is, how long it took and, at that pace, how long the rest will take."""

    def __init__(self, what: str, total: int, logger: logging.Logger, every: float = 60.0):
        self.what, self.total, self.log, self.every = what, total, logger, every
        self.done = 0
        self.start = self.last = time.perf_counter()

    def advance(self, units: int) -> None:
        self.done += units
        now = time.perf_counter()
        if now - self.last < self.every or self.done >= self.total:
            return
        self.last = now
        seconds = now - self.start
        self.log.info("%s: %d of %d in %.0fs, about %.0fs left", self.what, self.done, self.total, seconds,
                      seconds / self.done * (self.total - self.done))
