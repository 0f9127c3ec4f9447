import pytest
from conftest import config, judge_settings

from rest.config import build
from rest.errors import UserError
from rest.verifier.answers import extract_answer
from rest.verifier.equivalence import equivalent

SIZES = {"seed": 50, "pool": 80, "test": 40}


def ArithmeticTask(sizes: dict, **settings):
    """The configured arithmetic task with other split sizes and settings."""
    return build(config().task, sizes=sizes, **settings)


def questions(task, split):
    return [p.question for p in task.problems(split)]


def test_same_seed_generates_the_same_problems():
    a, b = ArithmeticTask(SIZES, seed=3), ArithmeticTask(SIZES, seed=3)
    for split in SIZES:
        assert a.problems(split) == b.problems(split)


def test_different_seed_generates_different_problems():
    assert questions(ArithmeticTask(SIZES, seed=1), "pool") != questions(ArithmeticTask(SIZES, seed=2), "pool")


def test_splits_have_requested_sizes_and_share_no_question():
    task = ArithmeticTask(SIZES, max_operand=20)
    sets = {split: set(questions(task, split)) for split in SIZES}
    assert {split: len(s) for split, s in sets.items()} == SIZES
    assert not sets["test"] & (sets["seed"] | sets["pool"])
    assert not sets["seed"] & sets["pool"]


def test_the_configured_difficulty_is_what_the_task_generates():
    task = build(config().task)  # rest/conf/task/arithmetic.yaml, with no value from Python
    numbers = [int(n) for p in task.problems("pool") for n in p.question[len("Compute "):-1].split() if n.isdigit()]
    assert max(numbers) == config().task.max_operand == 9


def test_test_split_does_not_depend_on_other_split_sizes():
    small = ArithmeticTask({"seed": 5, "pool": 5, "test": 40})
    assert questions(small, "test") == questions(ArithmeticTask(SIZES), "test")


@pytest.mark.parametrize("operators", [("+", "-"), ("+", "-", "*")])
def test_worked_solution_ends_in_the_true_answer(operators):
    task = ArithmeticTask(SIZES, operators=operators, max_operands=4)
    for p in task.problems("seed"):
        expression = p.question.removeprefix("Compute ").removesuffix(".")
        assert int(p.answer) == eval(expression)  # the question's usual precedence gives the answer
        assert equivalent(extract_answer(p.solution), p.answer, **judge_settings())
        assert len(p.solution.splitlines()) == expression.count(" ") // 2 + 1


def test_difficulty_knobs_bound_the_operands():
    task = ArithmeticTask(SIZES, min_operands=3, max_operands=3, max_operand=9, operators=("+",))
    for p in task.problems("pool"):
        numbers = [int(t) for t in p.question.removeprefix("Compute ").removesuffix(".").split(" + ")]
        assert len(numbers) == 3 and all(0 <= n <= 9 for n in numbers)


def test_limits_trim_a_split_without_changing_the_others():
    full, limited = ArithmeticTask(SIZES), ArithmeticTask(SIZES, limits={"pool": 7})
    assert limited.problems("pool") == full.problems("pool")[:7]
    assert limited.problems("seed") == full.problems("seed")


def test_prompt_uses_the_template():
    task = ArithmeticTask(SIZES, prompt_template="Q: {question}\nA:")
    p = task.problems("test")[0]
    assert task.prompt(p) == f"Q: {p.question}\nA:"


@pytest.mark.parametrize("kwargs, message", [
    ({"operators": ("/",)}, "unknown operator"),
    ({"min_operands": 1}, "min_operands"),
    ({"max_operand": 1, "max_operands": 2}, "too many"),
])
def test_bad_settings_raise_a_user_error(kwargs, message):
    with pytest.raises(UserError, match=message):
        ArithmeticTask(SIZES, **kwargs)


def test_an_unknown_answer_fallback_is_a_one_line_user_error():
    with pytest.raises(UserError, match="task.answer_fallback"):
        ArithmeticTask(SIZES, answer_fallback="last_word")


def test_space_holds_every_problem_once_and_every_split_is_drawn_from_it():
    task = ArithmeticTask(SIZES, max_operand=4, operators=["+", "-", "*"])
    space = task.space()
    assert len(space) == 5**2 * 3 + 5**3 * 3**2  # 2 or 3 operands in 0..4, 3 operators between each pair
    by_question = {p.question: p for p in space}
    assert len(by_question) == len(space)
    for split in SIZES:
        for problem in task.problems(split):
            assert by_question[problem.question].answer == problem.answer
            assert by_question[problem.question].solution == problem.solution
