"""The code verifier (rest/code/verifier.py) and program extraction (rest/code/extract.py): the run's judge for code
tasks, with the math Verifier's shape; distinct programs run once, in parallel; a sandbox failure cannot judge."""

import dataclasses
import logging
import time

import pytest
from conftest import SANDBOX_LIMITS

import rest.code.asserts
from rest.code.extract import extract_code
from rest.code.judge import Outcome
from rest.code.sandbox import run_python
from rest.code.tests import CodeTests
from rest.code.verifier import CodeVerifier
from rest.config import build, compose
from rest.errors import UserError
from rest.verifier.pool import Verdict

LIMITS = dataclasses.asdict(SANDBOX_LIMITS)
SQUARE = CodeTests.parse(["assert square(2) == 4", "assert square(3) == 9", "assert square(-1) == 1"],
                         entry_point="square").to_json()
DOUBLE = CodeTests.parse({"inputs": ["3\n", "5\n"], "outputs": ["6", "10"]}).to_json()
RIGHT = "```python\ndef square(x):\n    return x * x\n```"
WRONG = "```python\ndef square(x):\n    return x + x\n```"


@pytest.fixture
def sandbox_runs(monkeypatch) -> list[str]:
    """The programs the assert judge sent to the sandbox, in order."""
    runs = []

    def counting(source, stdin, limits):
        runs.append(stdin)
        return run_python(source, stdin, limits)
    monkeypatch.setattr(rest.code.asserts, "run_python", counting)
    return runs


@pytest.mark.parametrize(("name", "completion", "entry_point", "program"), [
    ("the block that defines the entry point, not the last one",
     "```python\ndef square(x):\n    return x * x\n```\nUsage:\n```python\nprint(square(3))\n```", "square",
     "def square(x):\n    return x * x\n"),
    ("the last block when none defines it", "```py\nx = 1\n```\ntext\n```\ny = 2\n```", "square", "y = 2\n"),
    ("the last defining block, as an assignment", "```python\nsquare = abs\n```\n```python\nsquare = max\n```",
     "square", "square = max\n"),
    ("the raw text when there is no fence", "def square(x): return x * x", "square", "def square(x): return x * x"),
    ("an unterminated final fence up to the end", "Sure:\n```python\ndef square(x):\n    return x *", "square",
     "def square(x):\n    return x *"),
    ("an indented fence, dedented", "1. Code:\n   ```python\n   def f():\n       return 1\n   ```", None,
     "def f():\n    return 1\n"),
    ("no Python fence", "```bash\nrm -rf /\n```", None, None),
    ("an empty completion", "", None, None),
])
def test_the_program_is_extracted_by_the_fence_rule(name, completion, entry_point, program):
    assert extract_code(completion, entry_point) == program, name


def test_verify_extracts_and_judges_both_test_styles():
    completions = [RIGHT, WRONG, "The answer is 42.", "", "print(int(input()) * 2)", "print(6)"]
    references = [SQUARE] * 4 + [DOUBLE] * 2
    with CodeVerifier(limits=LIMITS, workers=2) as verifier:
        verdicts = verifier.verify(completions, references, fallback=None)
    assert [(v.correct, v.status) for v in verdicts] == [
        (True, "pass"), (False, "wrong_answer"), (False, "syntax_error"), (False, "no_code"), (True, "pass"),
        (False, "wrong_answer")]
    assert verdicts[0].extracted == "def square(x):\n    return x * x\n" and verdicts[3].extracted is None


def test_identical_programs_run_once_per_call_and_are_remembered_across_calls(sandbox_runs):
    with CodeVerifier(limits=LIMITS, workers=2) as verifier:
        first = verifier.verify([RIGHT, WRONG, RIGHT, RIGHT, WRONG], [SQUARE] * 5)
        assert len(sandbox_runs) == 2
        again = verifier.verify([WRONG, RIGHT], [SQUARE] * 2)
        assert len(sandbox_runs) == 2
    assert [v.correct for v in first] == [True, False, True, True, False] and [v.correct for v in again] == [
        False, True]


def test_programs_run_in_parallel():
    sleepers = [f"import time\ntime.sleep(4)\ndef square(x):\n    return x * x  # {i}" for i in range(2)]
    with CodeVerifier(limits=LIMITS, workers=2) as verifier:
        start = time.monotonic()
        verdicts = verifier.judge(sleepers, [SQUARE] * 2)
        elapsed = time.monotonic() - start
    assert [v.status for v in verdicts] == ["pass", "pass"] and elapsed < 7  # one after the other: over 8 s


def test_outcomes_count_every_test_for_pass_fractions():
    half = "```python\ndef square(x):\n    return x * x if x > 0 else 0\n```"
    with CodeVerifier(limits=LIMITS, workers=2) as verifier:
        outcomes = verifier.outcomes([RIGHT, half, WRONG, "print(6)"], [SQUARE] * 3 + [DOUBLE])
    assert outcomes == [Outcome("pass", 3, 3), Outcome("wrong_answer", 2, 3), Outcome("wrong_answer", 1, 3),
                        Outcome("wrong_answer", 1, 2)]


def test_a_sandbox_failure_is_an_error_verdict_not_a_wrong_answer(monkeypatch, caplog):
    def broken(source, stdin, limits):
        raise OSError("prlimit: not found")
    monkeypatch.setattr(rest.code.asserts, "run_python", broken)
    with CodeVerifier(limits=LIMITS, workers=1) as verifier, caplog.at_level(logging.WARNING):
        assert verifier.verify([RIGHT, ""], [SQUARE] * 2) == [
            Verdict("def square(x):\n    return x * x\n", False, "error"), Verdict(None, False, "no_code")]
        assert verifier.outcomes([RIGHT], [SQUARE]) == [Outcome(None, 0, 3)]
    assert "1 of 2 programs could not be judged" in caplog.text


def test_a_reference_that_is_not_tests_is_a_user_error():
    with CodeVerifier(limits=LIMITS, workers=1) as verifier, pytest.raises(UserError, match="reference 1"):
        verifier.verify([RIGHT, RIGHT], [SQUARE, "42"])


@pytest.mark.parametrize(("settings", "message"), [
    ({"limits": {**LIMITS, "cpu_seconds": 0}, "workers": 1}, "limits.cpu_seconds must be a positive"),
    ({"limits": {k: v for k, v in LIMITS.items() if k != "memory_mb"}, "workers": 1}, "limits must have exactly"),
    ({"limits": {**LIMITS, "processes": 2.5}, "workers": 1}, "limits.processes must be a whole number"),
    ({"limits": LIMITS, "workers": 0}, "workers must be >= 1"),
])
def test_bad_settings_are_one_line_user_errors(settings, message):
    with pytest.raises(UserError, match=message):
        CodeVerifier(**settings)


def test_the_shipped_config_builds_a_verifier_with_one_worker_per_core():
    verifier = build(compose(["verifier=code_tests"]).verifier)
    assert isinstance(verifier, CodeVerifier) and verifier.workers >= 1 and verifier.limits.cpu_seconds > 0
