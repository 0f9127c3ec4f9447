"""Verdicts for a program on stdin -> stdout tests (APPS, Codeforces style), and the `Outcome` every judge returns.

The expected outputs never enter the program's process: it runs on each input in the sandbox, and this process
compares what it printed. Comparison rule: line ends are normalised (\\r\\n -> \\n), trailing whitespace on each
line and trailing empty lines are ignored; everything else must match exactly.
A program that does not compile is judged here without running it (`compile` executes nothing).
"""

from __future__ import annotations

import logging
import signal
from dataclasses import dataclass

from rest.code.sandbox import Limits, Run, run_python

log = logging.getLogger(__name__)
VERDICTS = ("pass", "wrong_answer", "runtime_error", "timeout", "memory", "syntax_error", "no_code")
CPU_KILLS = (-signal.SIGXCPU, -signal.SIGKILL)  # RLIMIT_CPU: SIGXCPU at the soft limit, SIGKILL at the hard one


@dataclass(frozen=True)
class Outcome:
    """A program judged on its tests: `verdict` is the first failing test's (or "pass"; None: the sandbox itself
    failed, cannot judge), `passed` of `total` tests passed (all tests are counted only when judged with `every`)."""

    verdict: str | None
    passed: int
    total: int


def stdio_outcome(code: str | None, inputs: list[str], outputs: list[str], limits: Limits,
                  every: bool = False) -> Outcome:
    """`code` run once per pair; `every`: all pairs are run to count passes, except that after a timeout the
    remaining pairs count as timed out unrun (bounded time); otherwise it stops at the first failure."""
    total = len(inputs)
    static = static_verdict(code)
    if static:
        return Outcome(static, 0, total)
    verdicts = []
    for given, expected in zip(inputs, outputs, strict=True):
        try:
            run = run_python(code, given.encode(), limits)
        except OSError as err:
            log.warning("the sandbox could not run a program (%s): not judged", err)
            return Outcome(None, 0, total)
        verdicts.append(run_verdict(run) or ("pass" if same_output(run.stdout.decode(errors="replace"), expected)
                                             else "wrong_answer"))
        if verdicts[-1] != "pass" and (not every or verdicts[-1] == "timeout"):
            break
    verdicts += [verdicts[-1]] * (total - len(verdicts))  # unrun pairs share the failure that stopped the run
    return Outcome(first_failure(verdicts), verdicts.count("pass"), total)


def static_verdict(code: str | None) -> str | None:
    """The verdict of a program that need not run ("no_code", "syntax_error": `compile` executes nothing), else None."""
    if code is None or not code.strip():
        return "no_code"
    try:
        compile(code, "main.py", "exec")
    except (SyntaxError, ValueError):
        return "syntax_error"
    return None


def first_failure(verdicts: list[str]) -> str:
    return next((v for v in verdicts if v != "pass"), "pass")


def run_verdict(run: Run) -> str | None:
    """The verdict a run earned by how it ended (None: it exited cleanly; its output decides)."""
    if run.timed_out or run.exit_code in CPU_KILLS:
        return "timeout"
    if b"MemoryError" in run.stderr:
        return "memory"
    if run.output_capped or run.exit_code != 0:
        return "runtime_error"
    return None


def same_output(printed: str, expected: str) -> bool:
    """The comparison rule of the module docstring.

    >>> same_output("1 2 \\r\\n3\\n\\n", "1 2\\n3"), same_output("1 2", "1  2")
    (True, False)
    """
    return _lines(printed) == _lines(expected)


def _lines(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines
