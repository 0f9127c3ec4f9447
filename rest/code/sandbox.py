"""Run an untrusted Python program once, contained: the code verifier's only way to execute model code.

Each run gets
- an isolated interpreter (`python -I -S`: no environment variables, no user or site packages, so the program
  sees the standard library only, and starts in a third of the time) in a fresh temporary working directory,
  removed afterwards;
- a scrubbed environment (no tokens, keys or proxies: only PATH, HOME, TMPDIR and a locale);
- its own session and, where the OS allows (root, or unprivileged user namespaces), its own network namespace
  (no network at all) and PID namespace (every process it starts dies with it: a fork bomb or a daemonised child
  cannot outlive the run); as root it runs as `nobody`, so it can write only its own directory;
- resource limits: CPU seconds, address space, file size, open files, processes;
- a wall-clock limit, after which the whole process tree is killed, and stdout / stderr capped (the run is
  killed once either passes the cap).
Where namespaces are not available the run still gets the limits, and the first run says so in the log once.
"""

from __future__ import annotations

import functools
import logging
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

log = logging.getLogger(__name__)
NOBODY = 65534
PYTHON = [sys.executable, "-I", "-S", "main.py"]
# A run that failed after using this fraction of its CPU limit was stopped by it: under load, wait4 was seen to
# report up to 8% less CPU than the kernel's RLIMIT_CPU counted, and unshare reports its child's kill as exit 1.
CPU_SLACK = 0.1


@dataclass(frozen=True)
class Limits:
    """What one run may use; `output_bytes` caps stdout and stderr each."""

    cpu_seconds: int
    wall_seconds: float
    memory_mb: int
    file_mb: int
    open_files: int
    processes: int
    output_bytes: int


@dataclass(frozen=True)
class Run:
    """How a run ended: `exit_code` (negative: killed by that signal; None: killed by the wall clock or the output
    cap), what it printed (capped), and why it was stopped, if it was."""

    exit_code: int | None
    stdout: bytes
    stderr: bytes
    timed_out: bool
    output_capped: bool
    seconds: float


def run_python(source: str, stdin: bytes, limits: Limits) -> Run:
    """Run `source` as a program reading `stdin`, contained as the module docstring says."""
    work = tempfile.mkdtemp(prefix="rest-sandbox-")
    try:
        with open(os.path.join(work, "main.py"), "w") as f:
            f.write(source)
        if os.geteuid() == 0:
            os.chown(work, NOBODY, NOBODY)
        env = {"PATH": "/usr/bin:/bin", "HOME": work, "TMPDIR": work, "LANG": "C.UTF-8", "PYTHONHASHSEED": "0"}
        process = subprocess.Popen(
            [*_limits(limits), *isolation(), *PYTHON], cwd=work, env=env, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        return _supervise(process, stdin, limits)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _supervise(process: subprocess.Popen, stdin: bytes, limits: Limits) -> Run:
    """Feed stdin and collect capped output, interleaved in one loop under the wall clock (a program may fill its
    stdout before it reads all its input, or never read it); kill the tree at the wall-clock limit or the output cap."""
    start = time.monotonic()
    deadline = start + limits.wall_seconds
    outputs = {process.stdout: bytearray(), process.stderr: bytearray()}
    capped = timed_out = False
    with selectors.DefaultSelector() as selector:
        for stream in outputs:
            selector.register(stream, selectors.EVENT_READ)
        _start_feed(selector, process.stdin, stdin)
        while selector.get_map() and not (capped or timed_out):
            for key, _ in selector.select(timeout=max(0.0, deadline - time.monotonic())):
                if key.fileobj is process.stdin:
                    _feed(selector, key)
                    continue
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    selector.unregister(key.fileobj)
                outputs[key.fileobj] += chunk
                capped = capped or len(outputs[key.fileobj]) > limits.output_bytes
            timed_out = time.monotonic() >= deadline
    _close(process.stdin)
    if capped or timed_out:
        _kill_tree(process)
    exit_code, cpu_seconds, late = _reap(process, deadline)
    for stream in outputs:
        stream.close()
    timed_out = timed_out or late or (exit_code != 0 and cpu_seconds >= (1 - CPU_SLACK) * limits.cpu_seconds)
    return Run(exit_code=None if capped or timed_out else exit_code,
               stdout=bytes(outputs[process.stdout][: limits.output_bytes]),
               stderr=bytes(outputs[process.stderr][: limits.output_bytes]),
               timed_out=timed_out, output_capped=capped, seconds=time.monotonic() - start)


def _reap(process: subprocess.Popen, deadline: float) -> tuple[int, float, bool]:
    """(exit code, CPU seconds the whole tree used, whether it was killed at the deadline). The CPU time comes from
    wait4's resource usage: a run killed by its CPU limit is told apart from one that failed."""
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            process.returncode = os.waitstatus_to_exitcode(status)
            return process.returncode, usage.ru_utime + usage.ru_stime, False
        if time.monotonic() >= deadline:
            _kill_tree(process)
            _, status, usage = os.wait4(process.pid, 0)
            process.returncode = os.waitstatus_to_exitcode(status)
            return process.returncode, usage.ru_utime + usage.ru_stime, True
        time.sleep(0.005)


def _start_feed(selector: selectors.BaseSelector, stream, data: bytes) -> None:
    """Register the program's stdin, non-blocking, to be written as the pipe drains (nothing to write: closed)."""
    if not data:
        _close(stream)
        return
    os.set_blocking(stream.fileno(), False)
    selector.register(stream, selectors.EVENT_WRITE, data=[memoryview(data)])


def _feed(selector: selectors.BaseSelector, key: selectors.SelectorKey) -> None:
    """Write what the pipe takes of the rest of stdin; close it when all is written or the program stopped reading
    (a program that exits without reading all of it is not an error)."""
    pending = key.data
    try:
        pending[0] = pending[0][os.write(key.fd, pending[0][:65536]):]
        if pending[0]:
            return
    except BlockingIOError:
        return
    except OSError:
        pass
    selector.unregister(key.fileobj)
    _close(key.fileobj)


def _close(stream) -> None:
    try:
        stream.close()
    except OSError:
        pass


def _kill_tree(process: subprocess.Popen) -> None:
    """SIGKILL the run's PID namespace and its process group. In a namespace, its init (unshare's child) is killed
    by pid, found before unshare dies: the kernel then kills every process in it, one that left the group with
    setsid too. Without namespaces the process group is all that can be reached."""
    inits = _children(process.pid) if isolation() else []
    for pid in inits:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _children(pid: int) -> list[int]:
    """The children of `pid` (the kernel's /proc/PID/task/TID/children; empty where it is not available)."""
    children = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                children += [int(child) for child in f.read().split()]
    except OSError:
        pass
    return children


def _limits(limits: Limits) -> list[str]:
    """util-linux `prlimit` as the command prefix: the resource limits, inherited by everything the run starts."""
    megabyte = 1024 * 1024
    return ["prlimit", f"--cpu={limits.cpu_seconds}", f"--as={limits.memory_mb * megabyte}",
            f"--fsize={limits.file_mb * megabyte}", f"--nofile={limits.open_files}", f"--nproc={limits.processes}",
            "--core=0", "--"]


@functools.cache
def isolation() -> tuple[str, ...]:
    """The command prefix that gives a run its own network and PID namespaces (and, as root, the `nobody` user);
    empty where this OS does not allow it (logged once). As root, setpriv's uid change clears the parent-death
    signal unshare's --kill-child set, so setpriv sets it again where it can (util-linux >= 2.33)."""
    tail = ("--net", "--pid", "--fork", "--kill-child")
    nobody = ("setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups")
    candidates = ([("unshare", *tail, *nobody, "--pdeathsig=KILL", "--"), ("unshare", *tail, *nobody, "--")]
                  if os.geteuid() == 0 else [("unshare", "--user", "--map-root-user", *tail, "--")])
    for prefix in candidates:
        if shutil.which(prefix[0]) and _works(prefix):
            return prefix
    log.warning("code runs without network or PID namespaces here (unshare is missing or not permitted): "
                "the resource limits and the wall-clock kill still apply, but a program may use the network")
    return ()


def _works(prefix: tuple[str, ...]) -> bool:
    try:
        return subprocess.run([*prefix, sys.executable, "-I", "-c", "pass"], capture_output=True,
                              timeout=30, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False
