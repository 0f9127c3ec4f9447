"""Where Grow's engines go when there are several (sampler=ray, rest/sampler/ray.py): checks of the replica counts
against the machine, each batch's contiguous shares, each CPU replica's cores, and whether a Ray cluster's
address answers. Pure functions (but `check_address`, one socket), so config checking uses them without Ray;
`join_cluster` joins one (Grow's engines and Train on several nodes, rest/nodes.py, share it)."""

from __future__ import annotations

import logging
import os
import socket

from rest.errors import UserError
from rest.machine import Machine
from rest.sampler.hardware import reserved_cpu_cores
from rest.stop import sigterm_handler_kept

CONNECT_TIMEOUT = 5.0  # seconds to reach a Ray cluster's address before giving up
GCS_RETRIES = "5"  # Ray's own connection attempts (about a second each) once the address answers


def check_replicas(replicas: int, gpus_per_replica: int, gpus: int | None, cores: int | None) -> str | None:
    """What is wrong with running `replicas` engines here (one line), or None. `gpus` 0 means CPU engines; None
    that the machines are not known yet (a cluster not joined): only the counts are checked.

    >>> check_replicas(2, 1, gpus=0, cores=2) is None, check_replicas(4, 2, gpus=8, cores=2) is None
    (True, True)
    >>> check_replicas(0, 1, gpus=0, cores=2)
    'sampler.replicas must be at least 1, got 0'
    >>> check_replicas(3, 1, gpus=0, cores=2)
    'sampler.replicas=3 CPU engines need a core each, but this machine gives 2: lower sampler.replicas'
    """
    if replicas < 1:
        return f"sampler.replicas must be at least 1, got {replicas}"
    if gpus_per_replica < 1:
        return f"sampler.gpus_per_replica must be at least 1, got {gpus_per_replica}"
    if gpus is None:
        return None
    if gpus:
        if replicas * gpus_per_replica > gpus:
            return (f"sampler.replicas x sampler.gpus_per_replica = {replicas} x {gpus_per_replica} GPUs, but "
                    f"{gpus} are visible: lower one of them")
        return None
    if replicas > cores:
        return (f"sampler.replicas={replicas} CPU engines need a core each, but this machine gives {cores}: "
                "lower sampler.replicas")
    return None


def placement_error(replicas: int, gpus_per_replica: int, address: str | None, gpu_memory_utilization: float,
                    machine: Machine | None = None) -> str | None:
    """`check_replicas` for a config, on `machine` (None: this one); with `address` the engines go to a cluster
    not joined yet, so only the counts are checked (config checking starts no Ray and opens no socket)."""
    if not 0.0 < gpu_memory_utilization <= 1.0:
        return f"sampler.engine.gpu_memory_utilization must be in (0, 1], got {gpu_memory_utilization}"
    if address is not None:
        return check_replicas(replicas, gpus_per_replica, None, None)
    machine = machine or Machine.here()
    return check_replicas(replicas, gpus_per_replica, machine.gpus, machine.cores)


def shares(count: int, parts: int) -> list[slice]:
    """Contiguous shares of `count` items among `parts` replicas, earlier ones at most one larger.

    >>> [list(range(5))[s] for s in shares(5, 2)], [list(range(1))[s] for s in shares(1, 3)]
    ([[0, 1, 2], [3, 4]], [[0], [], []])
    """
    size, extra = divmod(count, parts)
    ends = [(i + 1) * size + min(i + 1, extra) for i in range(parts)]
    return [slice(end - size - (i < extra), end) for i, end in enumerate(ends)]


def replica_cores(cores: list[int], replicas: int, index: int, reserved: int | str) -> tuple[list[int], list[int]]:
    """(the cores replica `index` runs on, those its engine computes on): its contiguous share of `cores`, less
    the cores vLLM keeps for its scheduler (`sampler.engine.cpu_reserved_cores`, counted per engine).

    >>> replica_cores([0, 1], 2, 1, "auto")
    ([1], [1])
    >>> replica_cores(list(range(16)), 2, 1, "auto")[1]  # 8 cores an engine: auto keeps vLLM's one
    [8, 9, 10, 11, 12, 13, 14]
    """
    k = len(cores) // replicas
    share = cores[index * k : (index + 1) * k]
    keep = reserved_cpu_cores(reserved, k)
    keep = 1 if keep is None else keep  # vLLM's default on x86: one core for the scheduler
    return share, share[: k - keep] if k - keep >= 1 else share


def check_address(address: str, timeout: float = CONNECT_TIMEOUT, key: str = "sampler.address") -> str | None:
    """Why a Ray cluster at `address` (host:port, or ray://host:port; the setting `key`) cannot be reached, or
    None. Ray's own connection attempts to a dead address last minutes; a socket says so within `timeout` seconds.

    >>> check_address(6379)
    "sampler.address must be host:port (the head node's, from `ray start --head`), got 6379"
    """
    if address == "auto":
        return None
    host, colon, port = str(address).removeprefix("ray://").rpartition(":")  # str: a bare number on the command line
    if not colon or not port.isdigit():
        return f"{key} must be host:port (the head node's, from `ray start --head`), got {address!r}"
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as err:
        local = " or set sampler.address=null for a local one" if key == "sampler.address" else ""
        return f"{key}={address}: no Ray cluster answers there ({err.strerror or err}); start one with `ray start --head`{local}"
    return None


def join_cluster(address: str, key: str) -> None:
    """This process joins the Ray cluster at `address` (the setting `key`); one UserError line when it cannot."""
    import ray

    os.environ.setdefault("RAY_gcs_server_port_wait_time_s", GCS_RETRIES)
    try:
        with sigterm_handler_kept():
            ray.init(address=address, logging_level=logging.WARNING)
    except (ConnectionError, RuntimeError, ValueError) as err:
        raise UserError(f"{key}={address}: cannot join the Ray cluster ({err})".splitlines()[0]) from None
