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


SHIPPED_ENGINE_SETTINGS = frozenset({"enforce_eager", "max_model_len", "enable_chunked_prefill"})  # rest/conf/sampler


def engine_settings_error(engine_kwargs: dict) -> str | None:
    """A `sampler.engine` key that vllm.LLM does not take (a `+sampler.engine.max_num_seq=8` typo), in one line
    before the engine starts, not vLLM's TypeError when it does. vLLM is imported only for keys added by hand."""
    added = sorted(set(engine_kwargs) - SHIPPED_ENGINE_SETTINGS)
    if not added:
        return None
    import dataclasses
    import inspect

    from vllm import LLM
    from vllm.engine.arg_utils import EngineArgs

    known = {f.name for f in dataclasses.fields(EngineArgs)} | set(inspect.signature(LLM.__init__).parameters)
    unknown = [key for key in added if key not in known]
    return (f"sampler.engine.{unknown[0]} is not a setting of vLLM's engine (vllm.LLM / EngineArgs); check its "
            "spelling") if unknown else None


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


def greedy_error(temperature, counts: dict[str, int]) -> str | None:
    """Temperature 0 is greedy decoding: vLLM refuses more than one sample of a prompt with it (they would all be one
    completion). `counts`: the sample counts the run asks for, by key (sampler.grow.n, mode.eval.k, ...)."""
    if temperature != 0:
        return None
    key = next((key for key, count in counts.items() if is_whole(count, 2)), None)
    if key is None:
        return None
    return (f"sampler.grow.temperature=0 is greedy decoding: vLLM refuses {key}={counts[key]} samples of a problem "
            f"with it, as they would all be one completion; set a temperature > 0, or {key}=1")


def context_error(max_tokens, max_model_len) -> str | None:
    """A completion of `max_tokens` that leaves no room for a prompt in the engine's context (prompt and completion
    share it: vLLM would cut every completion at the context instead)."""
    if max_model_len is None or not (is_whole(max_tokens, 1) and is_whole(max_model_len, 1)):
        return None
    if max_tokens < max_model_len:
        return None
    return (f"sampler.grow.max_tokens={max_tokens} leaves no room for a prompt in sampler.engine.max_model_len="
            f"{max_model_len} (the prompt and its completion share the context): raise max_model_len or lower "
            "max_tokens")
