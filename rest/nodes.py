"""Train on several nodes (`trainer.nodes` > 1): one launcher per node, started there by Ray.

torchrun and accelerate launch are multi-node launchers already: started once on each node with the node count,
that node's rank and node 0's address and port, they meet there and start `processes` ranks on every node
(rest/process_group.py builds their command lines). What they need is something that starts them on the nodes; on
the Ray cluster that this loop joins for Grow (rest/sampler/ray.py), that is one Ray actor per node, pinned to it
(NodeAffinitySchedulingStrategy), which runs its node's launcher as a child process:
- the nodes are the first `nodes` alive ones with `processes` GPUs (on a CPU cluster, cores), the driver's own
  node first, so that rank 0, which writes the checkpoint, runs beside the loop;
- the actors reserve no GPU: like single-node Train, the launcher uses its node's GPUs while the engines sleep
  (their Ray actors still hold the GPUs' reservation);
- node 0's actor names the address (its node's IP and a port free there);
- the launchers run with the environment of Ray's workers on their node (that of `ray start` there), plus the
  loop's own variables that the ranks read (FORWARDED: W&B's, Hugging Face's, NCCL's, torch's), as on one node;
- each node's launcher logs to a file of its own beside the checkpoint; when one fails or its node is lost, the
  others are stopped (a rank waiting in a collective for a dead peer would wait for the collective's timeout),
  and the error names the failed node's log.
Every node must see the run directory, the model and this Python environment at the same paths (a shared file
system, as for Grow on a cluster): the ranks read the spec and the examples there, and rank 0 writes there.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

from rest import lifeline
from rest.errors import UserError
from rest.sampler.placement import join_cluster

log = logging.getLogger(__name__)
STOP_GRACE = 30.0  # seconds the other nodes' launchers get to exit once one has failed
FORWARDED = ("WANDB_", "HF_", "TRANSFORMERS_", "TOKENIZERS_", "NCCL_", "TORCH_", "PYTORCH_")  # variable prefixes
NodeCommands = Callable[[str, int], list[list[str]]]  # node 0's (host, port) -> each node's launcher command


class NodeLauncher:
    """One node's launcher, run by a Ray actor on that node. `run` and `stop` run on two threads of the actor."""

    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None

    def address(self) -> tuple[str, int]:
        """This node's IP and a port free on it: where the other nodes' launchers meet node 0's."""
        import ray

        return ray.util.get_node_ip_address(), free_port()

    def run(self, command: list[str], env: dict[str, str], cwd: str, log_path: str) -> int:
        """The launcher's exit code; its output goes to `log_path`."""
        with open(log_path, "w") as out:
            self.process = subprocess.Popen(lifeline.command(command), env={**os.environ, **env}, cwd=cwd, stdout=out,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        return self.process.wait()

    def stop(self) -> None:
        """Ends the launcher and its ranks (they are its process group)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)


def free_port() -> int:
    """A TCP port nothing listens on now on this node (the OS picks it)."""
    with socket.socket() as s:
        s.bind(("", 0))  # every interface: node 0's port must be free to the other nodes as well
        return s.getsockname()[1]


def run_on_nodes(commands: NodeCommands, nodes: int, processes: int, address: str | None,
                 logs: list[Path]) -> tuple[int, Path]:
    """Runs each node's launcher on its own node of the Ray cluster at `address` (None: the one this process has
    joined already); returns (exit code, log): 0 and node 0's log, or the first failure's code and its node's log."""
    import ray

    started = _connect(address)
    actors = []
    try:
        chosen = pick_nodes(ray.nodes(), ray.get_runtime_context().get_node_id(), nodes, processes)
        actors = [_actor(node["NodeID"]) for node in chosen]
        host, port = ray.get(actors[0].address.remote())
        log.info("Train on %d nodes (%s), %d process(es) each; node 0 at %s:%d; ranks log to %s", nodes,
                 ", ".join(node["NodeManagerAddress"] for node in chosen), processes, host, port, logs[0].parent)
        forwarded = {name: value for name, value in os.environ.items() if name.startswith(FORWARDED)}
        runs = {actor.run.remote(command, forwarded | node_environment(node, processes), os.getcwd(), str(path)): i
                for i, (actor, command, node, path) in enumerate(zip(actors, commands(host, port), chosen, logs))}
        failed, code = _first_failure(runs)
        return code, logs[failed]
    finally:
        _end(actors)
        if started:
            ray.shutdown()


def pick_nodes(cluster: list[dict], driver: str, nodes: int, processes: int) -> list[dict]:
    """The first `nodes` alive nodes of `cluster` (ray.nodes()) with `processes` GPUs each, or cores where no node
    has a GPU, the `driver`'s node first; a UserError line when there are fewer."""
    alive = [node for node in cluster if node["Alive"]]
    resource = "GPU" if any(node["Resources"].get("GPU", 0) for node in alive) else "CPU"
    fit = sorted((node for node in alive if node["Resources"].get(resource, 0) >= processes),
                 key=lambda node: node["NodeID"] != driver)
    if len(fit) < nodes:
        have = ", ".join(f"{node['NodeManagerAddress']} ({node['Resources'].get(resource, 0):g})" for node in alive)
        raise UserError(f"trainer.nodes={nodes} needs {nodes} nodes with {processes} {resource}(s) each "
                        f"(trainer.processes), but the Ray cluster has {len(fit)}: {have}")
    return fit[:nodes]


def node_environment(node: dict, processes: int) -> dict[str, str]:
    """What a node's launcher adds to its environment: on a node without a GPU, gloo ranks on CPU
    (ACCELERATE_USE_CPU, else each rank trains alone) with the node's cores shared among them."""
    if node["Resources"].get("GPU", 0):
        return {}
    return {"ACCELERATE_USE_CPU": "true", "OMP_NUM_THREADS": str(max(1, int(node["Resources"]["CPU"]) // processes))}


def _connect(address: str | None) -> bool:
    """Joins the cluster unless this process has already; whether it joined now."""
    import ray

    if ray.is_initialized():
        return False
    if address is None:
        raise UserError("trainer.nodes > 1 needs a Ray cluster: set trainer.ray_address (host:port, or auto)")
    join_cluster(address, "trainer.ray_address")
    return True


def _actor(node_id: str):
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    pinned = NodeAffinitySchedulingStrategy(node_id=node_id, soft=False)
    return ray.remote(NodeLauncher).options(num_cpus=0, max_concurrency=2, scheduling_strategy=pinned).remote()


def _first_failure(runs: dict) -> tuple[int, int]:
    """(node, exit code) of the first launcher that failed, the others stopped; (0, 0) when all succeeded."""
    import ray

    pending = list(runs)
    while pending:
        (finished,), pending = ray.wait(pending, num_returns=1)
        try:
            code = ray.get(finished)
        except ray.exceptions.RayActorError:  # its node was lost, or its actor died
            code = -1
        if code != 0:
            return runs[finished], code
    return 0, 0


def _end(actors: list) -> None:
    """Stops every launcher still running (a failure elsewhere, Ctrl-C, SIGTERM), then ends the actors."""
    import ray

    if not actors:
        return
    try:
        ray.get([actor.stop.remote() for actor in actors], timeout=STOP_GRACE)
    except (ray.exceptions.RayError, TimeoutError) as err:
        log.warning("could not stop every node's launcher: %s", str(err).splitlines()[0])
    for actor in actors:
        ray.kill(actor)
