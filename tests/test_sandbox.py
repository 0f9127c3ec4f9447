"""Untrusted programs run contained (rest/code/sandbox.py) and are judged on stdin -> stdout tests
(rest/code/judge.py): each hostile program is judged not passing, one that runs forever is stopped at its limit,
none touches anything outside its temporary directory or harms this process; correct programs pass."""

import dataclasses
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import uuid

import pytest
from conftest import BUSY_MACHINE_SLACK, SANDBOX_CLOCK_LIMITS, SANDBOX_LIMITS

from rest.code.judge import stdio_outcome
from rest.code.sandbox import Limits, isolation, run_python

DOUBLE = (["3\n", "21\n"], ["6", "42"])  # read a number, print twice it


def judge(code: str, tests=DOUBLE, limits: Limits = SANDBOX_LIMITS) -> str | None:
    return stdio_outcome(textwrap.dedent(code), *tests, limits).verdict


requires_namespaces = pytest.mark.skipif(not isolation(), reason="this OS gives no network or PID namespaces")


@pytest.mark.parametrize(("name", "code"), [
    ("infinite loop", "while True: pass"),
    ("sleeping forever", "import time; time.sleep(100)"),
])
def test_a_program_that_runs_forever_is_stopped_at_its_limit_and_times_out(name, code):
    start = time.monotonic()
    assert judge(code, limits=SANDBOX_CLOCK_LIMITS) == "timeout", name
    assert time.monotonic() - start < SANDBOX_CLOCK_LIMITS.wall_seconds + BUSY_MACHINE_SLACK  # one run: judged at once


@pytest.mark.parametrize(("name", "code", "verdict"), [
    ("10 GB allocation", "x = bytearray(10 * 1024**3)", "memory"),
    ("unbounded recursion", "def f(n): return f(n + 1)\nf(0)", "runtime_error"),
    ("segmentation fault through ctypes", "import ctypes; ctypes.string_at(0)", "runtime_error"),
    ("a gigabyte of output", "while True: print('x' * 10**6)", "runtime_error"),
    ("exit(0) before any work", "import sys; sys.exit(0)", "wrong_answer"),
    ("os._exit(0) before any work", "import os; os._exit(0)", "wrong_answer"),
    ("printing PASSED", "print('PASSED')", "wrong_answer"),
    ("printing the output's format without computing it", "print(0)", "wrong_answer"),
    ("monkeypatching builtins", "import builtins\nbuiltins.print = lambda *a, **k: None\nprint(6)", "wrong_answer"),
    ("a syntax error", "def f(:\n  pass", "syntax_error"),
    ("no code", "   \n", "no_code"),
])
def test_a_hostile_or_broken_program_does_not_pass(name, code, verdict):
    assert judge(code) == verdict, name


@requires_namespaces
def test_a_fork_bomb_is_stopped_and_leaves_no_process_behind():
    marker = f"bomb{uuid.uuid4().hex[:11]}"  # its processes' name, inherited by every fork (15 characters at most)
    bomb = f"""
    import ctypes, os
    ctypes.CDLL(None).prctl(15, {marker.encode()!r})  # PR_SET_NAME
    while True:
        try:
            os.fork()
        except OSError:
            pass
    """
    start = time.monotonic()
    run = run_python(textwrap.dedent(bomb), b"", SANDBOX_CLOCK_LIMITS)
    assert run.timed_out and time.monotonic() - start < SANDBOX_CLOCK_LIMITS.wall_seconds + BUSY_MACHINE_SLACK
    gone = time.monotonic() + 5  # killed at once; the zombies are reaped by this machine's init soon after
    while _with_marker(marker) and time.monotonic() < gone:
        time.sleep(0.1)
    assert not _with_marker(marker)


@requires_namespaces
def test_files_outside_the_working_directory_are_neither_written_nor_deleted(tmp_path):
    os.chmod(tmp_path, 0o755)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    code = f"""
    import os
    for action in (lambda: open({str(tmp_path / "new.txt")!r}, "w").write("x"), lambda: os.remove({str(victim)!r})):
        try:
            action()
        except OSError as err:
            print(type(err).__name__)
    """
    run = run_python(textwrap.dedent(code), b"", SANDBOX_LIMITS)
    assert run.stdout.split() == [b"PermissionError", b"PermissionError"]
    assert victim.read_text() == "keep me" and not (tmp_path / "new.txt").exists()


def test_the_parents_secrets_are_not_in_the_programs_environment(monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_secret_value_123")
    code = f"""
    import os
    print(sorted(os.environ.items()))
    try:
        print(open("/proc/{os.getpid()}/environ", "rb").read())
    except OSError as err:
        print(type(err).__name__)
    """
    run = run_python(textwrap.dedent(code), b"", SANDBOX_LIMITS)
    assert run.exit_code == 0 and b"hf_secret_value_123" not in run.stdout


@requires_namespaces
def test_a_program_cannot_reach_a_listener_on_this_machine():
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    code = f"""
    import socket
    try:
        socket.create_connection(("127.0.0.1", {port}), timeout=1).sendall(b"stolen")
        print("connected")
    except OSError as err:
        print(type(err).__name__)
    """
    run = run_python(textwrap.dedent(code), b"", SANDBOX_LIMITS)
    listener.settimeout(0.5)  # a connection made during the run waits in the backlog, accepted or not
    with pytest.raises(TimeoutError), listener:
        listener.accept()
    assert run.exit_code == 0 and b"connected" not in run.stdout


def test_the_expected_outputs_never_reach_the_program():
    secret = "expected-7f3a9c"
    code = """
    import os, sys
    seen = sys.stdin.read() + str(dict(os.environ)) + "".join(open(f).read() for f in os.listdir("."))
    print("expected-" + "7f3a9c" in seen)  # built here: the literal would be in this very file
    """
    run = run_python(textwrap.dedent(code), b"3\n", SANDBOX_LIMITS)
    assert run.stdout.strip() == b"False"
    assert judge("print(input())", (["3\n"], [secret])) == "wrong_answer"


@pytest.mark.parametrize(("name", "code"), [
    ("reads a line", "print(int(input()) * 2)"),
    ("imports the standard library and reads all of stdin",
     "import sys, math, collections\nn = int(sys.stdin.read().split()[0])\nprint(math.prod([n, 2]))"),
    ("prints trailing spaces and a blank line", "print(str(int(input()) * 2) + '   ')\nprint()"),
    ("prints with Windows line ends", "import sys\nsys.stdout.write(str(int(input()) * 2) + '\\r\\n')"),
])
def test_a_correct_program_passes(name, code):
    assert judge(code) == "pass", name


def test_the_test_process_is_unharmed_by_what_programs_did():
    for code in ("import os; os.kill(os.getppid(), 9)", "import os, signal; os.killpg(0, signal.SIGKILL)"):
        judge(code)
    assert judge("print(int(input()) * 2)") == "pass"


def _bounded(code: str, lines: int, limits: Limits) -> str:
    """run_python in a child process killed if it hangs (a hang fails the test instead of the suite): the line it
    prints is (timed_out, exit_code, whether stdout echoed stdin, whether it ended within the slack of its limit)."""
    script = f"""
    from rest.code.sandbox import Limits, run_python
    LIMITS = {dataclasses.replace(limits, output_bytes=4 << 20)!r}
    given = b"".join(b"%d\\n" % i for i in range({lines}))
    run = run_python({code!r}, given, LIMITS)
    print(run.timed_out, run.exit_code, run.stdout == given, run.seconds < LIMITS.wall_seconds + {BUSY_MACHINE_SLACK})
    """
    try:
        done = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True,
                              timeout=2 * (limits.wall_seconds + BUSY_MACHINE_SLACK),
                              cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    except subprocess.TimeoutExpired:
        return "hung"
    return done.stdout.strip() or done.stderr


@pytest.mark.parametrize(("name", "code", "limits", "expected"), [
    ("a correct echo program on over a megabyte", "import sys\nfor line in sys.stdin:\n    print(line.strip())\n",
     SANDBOX_LIMITS, "False 0 True True"),
    ("a program that never reads stdin", "import time\ntime.sleep(30)\n", SANDBOX_CLOCK_LIMITS, "True None False True"),
])
def test_a_large_stdin_is_fed_under_the_wall_clock(name, code, limits, expected):
    assert _bounded(code, 200_000, limits) == expected, name  # 1.29 MB of stdin


@requires_namespaces
def test_a_program_that_leaves_its_session_does_not_outlive_the_run():
    marker = f"escape{uuid.uuid4().hex[:9]}"  # its process name (15 characters at most)
    code = f"""
    import ctypes, os, time
    libc = ctypes.CDLL(None)
    libc.prctl(1, 0)  # PR_SET_PDEATHSIG: none
    libc.prctl(15, {marker.encode()!r})  # PR_SET_NAME
    os.setsid()
    time.sleep(30)
    """
    try:
        assert run_python(textwrap.dedent(code), b"", SANDBOX_CLOCK_LIMITS).timed_out
        gone = time.monotonic() + 5
        while _with_marker(marker) and time.monotonic() < gone:
            time.sleep(0.1)
        assert not _with_marker(marker)
    finally:
        for pid in _with_marker(marker):
            os.kill(pid, signal.SIGKILL)


def _with_marker(marker: str) -> list[int]:
    found = subprocess.run(["pgrep", "-x", marker], capture_output=True, text=True).stdout.split()
    return [int(pid) for pid in found]
