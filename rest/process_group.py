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
"""

from __future__ import annotations

import importlib.util
import logging
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from rest.artifacts import read_json, write_json, write_jsonl
from rest.errors import is_whole
from rest.machine import Machine

log = logging.getLogger(__name__)
LAUNCHERS = ("auto", "torchrun", "accelerate")
_LAUNCHER_NEEDS = {"auto": "a torch build with torch.distributed", "torchrun": "a torch build with torch.distributed",
                   "accelerate": "pip install accelerate"}
IN_PROCESS = {"processes": 1, "launcher": "auto", "accelerate_config": None}  # the launch settings of in-process Train
SPEC, EXAMPLES, DONE = "train_spec.json", "train_examples.jsonl", "train_done.json"
SHIPPED_ACCELERATE_CONFIGS = Path(__file__).resolve().parent / "accelerate_configs"


def in_process(processes: int, launcher: str) -> bool:
    """Whether Train runs inside the calling process (today's single-process path)."""
    return launcher == "auto" and processes == 1


def launch_error(processes: int, launcher: str, accelerate_config: str | None, args: dict[str, Any],
                 machine: Machine | None = None) -> str | None:
    """One line saying what is wrong with the trainer's launch settings, or None. `machine`: where the ranks
    will run (None: this one, looked up only when it matters)."""
    if launcher not in LAUNCHERS:
        return f"trainer.launcher must be one of {LAUNCHERS}, got {launcher!r}"
    if not is_whole(processes, 1):
        return f"trainer.processes must be a whole number >= 1, got {processes!r}"
    if not in_process(processes, launcher) and not _launcher_installed(launcher):
        return f"trainer.processes={processes} needs {launcher}, which this Python lacks ({_LAUNCHER_NEEDS[launcher]})"
    if launcher == "accelerate":
        return _accelerate_error(accelerate_config, machine)
    if accelerate_config is not None:
        return "trainer.accelerate_config is read by trainer.launcher=accelerate only; set that launcher too"
    if args.get("deepspeed") is not None:
        return _deepspeed_error(str(args["deepspeed"]), "trainer.deepspeed")
    if processes > 1:
        return _processes_error(processes, machine or Machine.here())
    return None


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
    config_file = accelerate_config_file(str(config)) if config is not None else None
    if config_file is None or not config_file.is_file():
        shipped = sorted(p.stem for p in SHIPPED_ACCELERATE_CONFIGS.glob("*.yaml"))
        if config is None:
            return f"trainer.launcher=accelerate needs trainer.accelerate_config: a file, or one of {shipped}"
        return f"trainer.accelerate_config: no such file {config!r}, nor a shipped config; shipped: {shipped}"
    if (machine or Machine.here()).gpus == 0:
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
           accelerate_config: str | None) -> dict[str, Any]:
    """Train `spec` on `examples` in a process group writing its checkpoint into `work_dir`; returns the
    completion marker rank 0 wrote. Raises RuntimeError (with the log's path) when the group fails."""
    write_jsonl(work_dir / EXAMPLES, examples)
    write_json(work_dir / SPEC, {**spec, "processes": processes, "examples": EXAMPLES})
    command = _command(processes, launcher, accelerate_config, work_dir / SPEC)
    log_path = work_dir.with_name(work_dir.name.removesuffix(".tmp") + ".train.log")
    log.info("Train as %d process(es) (%s); ranks log to %s", processes, command[2], log_path)
    with open(log_path, "w") as ranks_log:
        ranks = subprocess.run(command, check=False, env=_environment(processes), stdout=ranks_log,
                               stderr=subprocess.STDOUT)
    code = ranks.returncode
    done = work_dir / DONE
    if code != 0 or not done.exists():
        raise RuntimeError(f"Train's process group failed (exit code {code}, completion marker "
                           f"{'present' if done.exists() else 'missing'}); see {log_path}: {_tail(log_path)}")
    marker = read_json(done)
    for leftover in (done, work_dir / SPEC, work_dir / EXAMPLES):
        leftover.unlink()
    return marker


def _command(processes: int, launcher: str, accelerate_config: str | None, spec: Path) -> list[str]:
    entry = ["-m", "rest.train_job", str(spec)]
    if launcher == "accelerate":
        config_file = accelerate_config_file(str(accelerate_config))
        return [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(config_file),
                "--num_processes", str(processes), "--main_process_port", str(free_port()), *entry]
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(processes),
            *entry]


def _environment(processes: int) -> dict[str, str]:
    env = dict(os.environ)
    if Machine.here().gpus == 0:
        env["ACCELERATE_USE_CPU"] = "true"  # else each rank, finding no accelerator, trains alone
        # torchrun's default is 1 thread per rank; on CPU each rank gets its share of the cores instead.
        env.setdefault("OMP_NUM_THREADS", str(max(1, len(os.sched_getaffinity(0)) // processes)))
    return env


def free_port() -> int:
    """A TCP port nothing listens on now (the OS picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path) -> str:
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1][:300] if lines else "(empty)"
