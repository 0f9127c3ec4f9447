"""A child process that ends with the process that started it.

When the loop is killed outright (SIGKILL: `kill -9`, the OOM killer, a scheduler past its grace period) nothing of
it runs to stop the Train process group it started: torchrun and its ranks are not in its way out, and would go on
holding the GPUs and writing into the checkpoint directory that the rerun trains into. Linux can do it instead: a
process that asks (prctl PR_SET_PDEATHSIG) gets a signal from the kernel when its parent ends. The launcher is
started through this module, which asks for SIGTERM (torchrun and accelerate end their ranks on it), checks that its
parent is still the process that started it, and becomes the launcher (exec keeps the request); each rank asks too
(rest/train_job.py), so a launcher that is itself killed outright does not leave its ranks behind.

    python -m rest.lifeline PARENT_PID COMMAND [ARG ...]

Elsewhere than Linux the command runs as it is.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def command(launcher: list[str]) -> list[str]:
    """`launcher`, started so that it ends when this process does."""
    return [sys.executable, "-m", "rest.lifeline", str(os.getpid()), *launcher]


def die_with_parent(parent: int | None = None, signum: int = signal.SIGTERM) -> None:
    """Have the kernel send `signum` to this process when its parent ends; at once when the parent has ended
    already (it is no longer `parent`, or, without one, this process was handed to init)."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    ended = os.getppid() == 1 if parent is None else os.getppid() != parent
    if ended:
        os.kill(os.getpid(), signum)


def main(argv: list[str]) -> None:
    parent, launcher = int(argv[0]), argv[1:]
    die_with_parent(parent)
    os.execvp(launcher[0], launcher)


if __name__ == "__main__":
    main(sys.argv[1:])
