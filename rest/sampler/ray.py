"""Grow on several vLLM engines: Ray actors, each holding one `VLLMSampler`, each given a share of every batch.

This is how verl's and OpenRLHF's rollout workers scale generation: independent engines, one per group of
`gpus_per_replica` GPUs (tensor parallel inside the group), and a driver that splits the prompts and merges the
completions. Each batch's prompts (with their per-prompt seeds) go to the replicas in contiguous shares, and the
completions come back in prompt order. A problem's samples depend only on its own seed, so they are the same on
one engine or on several (tests/test_ray_sampler.py). Two alternatives that do not fit:
- vLLM's own `data_parallel_size`: the offline `LLM` refuses it for every model ("not supported for
  single-process usage and may hang"; vllm/entrypoints/llm.py) and points to a multi-process example instead.
- Ray Data LLM (`ray.data.llm`): its vLLM stage keeps `outputs[0]` of each request, so n > 1 samples per
  problem, what Grow is, are dropped (ray/llm/_internal/batch/stages/vllm_engine_stage.py).

What the driver does: `stream` keeps the next batch queued in every engine (the actors run `VLLMSampler.stream`
with its LOOKAHEAD) and asks for the next batch's results before handling the current one's, so the engines
keep sampling while Grow's caller judges a finished batch. Ray starts on first use, like the engines; with
`address` it joins a running cluster (checkpoints must then be on storage every node reads at the same path).
- GPU: each actor takes `gpus_per_replica` GPUs (`num_gpus`); with more than one, vLLM runs tensor parallel on
  them with its multiprocessing executor (`distributed_executor_backend="mp"`: inside a Ray actor the Ray
  executor loses the actor's placement group in vLLM's engine subprocess, vllm-project/vllm#30016). Not tested
  here (no GPU).
- CPU: the replicas share this machine's cores: replica i computes on cores i*k .. (i+1)*k - 1 of the allowed
  ones (k = cores // replicas), through `VLLM_CPU_OMP_THREADS_BIND` and the affinity of its actor process, so two
  engines never compute on one core. They share its RAM too: `gpu_memory_utilization` (a share of RAM on CPU) is
  split evenly among them, so the engines together hold what one engine would, and `release: auto` keeps or stops
  them through Train as it would one engine. On GPU it is each engine's share of its own GPUs.
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from collections.abc import Iterable, Iterator
from inspect import signature
from pathlib import Path

from tqdm.auto import tqdm

from rest.errors import UserError
from rest.sampler.placement import check_address, check_replicas, join_cluster, placement_error, replica_cores, shares
from rest.sampler.settings import Completion, SamplingSettings, engine_settings_error
from rest.sampler.vllm import LOOKAHEAD, RELEASES, VLLMSampler, release_action
from rest.stop import sigterm_handler_kept

log = logging.getLogger(__name__)
TAKES_AHEAD = 2  # batches whose results are asked for at once: an engine never waits for the driver


class Replica:
    """One engine in its Ray actor. `stream` in the driver feeds it: `open`, then `push` of batches (None ends
    them) always ahead of the `take` that needs them (Ray runs one caller's calls in order)."""

    def __init__(self, engine: dict, cores: list[int] | None):
        logging.basicConfig(format="%(name)s: %(message)s")  # reaches the driver's log, prefixed by Ray
        logging.getLogger("rest").setLevel(logging.INFO)
        if cores:
            os.sched_setaffinity(0, cores)  # the engine's processes inherit it

        self.engine = VLLMSampler(**engine)
        self.prompts = 0  # prompts this replica was given (stats)
        self.inbox: deque = deque()
        self.outputs: Iterator | None = None

    def open(self, policy: str, settings: SamplingSettings) -> None:
        self.close_stream()
        self.inbox.clear()
        self.outputs = self.engine.stream(policy, self._batches(), settings)

    def push(self, batch: tuple[list[str], list[int] | None] | None) -> None:
        self.prompts += len(batch[0]) if batch else 0
        self.inbox.append(batch)

    def take(self) -> list[list[Completion]]:
        return next(self.outputs)

    def close_stream(self) -> None:
        if self.outputs is not None:
            self.outputs.close()  # aborts what it still queued
            self.outputs = None

    def release(self) -> None:
        self.engine.release()

    def stats(self) -> dict:
        return {"prompts": self.prompts, "engine_starts": self.engine.engine_starts,
                "policy_loads": self.engine.policy_loads, "state": self.engine.state}

    def close(self) -> None:
        self.close_stream()
        self.engine.close()

    def _batches(self) -> Iterator[tuple[list[str], list[int] | None]]:
        while (batch := self.inbox.popleft()) is not None:  # an empty inbox here is a bug in the driver: raise
            yield batch


class RaySampler:
    """`generate` / `stream` as `VLLMSampler`'s, on `replicas` engines; `engine` is every VLLMSampler setting."""

    def __init__(self, *, replicas: int, gpus_per_replica: int, address: str | None, **engine):
        if engine.get("release") not in RELEASES:
            raise UserError(f"sampler.release must be one of {RELEASES}, got {engine.get('release')!r}")
        self.replicas, self.gpus_per_replica, self.address, self.engine = replicas, gpus_per_replica, address, engine
        problem = placement_error(replicas, gpus_per_replica, address, engine["gpu_memory_utilization"]) or (
            engine_settings_error({k: v for k, v in engine.items() if k not in signature(VLLMSampler).parameters}))
        if problem is None and address is not None:
            problem = check_address(address)
        if problem:
            raise UserError(problem)
        self._actors: list = []
        self._started_ray = False

    def generate(self, policy: str, prompts: list[str], settings: SamplingSettings,
                 seeds: list[int] | None = None) -> list[list[Completion]]:
        (outputs,) = self.stream(policy, [(prompts, seeds)], settings)
        return outputs

    def stream(self, policy: str, batches: Iterable[tuple[list[str], list[int] | None]],
               settings: SamplingSettings) -> Iterator[list[list[Completion]]]:
        """Yields each batch's completions in prompt order, as `VLLMSampler.stream` does."""
        actors = self._serve()
        if Path(policy).exists():  # a local checkpoint: the actors' working directory may not be this one's
            policy = str(Path(policy).resolve())
        for actor in actors:
            actor.open.remote(policy, settings)
        feed = _Feed(actors, batches)
        for _ in range(LOOKAHEAD):
            feed.push()
        asked: deque[list] = deque()
        progress = tqdm(desc=f"Sampling on {len(actors)} replicas", unit="prompt", dynamic_ncols=True)
        try:
            while True:
                while len(asked) < TAKES_AHEAD and feed.asked < feed.pushed:
                    asked.append([actor.take.remote() for actor in actors])
                    feed.asked += 1
                    feed.push()  # each `take` finds the next batch already queued
                if not asked:
                    return
                outputs = [completions for share in _get(asked.popleft()) for completions in share]
                progress.update(len(outputs))
                yield outputs
        finally:
            progress.close()
            for actor in actors:
                actor.close_stream.remote()

    def release(self) -> None:
        """Every engine frees its accelerator (or, on CPU, stays or stops: see the module docstring)."""
        if self._actors:
            _get([actor.release.remote() for actor in self._actors])

    def stats(self) -> list[dict]:
        """Per replica: prompts given, engine starts, policy loads, engine state."""
        return _get([actor.stats.remote() for actor in self._actors]) if self._actors else []

    @property
    def engine_starts(self) -> int:
        """Engine starts over all replicas so far."""
        return sum(replica["engine_starts"] for replica in self.stats())

    def close(self) -> None:
        """Shut the engines down, end the actors, and stop Ray if this sampler started it; all of it even when an
        actor has died (its error is raised after)."""
        if not self._actors and not self._started_ray:
            return
        import ray

        actors, self._actors = self._actors, []
        try:
            _get([actor.close.remote() for actor in actors])
        finally:
            for actor in actors:
                ray.kill(actor)
            log.info("Ray replicas closed")
            if self._started_ray:
                ray.shutdown()
                self._started_ray = False

    def _serve(self) -> list:
        if not self._actors:
            self._connect()
            self._actors = self._spawn()
        return self._actors

    def _connect(self) -> None:
        import ray

        if ray.is_initialized():
            return
        if self.address is None:
            start_local_ray()
            self._started_ray = True
            return
        join_cluster(self.address, "sampler.address")
        gpus = int(ray.cluster_resources().get("GPU", 0))
        problem = check_replicas(self.replicas, self.gpus_per_replica, gpus, int(ray.cluster_resources()["CPU"]))
        if problem:
            raise UserError(problem)

    def _spawn(self) -> list:
        """One actor per replica, each with its engine settings, resources and (CPU) cores."""
        import ray

        gpu = int(ray.cluster_resources().get("GPU", 0)) > 0
        share = self.engine["gpu_memory_utilization"]  # on CPU, of all the engines together (module docstring)
        engine = {**self.engine, "gpu_memory_utilization": share if gpu else share / self.replicas,
                  "release": release_action(self.engine["release"], gpu, share, self.engine["cpu_keep_share"])}
        if gpu and self.gpus_per_replica > 1:  # tensor parallel inside a replica (module docstring)
            engine |= {"tensor_parallel_size": self.gpus_per_replica, "distributed_executor_backend": "mp"}
        replica, actors = ray.remote(Replica), []
        for i in range(self.replicas):
            options, env, cores = self._placement(i, gpu)
            seeded = {**engine, "seed": engine["seed"] + i}  # unseeded requests: no replica repeats another's draws
            actors.append(replica.options(**options, runtime_env={"env_vars": env}).remote(seeded, cores))
        log.info("Ray: %d vLLM replicas, %s", self.replicas,
                 f"{self.gpus_per_replica} GPU(s) each" if gpu else f"{options['num_cpus']} core(s) each")
        return actors

    def _placement(self, index: int, gpu: bool) -> tuple[dict, dict, list[int] | None]:
        """(Ray resources, environment, cores to run on) of replica `index`: its GPUs, or its own CPU cores."""
        env = {"TQDM_DISABLE": "1"}  # the driver shows progress; bars from several actors garble the log
        if gpu:
            return {"num_gpus": self.gpus_per_replica}, env, None
        if self.address is not None:  # a cluster's CPU nodes: vLLM binds its threads there itself
            return {"num_cpus": 1}, env, None
        cores, compute = replica_cores(sorted(os.sched_getaffinity(0)), self.replicas, index,
                                       self.engine["cpu_reserved_cores"])
        return {"num_cpus": len(cores)}, {**env, "VLLM_CPU_OMP_THREADS_BIND": ",".join(map(str, compute))}, cores


class _Feed:
    """Hands each batch's shares to the replicas, ahead of the `take` calls that need them."""

    def __init__(self, actors: list, batches: Iterable):
        self.actors, self.batches = actors, iter(batches)
        self.pushed, self.asked, self.ended = 0, 0, False

    def push(self) -> None:
        if self.ended:
            return
        batch = next(self.batches, None)
        if batch is None:
            self.ended = True
            for actor in self.actors:
                actor.push.remote(None)
            return
        prompts, seeds = batch
        for actor, share in zip(self.actors, shares(len(prompts), len(self.actors))):
            actor.push.remote((prompts[share], None if seeds is None else seeds[share]))
        self.pushed += 1


def _get(refs: list) -> list:
    """`ray.get`, with a UserError raised in an actor re-raised as itself (one line, not Ray's traceback)."""
    import ray

    try:
        return ray.get(refs)
    except ray.exceptions.RayTaskError as err:
        if isinstance(err.cause, UserError):
            raise err.cause from None
        raise


def start_local_ray() -> None:
    """A Ray of this run's own on this machine, with the cores this process may use: `address="local"`, because
    with no address Ray would join a cluster already started here (`ray start`, another job's) if it found one."""
    import ray

    start = time.perf_counter()
    with sigterm_handler_kept():
        ray.init(address="local", num_cpus=len(os.sched_getaffinity(0)), include_dashboard=False,
                 logging_level=logging.WARNING)
    log.info("Ray started on this machine in %.1fs", time.perf_counter() - start)
