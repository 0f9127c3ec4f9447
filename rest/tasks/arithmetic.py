"""The built-in task: procedurally generated arithmetic chains with worked, step-by-step solutions.

"Compute 23 + 45 - 17." is solved left to right, one operation per line, ending in `#### 51`.
Generation is deterministic for a seed; the three splits never share a question.
"""

from __future__ import annotations

import itertools
import operator
import random
import re

from rest.errors import UserError
from rest.records import Problem
from rest.tasks import checked_limits
from rest.tasks.chat import chat_formatter
from rest.tasks.generated import generate_splits, split_problems
from rest.templates import check_template
from rest.verifier.answers import check_fallback

_OPS = {"+": operator.add, "-": operator.sub, "*": operator.mul}
_STEP = re.compile(r"(-?\d+) ([-+*]) (-?\d+) = (-?\d+)")


def steps_hold(completion: str) -> bool:
    """Every line of the form `a op b = c` (a worked solution's step) holds; lines of another shape are not judged.
    The verifier checks only the final answer: `10 - 2 = 9` followed by a copied `#### 9` passes it, not this."""
    return all(line_holds(line) is not False for line in completion.split("\n"))


def line_holds(line: str) -> bool | None:
    """Whether one `a op b = c` line holds; None for a line of another shape."""
    step = _STEP.fullmatch(line.strip())
    if step is None:
        return None
    return _OPS[step[2]](int(step[1]), int(step[3])) == int(step[4])


class ArithmeticTask:
    """Arithmetic problems of `min_operands`..`max_operands` numbers in [0, `max_operand`].

    `sizes` fixes what is generated (and so the seed split the base model is trained on); `limits`
    only trims a split, e.g. for a quick run that keeps the same base model. Settings: rest/conf/task/arithmetic.yaml.
    """

    def __init__(self, *, sizes: dict[str, int], min_operands: int, max_operands: int, max_operand: int,
                 operators: list[str], prompt_template: str, seed: int, limits: dict[str, int | None],
                 chat_template: bool, system_prompt: str | None, tokenizer: str | None, answer_fallback: str | None,
                 step_delimiter: str):
        unknown = set(operators) - set(_OPS)
        if unknown:
            raise UserError(f"task.operators: unknown operator(s) {sorted(unknown)}; choose from {sorted(_OPS)}")
        if not 2 <= min_operands <= max_operands:
            raise UserError(f"task: need 2 <= min_operands <= max_operands, got {min_operands}, {max_operands}")
        check_template(prompt_template, "task.prompt_template", ("question",))
        self.sizes = dict(sizes)
        check_fallback(answer_fallback, "task.answer_fallback")
        self.answer_fallback = answer_fallback
        self.step_delimiter = step_delimiter
        self.operand_counts = (min_operands, max_operands)
        self.max_operand = max_operand
        self.operators = tuple(operators)
        self.prompt_template = prompt_template
        self.seed = seed
        self.limits = checked_limits(limits)  # use only the first N problems of a split (sizes stay as generated)
        self._chat = chat_formatter(tokenizer, system_prompt) if chat_template else None
        self._splits = self._generate()

    def problems(self, split: str) -> list[Problem]:
        return split_problems(self._splits, split, self.limits, "arithmetic")

    def prompt(self, problem: Problem) -> str:
        """`prompt_template`; with `chat_template`, as the user turn of the model's chat template."""
        text = self.prompt_template.format(question=problem.question)
        return self._chat(text) if self._chat else text

    def space(self) -> list[Problem]:
        """Every problem these settings can generate, in a fixed order (ids `space-i`): the splits are drawn from
        it, and what no split holds is more held-out data (bench/wide_eval.py)."""
        low, high = self.operand_counts
        shapes = ((numbers, ops) for k in range(low, high + 1)
                  for numbers in itertools.product(range(self.max_operand + 1), repeat=k)
                  for ops in itertools.product(self.operators, repeat=k - 1))
        return [_problem(f"space-{i}", list(numbers), list(ops)) for i, (numbers, ops) in enumerate(shapes)]

    def _generate(self) -> dict[str, list[Problem]]:
        low, high = self.operand_counts
        capacity = sum((self.max_operand + 1) ** k * len(self.operators) ** (k - 1) for k in range(low, high + 1))
        if sum(self.sizes.values()) > 0.75 * capacity:  # rejection sampling of unique questions slows near 1
            raise UserError(f"task: {sum(self.sizes.values())} problems asked, too many for max_operand={self.max_operand}")
        return generate_splits(self.sizes, self.seed, self._unique_problem)

    def _unique_problem(self, rng: random.Random, seen: set[str], problem_id: str) -> Problem:
        while True:
            numbers = [rng.randint(0, self.max_operand) for _ in range(rng.randint(*self.operand_counts))]
            ops = [rng.choice(self.operators) for _ in numbers[1:]]
            problem = _problem(problem_id, numbers, ops)
            if problem.question not in seen:
                seen.add(problem.question)
                return problem


def _problem(problem_id: str, numbers: list[int], ops: list[str]) -> Problem:
    solution, answer = _worked_solution(numbers, ops)
    return Problem(id=problem_id, question=f"Compute {_expression(numbers, ops)}.", answer=str(answer),
                   solution=solution)


def _expression(numbers: list[int], ops: list[str]) -> str:
    """Infix text whose usual precedence gives the left-to-right value: `(2 + 3) * 4`."""
    text = str(numbers[0])
    for i, (op, n) in enumerate(zip(ops, numbers[1:])):
        if op == "*" and i > 0:
            text = f"({text})"
        text = f"{text} {op} {n}"
    return text


def _worked_solution(numbers: list[int], ops: list[str]) -> tuple[str, int]:
    """Left-to-right evaluation, one step per line, then the GSM8K-style final line `#### x`."""
    value, lines = numbers[0], []
    for op, n in zip(ops, numbers[1:]):
        new = _OPS[op](value, n)
        lines.append(f"{value} {op} {n} = {new}")
        value = new
    return "\n".join(lines) + f"\n#### {value}", value
