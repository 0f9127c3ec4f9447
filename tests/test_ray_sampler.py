"""Grow on several vLLM engines (rest/sampler/ray.py): the same samples as one engine, bad settings and an
unreachable cluster as one line before any engine starts, and the split / merge of each batch."""

import os
import signal
import sys
import time
from collections import deque
from types import SimpleNamespace

import pytest
from conftest import config, make_task, sampling

from rest.config import build
from rest.errors import UserError
from rest.sampler import Completion, RaySampler
from rest.sampler import ray as ray_sampler
from rest.sampler.placement import check_replicas, replica_cores, shares
from rest.sampler.vllm import LOOKAHEAD
from rest.stages.grow import grow


def test_replica_counts_beyond_the_machine_are_one_line_naming_the_setting():
    assert check_replicas(2, 1, gpus=0, cores=2) is None
    assert check_replicas(4, 2, gpus=8, cores=1) is None
    problems = [check_replicas(0, 1, gpus=0, cores=2), check_replicas(3, 1, gpus=0, cores=2),
                check_replicas(3, 2, gpus=4, cores=64), check_replicas(2, 0, gpus=4, cores=64)]
    names = ["sampler.replicas", "sampler.replicas", "sampler.gpus_per_replica", "sampler.gpus_per_replica"]
    for problem, name in zip(problems, names):
        assert problem is not None and "\n" not in problem and name in problem, problem
    assert "3 x 2" in problems[2] and "4 are visible" in problems[2]


def test_more_replicas_than_cores_fail_when_the_sampler_is_built_before_ray_starts():
    replicas = len(os.sched_getaffinity(0)) + 1
    engine = config("sampler=ray", f"sampler.replicas={replicas}").sampler.engine
    with pytest.raises(UserError, match=f"replicas={replicas}"):
        build(engine)
    assert "ray" not in sys.modules or not sys.modules["ray"].is_initialized()


def test_with_no_address_the_run_starts_its_own_ray_even_where_another_runs_on_this_machine():
    import ray
    from ray.cluster_utils import Cluster

    other = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})  # `ray start`, or another job's Ray
    try:
        ray_sampler.start_local_ray()
        assert ray.cluster_resources()["CPU"] == len(os.sched_getaffinity(0))
        assert ray.get_runtime_context().gcs_address != other.address
    finally:
        ray.shutdown()
        other.shutdown()


@pytest.mark.parametrize("address", ["localhost:1", "10.255.255.1:6379", "no-port", "6379"])
def test_an_unreachable_cluster_address_fails_in_one_line_within_seconds(address, tiny_model):
    start = time.perf_counter()
    with pytest.raises(UserError) as raised:
        sampler = build(config("sampler=ray", f"sampler.address={address}").sampler.engine)
        sampler.generate(tiny_model, ["Compute 1 + 1.\n"], sampling(n=1, max_tokens=2))
    assert time.perf_counter() - start < 30
    assert address in str(raised.value) and "\n" not in str(raised.value)


def test_closing_with_a_dead_replica_still_stops_the_ray_this_run_started():
    import ray

    sampler = build(config("sampler=ray", "sampler.replicas=1").sampler.engine)  # one core: a test worker's
    ray.kill(sampler._serve()[0])
    with pytest.raises(ray.exceptions.RayActorError):
        sampler.close()
    assert not ray.is_initialized()
    sampler.close()  # nothing left to close


def test_shares_are_contiguous_balanced_and_merge_back_in_prompt_order():
    for count in range(12):
        for parts in range(1, 5):
            items = list(range(count))
            split = [items[s] for s in shares(count, parts)]
            assert len(split) == parts and [i for share in split for i in share] == items
            assert max(map(len, split)) - min(map(len, split)) <= 1


def test_each_cpu_replica_computes_on_cores_of_its_own():
    assert [replica_cores([0, 1], 2, i, "auto") for i in range(2)] == [([0], [0]), ([1], [1])]
    eight = [replica_cores(list(range(16)), 2, i, "auto") for i in range(2)]
    assert eight[0][0] == list(range(8)) and eight[1][0] == list(range(8, 16))
    assert eight[0][1] == list(range(7)) and eight[1][1] == list(range(8, 15))  # vLLM keeps one for its scheduler
    assert replica_cores(list(range(16)), 2, 1, 0)[1] == list(range(8, 16))


class Echo:
    """A VLLMSampler stand-in that pulls batches as it does (LOOKAHEAD ahead); a completion names its prompt and
    seed."""

    def stream(self, policy, batches, settings):
        batches, queued = iter(batches), deque()
        while True:
            while len(queued) < LOOKAHEAD and (batch := next(batches, None)) is not None:
                queued.append(batch)
            if not queued:
                return
            prompts, seeds = queued.popleft()
            yield [[Completion(f"{p}|{s}", [], "stop", 0.0)] for p, s in zip(prompts, seeds)]


class Inline:
    """A Ray actor handle stand-in: `handle.method.remote(...)` runs at once, so calls run in the order they are made
    (Ray runs one caller's calls to an actor in that order too)."""

    def __init__(self, replica):
        self.replica = replica

    def __getattr__(self, name):
        return SimpleNamespace(remote=getattr(self.replica, name))


def test_streamed_batches_come_back_whole_and_in_prompt_order_from_three_replicas(monkeypatch):
    replicas = []
    for _ in range(3):
        replica = ray_sampler.Replica.__new__(ray_sampler.Replica)
        replica.engine, replica.prompts, replica.inbox, replica.outputs = Echo(), 0, deque(), None
        replicas.append(replica)
    sampler = RaySampler.__new__(RaySampler)
    sampler._actors = [Inline(r) for r in replicas]
    monkeypatch.setattr(ray_sampler, "_get", lambda results: results)
    batches = [([f"p{i}-{j}" for j in range(size)], [100 * i + j for j in range(size)])
               for i, size in enumerate([5, 0, 1, 7, 2, 3])]
    streamed = list(sampler.stream("policy", batches, sampling()))
    assert [[c[0].text for c in batch] for batch in streamed] == [
        [f"{p}|{s}" for p, s in zip(prompts, seeds)] for prompts, seeds in batches]
    assert [r.prompts for r in replicas] == [8, 6, 4]  # earlier shares larger: 5 = 2+2+1, 7 = 3+2+2, ...


def test_grow_on_two_ray_replicas_equals_one_engine_row_for_row(sampler, tiny_model, verifier, machine_cores):
    task = make_task()
    problems = task.problems("test")[:12]
    chunks = [problems[i : i + 5] for i in range(0, len(problems), 5)]  # 5, 5, 2 problems: shares 3+2, 3+2, 1+1
    settings = sampling(n=4, max_tokens=24)
    one = [s.to_row() for chunk in grow(sampler, tiny_model, task, chunks, settings, verifier, ("grow", 0))
           for s in chunk]
    replicas = build(config("sampler=ray", "sampler.replicas=2").sampler.engine)  # 0.1 of RAM each
    terminate = signal.getsignal(signal.SIGTERM)
    try:
        two = [s.to_row() for chunk in grow(replicas, tiny_model, task, chunks, settings, verifier, ("grow", 0))
               for s in chunk]
        stats = replicas.stats()
    finally:
        replicas.close()
    assert len(one) == 12 * 4 and two == one
    assert signal.getsignal(signal.SIGTERM) is terminate  # not ray.init's sys.exit(15): SIGTERM ends a run in one line
    assert [s["prompts"] for s in stats] == [7, 5] and [s["engine_starts"] for s in stats] == [1, 1]
