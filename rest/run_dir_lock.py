"""One run at a time in a run directory.

A second process that opened a directory in use (the same command started twice with one `hydra.run.dir`, a
Slurm array task submitted again while the first still runs) would delete the first run's half-written files as
leftovers of an interrupted run and write over its artifacts. The run holds an flock on `<run dir>/.lock` instead,
and a second one stops in one line naming the holder. The kernel drops the lock when the process ends, however it
ends, so a killed run's directory is free at once for the rerun that resumes it. Where the file system has no
flock (Lustre without its `flock` mount option) the run goes on unlocked, with a warning.
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path

from rest.errors import UserError

log = logging.getLogger(__name__)
LOCK_FILE = ".lock"


def hold(run_dir: Path) -> Callable[[], None]:
    """Lock `run_dir` for this process; returns what releases it. A directory another run holds is a UserError."""
    run_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(run_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 200).decode(errors="replace").strip() or "a process that has not said which"
        os.close(fd)
        raise UserError(f"{run_dir} is in use by another run ({holder}); wait for it to end, or give this one "
                        "another hydra.run.dir") from None
    except OSError as err:
        os.close(fd)
        log.warning("cannot lock %s (%s): two runs started in it at once would write over each other", run_dir, err)
        return lambda: None
    os.ftruncate(fd, 0)
    os.write(fd, f"pid {os.getpid()} on {socket.gethostname()}, since {time.strftime('%Y-%m-%d %H:%M:%S')}".encode())
    return lambda: os.close(fd)  # closing the file drops the lock
