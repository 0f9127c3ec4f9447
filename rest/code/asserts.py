"""Verdicts for a program on assert tests (MBPP, HumanEval style), all of a problem's tests in one sandboxed run.

Each test is split in this process, so that what it expects stays here:
- `assert <expr> == <literal>` (either side a literal `ast.literal_eval` reads; also `<expr> is None/True/False`):
  only `<expr>` is sent to the program's process, which reports the value as a plain literal (`repr` of ints,
  floats, strings, containers... rebuilt from their builtin types); this process reads it back with
  `ast.literal_eval` and compares (floats with a relative tolerance of 1e-9). Whatever the program does, it can
  only make this process see a literal of its choosing: an object that equals everything is not a literal.
- `assert <expr>` / `assert not <expr>`: the process reports `bool(<expr>)`, expected True / False.
- anything else (HumanEval's `check(candidate)`, several statements) runs whole in the process, which reports
  whether it raised (AssertionError: wrong answer; another exception: runtime error). This is the weaker case:
  the expected values are in the process (in the statement, or in `setup`), and the program, which shares the
  interpreter with the harness, could in principle find and subvert them, as it could a `bool` report.

The harness (HARNESS, the sandbox's main.py; it holds no test data) reads the job from stdin, keeps a private
copy of stdout for its reports and points fd 0 and 1 at /dev/null, then runs the program as module `solution`
(`__name__ != "__main__"`), then `setup`, then each test, reporting one line per test (a dict literal; the job arrives marshalled: json would cost the child 12 ms of imports) that carries a
per-run random nonce (lines without it are ignored). It holds what it needs after the program has run (the
builtins it calls, the nonce, its report channel) in local variables, so that patching builtins or the
`__main__` module, printing, or writing to an inherited file descriptor does not forge a report; a program that
walks the interpreter's frames could (the weaker case above; a value report it can only set to a literal).
Tests without a report (the program exited, crashed or ran out of time) fail with the run's verdict; a program
that exits cleanly before its tests is a runtime error.
"""

from __future__ import annotations

import ast
import functools
import logging
import marshal
import math
import secrets
from dataclasses import dataclass

from rest.code.judge import Outcome, first_failure, run_verdict, static_verdict
from rest.code.sandbox import Limits, Run, run_python
from rest.code.tests import CodeTests

log = logging.getLogger(__name__)
NOT_LITERAL = object()
HARNESS = r'''
import marshal, numbers, os, sys, types


def make_plain(_type, _isinstance, _hasattr):
    exact = (int, float, complex, str, bytes, bool, _type(None))
    containers = (list, tuple, set, frozenset)
    bases = (bool, int, float, complex, str, bytes, list, tuple, set, frozenset, dict)
    _dict, _int, _float, integral, real = dict, int, float, numbers.Integral, numbers.Real

    def plain(value):
        kind = _type(value)
        if kind in exact:
            return value
        if kind in containers:
            return kind(plain(item) for item in value)
        if kind is _dict:
            return {plain(k): plain(v) for k, v in value.items()}
        for base in bases:
            if _isinstance(value, base):
                return plain(base(value))
        if _isinstance(value, integral):
            return _int(value)
        if _isinstance(value, real):
            return _float(value)
        return plain(value.tolist()) if _hasattr(value, "tolist") else value
    return plain


def make_report(channel, nonce, dumps):
    def report(index, **fields):
        channel.write(dumps({"nonce": nonce, "i": index, **fields}) + "\n")
        channel.flush()
    return report


def harness():
    _bool, _repr, _type, _exec, _eval, _compile, _enumerate, _BaseException = (
        bool, repr, type, exec, eval, compile, enumerate, BaseException)
    job = marshal.loads(sys.stdin.buffer.read())
    report = make_report(os.fdopen(os.dup(1), "w"), job.pop("nonce"), repr)
    plain = make_plain(type, isinstance, hasattr)
    for fd, mode in ((0, os.O_RDONLY), (1, os.O_WRONLY)):
        null = os.open(os.devnull, mode)
        os.dup2(null, fd)
        os.close(null)
    module = sys.modules["solution"] = types.ModuleType("solution")
    try:
        _exec(_compile(job["program"], "solution.py", "exec"), module.__dict__)
        _exec(_compile(job["setup"], "setup.py", "exec"), module.__dict__)
        broken = None
    except _BaseException as err:
        broken = _type(err).__name__
    for index, (kind, source) in _enumerate(job["tests"]):
        if broken:
            report(index, raised=broken)
            continue
        try:
            if kind == "statement":
                _exec(_compile(source, "test.py", "exec"), module.__dict__)
                report(index, value="None")
            else:
                value = _eval(_compile(source, "test.py", "eval"), module.__dict__)
                report(index, value=_repr(_bool(value) if kind == "truth" else plain(value)))
        except _BaseException as err:
            report(index, raised=_type(err).__name__)
            if job["stop"]:
                break


harness()
'''


@dataclass(frozen=True)
class Check:
    """One test as split here: `source` goes to the program's process; `expected` never does."""

    kind: str  # "value" (compare the reported literal), "truth" (bool of an expression), "statement" (runs whole)
    source: str
    expected: object = None
    identity: bool = False  # `is None / True / False` rather than ==

    def verdict(self, report: dict) -> str:
        """The test's verdict from its report ({"value": text} or {"raised": exception type name})."""
        raised = report.get("raised")
        if raised is not None:
            if raised == "MemoryError":
                return "memory"
            return "wrong_answer" if raised == "AssertionError" and self.kind == "statement" else "runtime_error"
        if self.kind == "statement":
            return "pass"
        got = read_literal(report.get("value"))
        if got is NOT_LITERAL:
            return "wrong_answer"
        return "pass" if (got is self.expected if self.identity else same_value(got, self.expected)) else "wrong_answer"


def judge_asserts(code: str | None, tests: CodeTests, limits: Limits, every: bool = False) -> Outcome:
    """`code` on `tests.asserts` (after `tests.setup`) in one sandboxed run. `every=False`: the harness stops at
    the first test that raises and the verdict is the first failing test's; `every=True`: every test runs, to
    count passes. None verdict: the sandbox itself failed (cannot judge)."""
    total = len(tests.asserts)
    static = static_verdict(code)
    if static:
        return Outcome(static, 0, total)
    checks = [split_test(test) for test in tests.asserts]
    nonce = secrets.token_hex(16)
    try:
        run = run_python(HARNESS, harness_input(code, tests.setup, checks, nonce, stop=not every), limits)
    except OSError as err:
        log.warning("the sandbox could not run a program (%s): not judged", err)
        return Outcome(None, 0, total)
    reports = read_reports(run.stdout, nonce, total)
    verdicts = [check.verdict(report) for check, report in zip(checks, reports)]
    verdicts += [unreported_verdict(run)] * (total - len(reports))
    return Outcome(first_failure(verdicts), verdicts.count("pass"), total)


@functools.lru_cache(maxsize=65536)  # a problem's tests are split once, not once per program
def split_test(source: str) -> Check:
    """How the test is run: its expected literal, if it has one, is kept out of what the program's process gets.

    >>> split_test("assert add(2, -3) == -1")
    Check(kind='value', source='add(2, -3)', expected=-1, identity=False)
    >>> split_test("assert not is_odd(4)").kind, split_test("check(candidate)").kind
    ('truth', 'statement')
    """
    body = ast.parse(source).body
    if len(body) != 1 or not isinstance(body[0], ast.Assert):
        return Check("statement", source)
    test = body[0].test
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return Check("truth", ast.unparse(test.operand), expected=False)
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq | ast.Is):
        identity = isinstance(test.ops[0], ast.Is)
        for expression, other in ((test.left, test.comparators[0]), (test.comparators[0], test.left)):
            expected = literal_node(other)
            if expected is not NOT_LITERAL and (not identity or any(expected is c for c in (None, True, False))):
                return Check("value", ast.unparse(expression), expected, identity)
    return Check("truth", ast.unparse(test), expected=True)


def harness_input(code: str, setup: str, checks: list[Check], nonce: str, stop: bool) -> bytes:
    """The job the harness reads on stdin: the program, the setup and what each test evaluates; no expected value."""
    tests = [(check.kind, check.source) for check in checks]
    return marshal.dumps({"program": code, "setup": setup, "tests": tests, "nonce": nonce, "stop": stop})


def read_reports(stdout: bytes, nonce: str, total: int) -> list[dict]:
    """The harness's reports in test order: lines with this run's nonce and the next index; at most `total`."""
    reports = []
    for line in stdout.decode(errors="replace").splitlines():
        report = literal_text(line)
        if isinstance(report, dict) and report.get("nonce") == nonce and report.get("i") == len(reports):
            reports.append(report)
            if len(reports) == total:
                break
    return reports


def unreported_verdict(run: Run) -> str:
    """The verdict of the tests a run did not report on: how it ended; a clean exit before them is an error."""
    return run_verdict(run) or "runtime_error"


def literal_text(text: str) -> object:
    """A report line (the repr of a dict of literals), or NOT_LITERAL."""
    try:
        return ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return NOT_LITERAL


def literal_node(node: ast.expr) -> object:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return NOT_LITERAL


def read_literal(text: object) -> object:
    """A reported value as a Python literal (`inf` and `nan` included); NOT_LITERAL when it is not one.

    >>> read_literal("[1, -2.5, (None, 'a')]"), read_literal("<object at 0x1>") is NOT_LITERAL
    ([1, -2.5, (None, 'a')], True)
    """
    if not isinstance(text, str):
        return NOT_LITERAL
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return NOT_LITERAL
    return literal_node(_Floats().visit(tree).body)


class _Floats(ast.NodeTransformer):
    """`inf` and `nan` (how repr writes infinite and undefined floats) as float constants."""

    def visit_Name(self, node: ast.Name) -> ast.expr:
        return ast.Constant(float(node.id)) if node.id in ("inf", "nan") else node


def same_value(got: object, expected: object) -> bool:
    """`got == expected`, except that floats compare with a relative tolerance of 1e-9, also inside lists and tuples.

    >>> same_value(0.1 + 0.2, 0.3), same_value([1, 2.0000000001], [1, 2]), same_value((1, 2), [1, 2])
    (True, True, False)
    """
    numbers = (int, float)
    if isinstance(got, numbers) and isinstance(expected, numbers) and float in (type(got), type(expected)):
        try:
            return math.isclose(got, expected, rel_tol=1e-9)
        except OverflowError:  # an int too large for a float
            return got == expected
    if type(got) is type(expected) and isinstance(got, list | tuple):
        return len(got) == len(expected) and all(same_value(a, b) for a, b in zip(got, expected))
    return got == expected
