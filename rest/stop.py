"""Ctrl-C (SIGINT) and SIGTERM (`kill`, Slurm's `scancel` and time limit) stop a run where it is: the exception
unwinds the run, which closes its engine and workers, and the finished work stays for the rerun.

Python ignores an exception raised inside a garbage-collection or weakref callback ("Exception ignored in ..."):
a signal that lands there (accelerate's `free_memory` runs `gc.collect()` as Train starts) would be lost and the
run would go on. So the handler also records the signal, and the loop calls `raise_if_stopped` between stages.
"""

from __future__ import annotations

import signal

_received: list[int] = []  # the signals handled so far


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised as Ctrl-C's KeyboardInterrupt is, so that every path that closes on one closes on both."""


def install() -> None:
    """Handle SIGINT and SIGTERM where they still have Python's default handling; one that is ignored (`nohup`,
    `cmd &` in a script) or handled by a launcher (submitit) stays as it is."""
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _stop)
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _stop)


def raise_if_stopped() -> None:
    """Raise again a stop signal whose exception was swallowed where it landed."""
    if _received:
        raise _exception(_received[-1])


def _stop(signum: int, frame) -> None:
    _received.append(signum)
    raise _exception(signum)


def _exception(signum: int) -> KeyboardInterrupt:
    return Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()
