"""What Grow asks for and gets back: sampling settings, per-problem seeds, completions."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from rest.errors import is_number, is_whole


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
    # A prompt the engine refuses (longer than its context) gets no completions instead of stopping the run: for
    # Retry, whose questions carry a hint or a whole wrong attempt. Grow and Evaluate stop, naming the setting.
    skip_refused: bool = False


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


# (field, test, what the test asks): vLLM's own limits (vllm.SamplingParams), checked before an engine starts
SAMPLING_LIMITS = (
    ("n", lambda v: is_whole(v, 1), "a whole number >= 1"),
    ("temperature", lambda v: is_number(v) and v >= 0, ">= 0 (0: greedy)"),
    ("top_p", lambda v: is_number(v) and 0 < v <= 1, "in (0, 1]"),
    ("top_k", lambda v: is_whole(v, -1), "-1 or 0 (off), or a whole number >= 1"),
    ("max_tokens", lambda v: is_whole(v, 1), "a whole number >= 1"),
    ("seed", lambda v: isinstance(v, int) and not isinstance(v, bool), "a whole number"),
    ("stop", lambda v: isinstance(v, list | tuple) and all(isinstance(s, str) and s for s in v),
     "a list of non-empty strings (e.g. ['\\n\\n'], or [])"),
)


def sampling_error(settings: dict, key: str) -> str | None:
    """One line naming the first of these sampling settings (set under `key`, e.g. sampler.grow) that vLLM would
    refuse, or None."""
    for field, holds, wanted in SAMPLING_LIMITS:
        if field in settings and not holds(settings[field]):
            return f"{key}.{field} must be {wanted}, got {settings[field]!r}"
    return None
