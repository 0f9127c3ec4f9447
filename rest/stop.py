"""Ctrl-C (SIGINT) and SIGTERM (`kill`, Slurm's `scancel` and time limit) stop a run where it is: the exception
unwinds the run, which closes its engine and workers, and the finished work stays for the rerun.

Python ignores an exception raised inside a garbage-collection or weakref callback ("Exception ignored in ..."):
a signal that lands there (accelerate's `free_memory` runs `gc.collect()` as Train starts) would be lost and the
run would go on. So the handler also records the signal, and the loop calls `raise_if_stopped` between stages.
Python would also print the swallowed exception with its traceback; `install` keeps that one quiet.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

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
    if not isinstance(sys.unraisablehook, _QuietStop):
        sys.unraisablehook = _QuietStop(sys.unraisablehook)


@contextmanager
def sigterm_handler_kept() -> Iterator[None]:
    """Puts back the SIGTERM handler that a library replaces: `ray.init` sets one that calls `sys.exit(15)`, which
    would end the run with status 15 and no word. The run's own handler closes Ray on the way out as well."""
    handler = signal.getsignal(signal.SIGTERM)
    try:
        yield
    finally:
        if threading.current_thread() is threading.main_thread():  # only the main thread may set a handler
            signal.signal(signal.SIGTERM, handler)


def raise_if_stopped() -> None:
    """Raise again a stop signal whose exception was swallowed where it landed."""
    if _received:
        raise _exception(_received[-1])


def _stop(signum: int, frame) -> None:
    _received.append(signum)
    raise _exception(signum)


def _exception(signum: int) -> KeyboardInterrupt:
    return Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


class _QuietStop:
    """An unraisable-exception hook that says nothing of a stop signal swallowed where it landed (it is recorded,
    and the loop raises it again) and hands every other exception to the hook it wraps."""

    def __init__(self, wrapped) -> None:
        self.wrapped = wrapped

    def __call__(self, unraisable) -> None:
        if not (_received and isinstance(unraisable.exc_value, KeyboardInterrupt)):
            self.wrapped(unraisable)
