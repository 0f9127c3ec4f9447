"""Programs judged on assert tests (rest/code/asserts.py): all tests in one sandboxed run, expected values kept in
this process; hostile programs do not pass, one that runs forever is stopped at its limit; correct programs pass."""

import textwrap
import time

import pytest
from conftest import BUSY_MACHINE_SLACK, SANDBOX_CLOCK_LIMITS, SANDBOX_LIMITS

import rest.code.judge
from rest.code.asserts import HARNESS, harness_input, judge_asserts, split_test
from rest.code.judge import Outcome, stdio_outcome
from rest.code.sandbox import Limits, run_python
from rest.code.tests import CodeTests

SQUARE = CodeTests.parse(["assert square(3) == 9", "assert square(-4) == 16", "assert not square(0)"],
                         entry_point="square")
SECRET = "expected-7f3a9c"


def judge(code: str, tests: CodeTests = SQUARE, every: bool = False, limits: Limits = SANDBOX_LIMITS) -> Outcome:
    return judge_asserts(textwrap.dedent(code), tests, limits, every=every)


ALWAYS_EQUAL = """
class Anything:
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __bool__(self): return False
def square(x): return Anything()
"""
FORGED_REPORTS = """
import json, os
lines = "".join(json.dumps({"nonce": "x", "i": i, "value": v}) + "\\n" for i, v in enumerate(["9", "16", "False"]))
for fd in range(1, 20):
    try:
        os.write(fd, lines.encode())
    except OSError:
        pass
def square(x): return x + 1
"""
PATCHED_HARNESS = """
import builtins, __main__
answers = iter(["9", "16", "False"])
builtins.bool = lambda value: False
builtins.repr = lambda value: next(answers)
builtins.AssertionError = type("Nothing", (Exception,), {})
for name in dir(__main__):
    if not name.startswith("__"):
        setattr(__main__, name, lambda *a, **k: "9")
def square(x): return 1
"""


@pytest.mark.parametrize(("name", "code", "verdict"), [
    ("exit(0) before the tests", "import sys; sys.exit(0)", "runtime_error"),
    ("os._exit(0) before the tests", "import os; os._exit(0)", "runtime_error"),
    ("os._exit(0) inside the function", "import os\ndef square(x): os._exit(0)", "runtime_error"),
    ("printing PASSED", "print('PASSED')\ndef square(x): return 0", "wrong_answer"),
    ("printing the expected value's format", "def square(x):\n    print(9, 16, True)\n    return -1", "wrong_answer"),
    ("an object equal to everything", ALWAYS_EQUAL, "wrong_answer"),
    ("forged reports on every file descriptor", FORGED_REPORTS, "wrong_answer"),
    ("monkeypatched builtins and harness", PATCHED_HARNESS, "wrong_answer"),
    ("unbounded recursion", "def square(x): return square(x)", "runtime_error"),
    ("a 10 GB allocation", "def square(x): return len(bytearray(10 * 1024**3))", "memory"),
    ("reading stdin", "import sys\ndef square(x): return int(sys.stdin.read())", "runtime_error"),
    ("no such function", "def cube(x): return x ** 3", "runtime_error"),
    ("a syntax error", "def square(x):\n  return x *", "syntax_error"),
    ("no code", "  \n", "no_code"),
])
def test_a_hostile_or_broken_program_does_not_pass(name, code, verdict):
    outcome = judge(code)
    assert outcome.verdict == verdict, name
    assert outcome.passed < outcome.total


@pytest.mark.parametrize(("name", "code"), [
    ("an infinite loop", "def square(x):\n    while True: pass"),
    ("sleeping forever", "import time\ndef square(x): time.sleep(100)"),
])
def test_a_program_that_runs_forever_is_stopped_at_its_limit_and_times_out(name, code):
    start = time.monotonic()
    outcome = judge(code, limits=SANDBOX_CLOCK_LIMITS)
    assert outcome == Outcome("timeout", 0, 3), name
    assert time.monotonic() - start < SANDBOX_CLOCK_LIMITS.wall_seconds + BUSY_MACHINE_SLACK


SCAN = """
import gc, os, sys
def find():
    secret = "".join(["expected-", "7f3a9c"])  # built here (not folded): the literal would be in this very code
    seen = [os.read(0, 1 << 20).decode(errors="replace"), str(dict(os.environ))]
    seen += [open(name, errors="replace").read() for name in os.listdir(".") if os.path.isfile(name)]
    frame = sys._getframe().f_back  # every caller's variables (this frame's hold the secret just built)
    while frame is not None:
        seen.append(repr(frame.f_locals)[:100000])
        frame = frame.f_back
    for thing in gc.get_objects():
        try:
            seen.append(repr(thing)[:2000])
        except Exception:
            pass
    return secret if any(secret in text for text in seen) else "not found"
"""


def test_the_expected_value_never_reaches_the_program():
    tests = CodeTests.parse([f"assert find() == {SECRET!r}"], entry_point="find")
    job = harness_input(SCAN, tests.setup, [split_test(test) for test in tests.asserts], "nonce", stop=True)
    assert SECRET.encode() not in job and SECRET not in HARNESS
    assert judge(SCAN, tests).verdict == "wrong_answer"
    # the scan does find it where it is (a setup is code the program's process runs): this test can fail
    leaky = CodeTests.parse([f"assert find() == {SECRET!r}"], entry_point="find", setup=f"HINT = {SECRET!r}")
    assert judge(SCAN, leaky).verdict == "pass"


@pytest.mark.parametrize(("name", "code", "tests"), [
    ("a plain function", "def square(x):\n    return x * x", SQUARE),
    ("the standard library, in a fence-free program that guards its own main",
     ("import math, functools\n@functools.cache\ndef square(x):\n    return math.prod([x, x])\n"
      "if __name__ == '__main__':\n    raise SystemExit(1)"), SQUARE),
    ("a setup the tests use", "def mean(xs):\n    return sum(xs) / len(xs)",
     CodeTests.parse(["assert math.isclose(mean(DATA), 2.0)", "assert mean([0.1, 0.2]) == 0.15000000000000002"],
                     entry_point="mean", setup="import math\nDATA = [1, 2, 3]")),
    ("HumanEval's check(candidate)", "def add(a, b):\n    return a + b",
     CodeTests.parse(["check(add)"], entry_point="add",
                     setup="def check(candidate):\n    assert candidate(2, 3) == 5\n    assert candidate(-1, 1) == 0")),
    ("literals of every kind",
     ("import collections\ndef kinds():\n"
      "    return [-1, 0.25, (1, 'a'), {'k': [None]}, {3}, True, collections.Counter('aab')]"),
     CodeTests.parse(["assert kinds() == [-1, 0.25, (1, 'a'), {'k': [None]}, {3}, True, {'a': 2, 'b': 1}]",
                      "assert kinds()[0] is not None", "assert kinds()[1] * 1e400 == 1e400",
                      "assert None is kinds()[3]['k'][0]"])),
    ("its own module name is solution", "def name():\n    return __name__",
     CodeTests.parse(["assert name() == 'solution'"])),
])
def test_a_correct_program_passes(name, code, tests):
    assert judge(code, tests) == Outcome("pass", len(tests), len(tests)), name


def test_floats_compare_with_a_relative_tolerance_and_containers_by_type():
    tests = CodeTests.parse(["assert f() == 0.3", "assert g() == (1, 2)"])
    assert judge("def f(): return 0.1 + 0.2\ndef g(): return (1, 2.0)", tests).verdict == "pass"
    assert judge("def f(): return 0.3001\ndef g(): return (1, 2)", tests, every=True) == Outcome("wrong_answer", 1, 2)
    assert judge("def f(): return 0.3\ndef g(): return [1, 2]", tests, every=True) == Outcome("wrong_answer", 1, 2)


def test_every_counts_all_passes_and_the_first_failure_decides_the_verdict():
    tests = CodeTests.parse(["assert f(1) == 1", "assert f(2) == 4", "assert f(3) == 9", "assert f(4) == 16"])
    code = "def f(x):\n    if x == 2:\n        raise KeyError(x)\n    return x * x if x != 3 else 0"
    assert judge(code, tests, every=True) == Outcome("runtime_error", 2, 4)
    assert judge(code, tests, every=False) == Outcome("runtime_error", 1, 4)  # stopped at the exception


def test_a_test_that_runs_out_of_time_fails_it_and_the_rest_with_timeout():
    tests = CodeTests.parse(["assert f(1) == 1", "assert f(0) == 0", "assert f(2) == 4"])
    start = time.monotonic()
    outcome = judge("def f(x):\n    while not x: pass\n    return x * x", tests, every=True, limits=SANDBOX_CLOCK_LIMITS)
    assert outcome == Outcome("timeout", 1, 3)
    assert time.monotonic() - start < SANDBOX_CLOCK_LIMITS.wall_seconds + BUSY_MACHINE_SLACK


def test_an_assertion_in_a_whole_statement_is_a_wrong_answer_and_other_errors_runtime_errors():
    tests = CodeTests.parse(["check(f)"], setup="def check(candidate):\n    assert candidate(2) == 4")
    assert judge("def f(x): return x + 3", tests).verdict == "wrong_answer"
    assert judge("def f(x): return x / 0", tests).verdict == "runtime_error"


def test_tests_are_split_so_that_expected_literals_stay_in_this_process():
    assert [(c.kind, c.source, c.expected) for c in map(split_test, [
        "assert f(1) == (1, -2.5)", "assert {'a': None} == g()", "assert h() is None", "assert p(3)",
        "assert not p(4)", "assert f(1) == g(2)", "check(candidate)", "x = f(1)\nassert x == 2"])] == [
        ("value", "f(1)", (1, -2.5)), ("value", "g()", {"a": None}), ("value", "h()", None), ("truth", "p(3)", True),
        ("truth", "p(4)", False), ("truth", "f(1) == g(2)", True), ("statement", "check(candidate)", None),
        ("statement", "x = f(1)\nassert x == 2", None)]


def test_stdio_outcomes_count_passes_and_stop_after_a_timeout(monkeypatch):
    inputs, outputs = ["1\n", "2\n", "3\n"], ["1", "4", "9"]
    assert stdio_outcome("x = int(input())\nprint(x * x if x != 2 else 5)", inputs, outputs, SANDBOX_LIMITS,
                         every=True) == Outcome("wrong_answer", 2, 3)
    runs = []
    monkeypatch.setattr(rest.code.judge, "run_python", lambda *args: runs.append(args) or run_python(*args))
    looping = "x = int(input())\nwhile x == 2: pass\nprint(x * x)"
    outcome = stdio_outcome(looping, inputs, outputs, SANDBOX_CLOCK_LIMITS, every=True)
    assert outcome == Outcome("timeout", 1, 3) and len(runs) == 2  # the input after the timeout is not run
