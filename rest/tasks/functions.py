"""The built-in code task: write a one-line Python function from a description of what it does to `x`.

"Write f(x): add 3, then multiply by 2." is solved by `def f(x): return (x + 3) * 2`. The hidden tests are
`assert f(v) == <value>` on a few inputs; the seed split carries the worked solution. Generation is
deterministic for a seed, and the three splits never share a question.
"""

from __future__ import annotations

import operator
import random
from collections.abc import Callable
from dataclasses import dataclass

from rest.code.tests import CodeTests
from rest.errors import UserError
from rest.records import Problem
from rest.tasks import checked_limits
from rest.tasks.chat import chat_formatter
from rest.tasks.generated import generate_splits, split_problems
from rest.templates import check_template

ATOM, POWER, UNARY, PRODUCT, SUM = 5, 4, 3, 2, 1  # Python's precedence levels, tightest first


@dataclass(frozen=True)
class Operation:
    """One step: its words, and its code as a template over the expression so far (`{e}`) and a constant (`{n}`).
    `binds`: the precedence of the result; `needs`: the least precedence `{e}` may have without parentheses."""

    words: str
    code: str
    binds: int
    needs: int
    apply: Callable[[int, int], int]


OPERATIONS = {
    "add": Operation("add {n}", "{e} + {n}", SUM, SUM, operator.add),
    "subtract": Operation("subtract {n}", "{e} - {n}", SUM, SUM, operator.sub),
    "multiply": Operation("multiply by {n}", "{e} * {n}", PRODUCT, PRODUCT, operator.mul),
    "floordiv": Operation("divide by {n} rounding down", "{e} // {n}", PRODUCT, PRODUCT, operator.floordiv),
    "mod": Operation("take the remainder mod {n}", "{e} % {n}", PRODUCT, PRODUCT, operator.mod),
    "negate": Operation("negate it", "-{e}", UNARY, POWER, lambda v, n: -v),
    "square": Operation("square it", "{e} ** 2", POWER, ATOM, lambda v, n: v * v),
    "abs": Operation("take the absolute value", "abs({e})", ATOM, SUM, lambda v, n: abs(v)),
    "max": Operation("take the larger of it and {n}", "max({e}, {n})", ATOM, SUM, max),
}


class FunctionsTask:
    """Problems of `min_steps`..`max_steps` operations with constants in [2, `max_constant`], tested on
    `test_inputs`. Settings: rest/conf/task/code.yaml."""

    def __init__(self, *, sizes: dict[str, int], min_steps: int, max_steps: int, max_constant: int,
                 operations: list[str], test_inputs: list[int], prompt_template: str, seed: int,
                 limits: dict[str, int | None], chat_template: bool, system_prompt: str | None,
                 tokenizer: str | None, step_delimiter: str):
        unknown = set(operations) - set(OPERATIONS)
        if unknown:
            raise UserError(f"task.operations: unknown operation(s) {sorted(unknown)}; choose from {sorted(OPERATIONS)}")
        if not 1 <= min_steps <= max_steps:
            raise UserError(f"task: need 1 <= min_steps <= max_steps, got {min_steps}, {max_steps}")
        if max_constant < 2 or not test_inputs:
            raise UserError("task: need max_constant >= 2 and at least one test input")
        check_template(prompt_template, "task.prompt_template", ("question",))
        self.sizes, self.limits, self.seed = dict(sizes), checked_limits(limits), seed
        self.steps, self.max_constant = (min_steps, max_steps), max_constant
        self.operations = [OPERATIONS[name] for name in operations]
        self.test_inputs, self.prompt_template = list(test_inputs), prompt_template
        self.answer_fallback = None  # the answer is a program, found by rest/code/extract.py
        self.step_delimiter = step_delimiter
        self._chat = chat_formatter(tokenizer, system_prompt) if chat_template else None
        self._splits = generate_splits(self.sizes, self.seed, self._unique_problem)

    def problems(self, split: str) -> list[Problem]:
        return split_problems(self._splits, split, self.limits, "code")

    def prompt(self, problem: Problem) -> str:
        text = self.prompt_template.format(question=problem.question)
        return self._chat(text) if self._chat else text

    def _unique_problem(self, rng: random.Random, seen: set[str], problem_id: str) -> Problem:
        for _ in range(10_000):
            steps = [(rng.choice(self.operations), rng.randint(2, self.max_constant))
                     for _ in range(rng.randint(*self.steps))]
            question = "Write f(x): " + ", then ".join(op.words.format(n=n) for op, n in steps) + "."
            if question not in seen:
                seen.add(question)
                return self._problem(problem_id, question, steps)
        raise UserError(f"task: too many problems asked ({sum(self.sizes.values())}) for so few operations and "
                        "constants; raise task.max_constant or task.max_steps")

    def _problem(self, problem_id: str, question: str, steps: list[tuple[Operation, int]]) -> Problem:
        tests = CodeTests.parse([f"assert f({v}) == {_value(steps, v)}" for v in self.test_inputs], entry_point="f")
        return Problem(id=problem_id, question=question, answer=tests.to_json(),
                       solution=f"def f(x): return {_expression(steps)}")


def _expression(steps: list[tuple[Operation, int]]) -> str:
    """The code of the steps applied in order to `x`, with the parentheses Python's precedence needs."""
    text, binds = "x", ATOM
    for op, n in steps:
        operand = text if binds >= op.needs else f"({text})"
        text, binds = op.code.format(e=operand, n=n), op.binds
    return text


def _value(steps: list[tuple[Operation, int]], x: int) -> int:
    for op, n in steps:
        x = op.apply(x, n)
    return x
