"""Train as its own process group: the loop writes the examples and a resolved training spec, then starts the
rank entry point (rest/train_job.py) under a launcher and waits for it.

- `launcher: auto` trains inside the calling process when `processes` is 1 (no start-up cost) and under
  torchrun otherwise. `torchrun` (`python -m torch.distributed.run --standalone`): DDP, or FSDP / DeepSpeed through
  trl.SFTConfig's own `fsdp` / `deepspeed` fields. `accelerate`: `accelerate launch --config_file` with one of
  rest/accelerate_configs/ (`fsdp2`, `deepspeed_zero3`: by name, or a file), which save a full state dict that
  vLLM loads.
- Ports: torchrun's `--standalone` rendezvous and accelerate's `--main_process_port` get a free port each,
  so parallel sweep jobs on one node do not collide.
- On a machine with no accelerator, ranks run on CPU with gloo (`ACCELERATE_USE_CPU=true`; without it every rank
  would silently train alone) in float32 (gloo has no bf16 collectives). `accelerate launch --cpu` starts one
  process whatever `--num_processes` says, so on CPU the launcher is torchrun.
- The child's success is its exit code and the completion marker rank 0 writes after saving
  (`train_done.json`: world size, loss, steps); the checkpoint is used only when both hold.
- `nodes` > 1: the same launcher on each of `nodes` machines of a Ray cluster, `processes` ranks on each
  (rest/nodes.py starts them), meeting at node 0 (torchrun's static rendezvous, accelerate's main process).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from rest import lifeline
from rest.artifacts import read_json, write_json, write_jsonl
from rest.errors import OtherProcessesFailed, is_whole
from rest.log_relay import LogRelay
from rest.machine import Machine
from rest.nodes import free_port, run_on_nodes
from rest.sampler.placement import check_address

log = logging.getLogger(__name__)
LAUNCHERS = ("auto", "torchrun", "accelerate")
_LAUNCHER_NEEDS = {"auto": "a torch build with torch.distributed", "torchrun": "a torch build with torch.distributed",
                   "accelerate": "pip install accelerate"}
IN_PROCESS = {"processes": 1, "launcher": "auto", "accelerate_config": None, "nodes": 1,  # in-process Train's
              "ray_address": None}
SPEC, EXAMPLES, DONE = "train_spec.json", "train_examples.jsonl", "train_done.json"
EXCEPTION_LINE = re.compile(r"[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)(: |$)")  # `rest.errors.UserError: ...`
RANK_PREFIX = re.compile(r"^\[(default)?rank\d+\]:")  # torchrun's prefix of a rank's output
RANK_LINE = re.compile(r"rank \d+: ")  # a rank's own exit message (rest/train_job.py: `rank 0: world size 1, ...`)
SHIPPED_ACCELERATE_CONFIGS = Path(__file__).resolve().parent / "accelerate_configs"


@dataclass(frozen=True)
class NodeRole:
    """A launcher's place among several nodes: how many there are, its rank, and node 0's host and port."""

    nodes: int
    rank: int
    host: str
    port: int


def in_process(processes: int, launcher: str, nodes: int) -> bool:
    """Whether Train runs inside the calling process (today's single-process path)."""
    return launcher == "auto" and processes == 1 and nodes == 1


def launch_error(processes: int, launcher: str, accelerate_config: str | None, args: dict[str, Any],
                 machine: Machine | None = None, nodes: int = 1, ray_address: str | None = None) -> str | None:
    """One line saying what is wrong with the trainer's launch settings, or None. `machine`: where the ranks
    will run (None: this one, looked up only when it matters); with `nodes` > 1 they run on a Ray cluster's nodes
    instead, whose address (`ray_address`) must answer."""
    if launcher not in LAUNCHERS:
        return f"trainer.launcher must be one of {LAUNCHERS}, got {launcher!r}"
    if not is_whole(processes, 1):
        return f"trainer.processes must be a whole number >= 1, got {processes!r}"
    if not is_whole(nodes, 1):
        return f"trainer.nodes must be a whole number >= 1, got {nodes!r}"
    if not in_process(processes, launcher, nodes) and not _launcher_installed(launcher):
        return f"trainer.processes={processes} needs {launcher}, which this Python lacks ({_LAUNCHER_NEEDS[launcher]})"
    problem = _sharding_error(launcher, accelerate_config, args, machine, remote=nodes > 1)
    if problem:
        return problem
    if nodes > 1:
        return _nodes_error(nodes, ray_address)
    if processes > 1:
        return _processes_error(processes, machine or Machine.here())
    return None


def _sharding_error(launcher: str, accelerate_config: str | None, args: dict[str, Any], machine: Machine | None,
                    remote: bool) -> str | None:
    """The accelerate, DeepSpeed and FSDP settings; `remote`: the ranks run on other machines (no GPU check here)."""
    if launcher == "accelerate":
        return _accelerate_error(accelerate_config, None if remote else machine or Machine.here())
    if accelerate_config is not None:
        return "trainer.accelerate_config is read by trainer.launcher=accelerate only; set that launcher too"
    if args.get("deepspeed") is not None:
        return _deepspeed_error(str(args["deepspeed"]), "trainer.deepspeed")
    if args.get("fsdp") and not remote and (machine or Machine.here()).gpus == 0:
        return ("trainer.fsdp needs GPUs: on a machine without one the ranks run on CPU, where accelerate ignores "
                "FSDP and trains them as DDP")
    return None


def _nodes_error(nodes: int, ray_address: str | None) -> str | None:
    """Several nodes: a Ray cluster that answers; their GPUs are counted when Train starts (rest/nodes.py)."""
    if ray_address is None:
        return (f"trainer.nodes={nodes} starts Train on the nodes of a Ray cluster: set trainer.ray_address "
                "(host:port of its head, or auto for the cluster this node belongs to), or use sampler=ray "
                "with sampler.address")
    if not installed("ray"):
        return f"trainer.nodes={nodes} needs Ray, which this Python lacks (pip install -e .[ray])"
    return check_address(ray_address, key="trainer.ray_address")


def _processes_error(processes: int, machine: Machine) -> str | None:
    if machine.gpus and processes > machine.gpus:
        return f"trainer.processes={processes} but this machine has {machine.gpus} GPU(s); one rank per GPU"
    if not machine.gpus and processes > machine.cores:
        return f"trainer.processes={processes} but this machine has {machine.cores} CPU core(s) and no GPU"
    return None


def accelerate_config_file(config: str) -> Path:
    """The accelerate config file `config` names: a file path, or the name of one shipped in
    rest/accelerate_configs/ (`fsdp2`, `deepspeed_zero3`), so that an installed rest finds them from any directory."""
    path = Path(config)
    if path.is_file():
        return path
    return SHIPPED_ACCELERATE_CONFIGS / f"{config}.yaml"


def _accelerate_error(config: str | None, machine: Machine | None) -> str | None:
    """The config file, DeepSpeed installed when it asks for it, and GPUs on `machine` (None: not checked here)."""
    config_file = accelerate_config_file(str(config)) if config is not None else None
    if config_file is None or not config_file.is_file():
        shipped = sorted(p.stem for p in SHIPPED_ACCELERATE_CONFIGS.glob("*.yaml"))
        if config is None:
            return f"trainer.launcher=accelerate needs trainer.accelerate_config: a file, or one of {shipped}"
        return f"trainer.accelerate_config: no such file {config!r}, nor a shipped config; shipped: {shipped}"
    if machine is not None and machine.gpus == 0:
        return ("trainer.launcher=accelerate runs FSDP / DeepSpeed, which need GPUs; this machine has none "
                "(on CPU use trainer.launcher=torchrun)")
    if yaml.safe_load(config_file.read_text()).get("distributed_type") == "DEEPSPEED":
        return _deepspeed_error(None, "trainer.accelerate_config")
    return None


def _launcher_installed(launcher: str) -> bool:
    if launcher == "accelerate":
        return installed("accelerate.commands.launch")
    import torch.distributed

    return torch.distributed.is_available()


def installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # its parent package is missing
        return False


def _deepspeed_error(config: str | None, key: str) -> str | None:
    if config is not None and not Path(config).is_file():
        return f"{key}: no such DeepSpeed config file {config!r}"
    if not installed("deepspeed"):
        return f"{key} asks for DeepSpeed, which is not installed (pip install deepspeed)"
    return None


def launch(spec: dict[str, Any], examples: list[dict[str, str]], work_dir: Path, processes: int, launcher: str,
           accelerate_config: str | None, nodes: int, ray_address: str | None) -> dict[str, Any]:
    """Train `spec` on `examples` in a process group (`processes` ranks on each of `nodes` machines) writing its
    checkpoint into `work_dir`; returns the completion marker rank 0 wrote. Raises OtherProcessesFailed (the log's
    path, a rank's exception) when the group fails."""
    work_dir = work_dir.resolve()  # the ranks, on this node or another, may start elsewhere
    write_jsonl(work_dir / EXAMPLES, examples)
    write_json(work_dir / SPEC, {**spec, "processes": processes * nodes, "examples": EXAMPLES})
    log_path = work_dir.with_name(work_dir.name.removesuffix(".tmp") + ".train.log")
    log_path.unlink(missing_ok=True)  # a failed attempt's: its lines are not this one's
    with LogRelay(log_path):  # rank 0's loss records and progress, into the run's log as they come
        if nodes == 1:
            code = _run_here(_command(processes, launcher, accelerate_config, work_dir / SPEC), processes, log_path)
        else:
            logs = [log_path] + [log_path.with_suffix(f".node{i}.log") for i in range(1, nodes)]
            commands = _node_commands(processes, launcher, accelerate_config, work_dir / SPEC, nodes)
            code, log_path = run_on_nodes(commands, nodes, processes, ray_address, logs)
    done = work_dir / DONE
    if code != 0 or not done.exists():
        raise OtherProcessesFailed(f"Train's process group failed (exit code {code}, completion marker "
                           f"{'present' if done.exists() else 'missing'}); see {log_path}: {_tail(log_path)}")
    marker = read_json(done)
    for leftover in (done, work_dir / SPEC, work_dir / EXAMPLES):
        leftover.unlink()
    return marker


def _run_here(command: list[str], processes: int, log_path: Path) -> int:
    log.info("Train as %d process(es) (%s); ranks log to %s", processes, command[2], log_path)
    with open(log_path, "w") as ranks_log:
        return subprocess.run(lifeline.command(command), check=False, env=_environment(processes), stdout=ranks_log,
                              stderr=subprocess.STDOUT).returncode


def _node_commands(processes: int, launcher: str, accelerate_config: str | None, spec: Path, nodes: int):
    """Each node's launcher command, once node 0's host and port are known (rest/nodes.py)."""
    return lambda host, port: [_command(processes, launcher, accelerate_config, spec, NodeRole(nodes, rank, host, port))
                               for rank in range(nodes)]


def _command(processes: int, launcher: str, accelerate_config: str | None, spec: Path,
             node: NodeRole | None = None) -> list[str]:
    """The launcher's command line: on this node alone, or as `node` among several."""
    entry = ["-m", "rest.train_job", str(spec)]
    if launcher == "accelerate":
        config_file = accelerate_config_file(str(accelerate_config))
        where = (["--main_process_port", str(free_port())] if node is None else
                 ["--num_machines", str(node.nodes), "--machine_rank", str(node.rank),
                  "--main_process_ip", node.host, "--main_process_port", str(node.port)])
        return [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(config_file),
                "--num_processes", str(processes * (node.nodes if node else 1)), *where, *entry]
    where = (["--standalone"] if node is None else
             ["--nnodes", str(node.nodes), "--node_rank", str(node.rank), "--master_addr", node.host,
              "--master_port", str(node.port)])
    return [sys.executable, "-m", "torch.distributed.run", *where, "--nproc_per_node", str(processes), *entry]


def _environment(processes: int) -> dict[str, str]:
    env = dict(os.environ)
    if Machine.here().gpus == 0:
        env["ACCELERATE_USE_CPU"] = "true"  # else each rank, finding no accelerator, trains alone
        # torchrun's default is 1 thread per rank; on CPU each rank gets its share of the cores instead.
        env.setdefault("OMP_NUM_THREADS", str(max(1, len(os.sched_getaffinity(0)) // processes)))
    return env


def _tail(path: Path) -> str:
    """What the log says went wrong: the last exception a rank raised (`OSError: ...`, without torchrun's `[rank0]: `
    prefix; not torchrun's own ChildFailedError after it), else the last message a rank exited with (`rank 1: ...`,
    which has no exception's name), else its last line."""
    if not path.exists():
        return "(no log written)"
    lines = [RANK_PREFIX.sub("", line).strip() for line in path.read_text(errors="replace").splitlines()]
    lines = [line for line in lines if line]
    raised = [line for line in lines if EXCEPTION_LINE.match(line) and "ChildFailedError" not in line]
    exited = [line for line in lines if RANK_LINE.match(line)]
    return (raised or exited or lines or ["(empty)"])[-1][:300]
