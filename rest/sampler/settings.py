"""What Grow asks for and gets back: sampling settings, per-problem seeds, completions."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class SamplingSettings:
    """One sampling call's settings; every value comes from the config (`sampler.grow`, the loop's `eval`)."""

    n: int
    temperature: float
    top_p: float
    top_k: int
    max_tokens: int
    stop: tuple[str, ...]
    seed: int  # with the stage and the problem id, seeds each problem's samples (see `sample_seed`)


def sample_seed(*parts) -> int:
    """A stable 31-bit seed from any parts (run seed, stage, problem id): the same on every machine.

    >>> sample_seed(0, "grow", 1, "pool-7") == sample_seed(0, "grow", 1, "pool-7") != sample_seed(1, "grow", 1, "pool-7")
    True
    """
    digest = hashlib.sha256(repr(parts).encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


@dataclass(frozen=True)
class Completion:
    text: str
    token_ids: list[int]
    finish_reason: str
    cumulative_logprob: float | None
