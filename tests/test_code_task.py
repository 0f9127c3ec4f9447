"""The built-in code task (task=code), the code_tests scorer, and what a code run checks before any work."""

import json

import pytest
from conftest import config, context, make_scorer, make_task

from rest.code.tests import CodeTests
from rest.config import CONFIG_DIR, build
from rest.config_check import config_error
from rest.errors import UserError
from rest.records import Problem, Sample
from rest.tasks.functions import FunctionsTask

SIZES = {"seed": 40, "pool": 60, "test": 30}


def code_task(**settings) -> FunctionsTask:
    return build(config("task=code").task, **{"sizes": SIZES, **settings})


@pytest.fixture(scope="module")
def code_verifier():
    with build(config("task=code").verifier) as verifier:
        yield verifier


def sample(problem: Problem, completion: str) -> Sample:
    return Sample(problem_id=problem.id, sample_index=0, iteration=1, prompt="", completion=completion,
                  reference=problem.answer, finish_reason="stop", num_tokens=0)


def test_same_seed_same_problems_and_splits_share_no_question():
    a, b = code_task(seed=3), code_task(seed=3)
    assert all(a.problems(s) == b.problems(s) for s in SIZES)
    questions = {s: {p.question for p in a.problems(s)} for s in SIZES}
    assert {s: len(q) for s, q in questions.items()} == SIZES
    assert not questions["test"] & (questions["seed"] | questions["pool"]) and not questions["seed"] & questions["pool"]
    assert questions["pool"] != {p.question for p in code_task(seed=4).problems("pool")}


def test_a_problem_is_a_description_with_hidden_asserts_and_a_worked_solution():
    problem = code_task().problems("seed")[0]
    tests = CodeTests.from_json(problem.answer)
    assert problem.question.startswith("Write f(x): ") and problem.solution.startswith("def f(x): return ")
    assert tests.entry_point == "f" and len(tests) == len(config("task=code").task.test_inputs)
    assert all(t.startswith("assert f(") for t in tests.asserts)


def test_worked_solutions_pass_their_hidden_tests_in_the_sandbox(code_verifier):
    problems = code_task().problems("seed")
    verdicts = code_verifier.verify([p.solution for p in problems], [p.answer for p in problems])
    assert [v.status for v in verdicts] == ["pass"] * len(problems)


def test_a_solution_with_wrong_precedence_fails(code_verifier):
    problem = next(p for p in code_task().problems("pool") if "(x " in p.solution)  # needs parentheses
    wrong = problem.solution.replace("(", "").replace(")", "").replace("maxx", "max(x").replace("absx", "abs(x")
    assert [v.correct for v in code_verifier.verify([wrong], [problem.answer])] == [False]


@pytest.mark.parametrize(("settings", "message"), [
    ({"operations": ["add", "cube"]}, "unknown operation"),
    ({"min_steps": 0}, "min_steps"),
    ({"max_constant": 1}, "max_constant"),
    ({"sizes": {"seed": 500, "pool": 500, "test": 500}, "operations": ["negate"], "max_steps": 2}, "too many problems"),
])
def test_bad_task_settings_are_one_line_errors(settings, message):
    with pytest.raises(UserError, match=message):
        code_task(**settings)


def test_task_code_selects_the_unit_test_verifier_and_scorer():
    cfg = config("task=code")
    assert cfg.verifier._target_ == "rest.code.verifier.CodeVerifier" and list(cfg.scorers) == ["code_tests"]
    assert config().verifier._target_ == "rest.verifier.Verifier"  # the math default is unchanged


@pytest.mark.parametrize(("args", "message"), [
    (["task=code", "scorer=exact_answer"], "scorer=exact_answer compares final answers"),
    (["scorer=code_tests"], "scorer=code_tests runs programs"),
])
def test_a_scorer_that_cannot_judge_the_task_stops_the_run_in_one_line(args, message):
    problem = config_error(CONFIG_DIR, args)
    assert problem and message in problem and "\n" not in problem


def test_code_tests_scorer_gives_one_zero_or_none(code_verifier):
    problem = code_task().problems("seed")[0]
    samples = [sample(problem, problem.solution), sample(problem, "def f(x): return 12345"), sample(problem, "")]
    scores = make_scorer("code_tests").score(samples, context(code_verifier))
    assert scores == [1.0, 0.0, 0.0] and [s.verdict for s in samples] == ["pass", "wrong_answer", "no_code"]


def test_code_tests_scorer_fraction_counts_passed_tests(code_verifier):
    problem = Problem(id="p", question="", answer=CodeTests.parse(
        ["assert f(1) == 1", "assert f(2) == 4", "assert f(3) == 9", "assert f(0) == 0"], "f").to_json())
    samples = [sample(problem, "def f(x): return x * x"), sample(problem, "def f(x): return x if x < 2 else 0")]
    assert make_scorer("code_tests", reward="fraction").score(samples, context(code_verifier)) == [1.0, 0.5]


def test_code_tests_scorer_refuses_the_math_verifier(verifier):
    problem = code_task().problems("seed")[0]
    with pytest.raises(UserError, match="code task"):
        make_scorer("code_tests").score([sample(problem, problem.solution)], context(verifier))


def test_a_worked_solution_round_trips_as_json_tests():
    problem = make_task("task=code").problems("test")[0]
    assert json.loads(problem.answer)["entry_point"] == "f"
