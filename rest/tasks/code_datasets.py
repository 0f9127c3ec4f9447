"""Code problems from any `datasets` source (a hub name or local JSONL / Parquet / CSV files) in one of three
layouts, with a field map (`task.fields`: role -> the dataset's field; defaults in rest/conf/task/{mbpp,humaneval,apps}).

- **mbpp** (roles id, question, solution, tests, setup = MBPP's `task_id`, `text`, `code`, `test_list`,
  `test_setup_code`): `tests` is a list of asserts, run after `setup` (text or a list of lines); the entry point
  is the first function the first assert calls that the reference solution defines (else the first non-builtin it
  calls). Prompt fields: {question}, {example_test} (the first assert: MBPP's paper shows one test).
- **humaneval** (roles id, question, solution, tests, entry_point = HumanEval's `task_id`, `prompt`,
  `canonical_solution`, `test`, `entry_point`): `tests` (code defining `check(candidate)`) is the setup of the one
  test `check(<entry_point>)`. The program must be the whole function, not a continuation of the question (the
  signature and docstring), so the reference solution is question + solution. Prompt fields: {question}, {entry_point}.
- **apps** (roles id, question, solution, tests, starter_code = APPS's `problem_id`, `question`, `solutions`,
  `input_output`, `starter_code`): `tests` is JSON {"inputs": [...], "outputs": [...]}, where a list of lines is
  joined with "\n". Call-based problems (with `fn_name`) become asserts `assert _apps_result(fn_name(*inputs)) ==
  expected` (`Solution().fn_name` when the starter code has `class Solution`): `_apps_result` (the tests' setup)
  turns tuples into lists as APPS's judge does, and an expected value in a one-element list (APPS's convention) is
  that element; APPS would also accept the list itself, this `==` form does not (it keeps the expected value out of
  the program's process, rest/code/asserts.py). `solutions` is a JSON list; the first program is the reference.
  Prompt fields: {question}, {starter_code}, {io_format} (the APPS paper's "Use Standard Input / Call-Based format").

Every row is checked when its split is loaded: a missing field, a test that is not Python or tests that do not
match are a UserError naming the file (or dataset), split and row (0-based, in the split as read: a slice such as
`test[50%:]` starts at 0); so is a row without tests, unless `skip_rows_without_tests` (APPS has such rows)."""

from __future__ import annotations

import ast
import builtins
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rest.code.tests import BadTests, CodeTests
from rest.config import plain
from rest.errors import UserError
from rest.hub import load_split, split_files
from rest.records import Problem
from rest.tasks import checked_limits
from rest.tasks.chat import chat_formatter
from rest.templates import check_template

log = logging.getLogger(__name__)
STDIO_FORMAT, CALL_FORMAT = "Use Standard Input format", "Use Call-Based format"  # the APPS paper's prompt lines
APPS_CALL_SETUP = '''def _apps_result(value):  # a call's result as APPS's judge compares it with JSON: tuples as lists
    if isinstance(value, (list, tuple)):
        return [_apps_result(item) for item in value]
    return value
'''


class NoTests(BadTests):
    """A row whose tests field is empty."""


@dataclass(frozen=True)
class Parsed:
    tests: CodeTests
    solution: str | None
    prompt_fields: dict[str, str]


@dataclass(frozen=True)
class Layout:
    needs: tuple[str, ...]  # roles every row must fill
    optional: tuple[str, ...]  # roles that may be mapped to null
    prompt_fields: tuple[str, ...]
    read: Callable[[dict, dict[str, str | None]], Parsed]


def value(row: dict, fields: dict[str, str | None], role: str) -> Any:  # None: `role` is not mapped
    return row.get(fields[role]) if fields.get(role) else None


def needed(row: dict, fields: dict[str, str | None], role: str) -> Any:
    found = value(row, fields, role)
    if found is None or found == "" or found == [] or found == {}:
        raise (NoTests if role == "tests" else BadTests)(f"no `{fields[role]}`")
    return found


def read_mbpp(row: dict, fields: dict[str, str | None]) -> Parsed:
    asserts = needed(row, fields, "tests")
    if isinstance(asserts, str):
        raise BadTests(f"`{fields['tests']}` is one string, not a list of assert statements")
    solution, setup = value(row, fields, "solution"), value(row, fields, "setup") or ""
    tests = CodeTests.parse(list(asserts), setup="\n".join(setup) if isinstance(setup, list) else setup)
    tests = replace(tests, entry_point=called_function(tests.asserts[0], solution))
    return Parsed(tests, solution, {"example_test": tests.asserts[0]})


def read_humaneval(row: dict, fields: dict[str, str | None]) -> Parsed:
    check = needed(row, fields, "tests")
    question, entry_point = needed(row, fields, "question"), needed(row, fields, "entry_point")
    if not str(entry_point).isidentifier():
        raise BadTests(f"entry_point {entry_point!r} is not a Python name")
    tests = CodeTests.parse([f"check({entry_point})"], entry_point=entry_point, setup=check)
    solution = value(row, fields, "solution")
    return Parsed(tests, question + solution if solution else None, {"entry_point": entry_point})


def read_apps(row: dict, fields: dict[str, str | None]) -> Parsed:
    pairs = json_value(needed(row, fields, "tests"), fields["tests"])
    if not isinstance(pairs, dict):
        raise BadTests(f"`{fields['tests']}` is not a JSON object with inputs and outputs")
    if not pairs.get("inputs") and not pairs.get("outputs"):
        raise NoTests(f"no inputs or outputs in `{fields['tests']}`")
    starter = value(row, fields, "starter_code") or ""
    if pairs.get("fn_name"):
        tests, io_format = call_tests(pairs, starter), CALL_FORMAT
    else:
        streams = {key: [as_text(item) for item in pairs.get(key) or []] for key in ("inputs", "outputs")}
        tests, io_format = CodeTests.parse(streams), STDIO_FORMAT
    solutions = json_value(value(row, fields, "solution") or "[]", fields.get("solution"))
    if not isinstance(solutions, list):
        raise BadTests(f"`{fields.get('solution')}` is not a JSON list of programs")
    solution = next((s for s in solutions if isinstance(s, str) and s.strip()), None)
    return Parsed(tests, solution, {"starter_code": starter, "io_format": io_format})


LAYOUTS = {
    "mbpp": Layout(("question", "tests"), ("id", "solution", "setup"), ("question", "example_test"), read_mbpp),
    "humaneval": Layout(("question", "tests", "entry_point"), ("id", "solution"), ("question", "entry_point"),
                        read_humaneval),
    "apps": Layout(("question", "tests"), ("id", "solution", "starter_code"),
                   ("question", "starter_code", "io_format"), read_apps),
}


def call_tests(pairs: dict, starter_code: str) -> CodeTests:
    """APPS call-based pairs as asserts on `fn_name(*inputs)` (module docstring)."""
    name, inputs, outputs = pairs["fn_name"], pairs.get("inputs") or [], pairs.get("outputs") or []
    if not str(name).isidentifier():
        raise BadTests(f"fn_name {name!r} is not a Python name")
    if len(inputs) != len(outputs):
        raise BadTests(f"{len(inputs)} inputs but {len(outputs)} outputs")
    is_class = re.search(r"^class\s+Solution\b", starter_code, re.MULTILINE) is not None
    callee = f"Solution().{name}" if is_class else name
    asserts = []
    for args, expected in zip(inputs, outputs):
        args = args if isinstance(args, list) else [args]
        expected = expected[0] if isinstance(expected, list) and len(expected) == 1 else expected
        asserts.append(f"assert _apps_result({callee}(*{args!r})) == {expected!r}")
    return CodeTests.parse(asserts, entry_point="Solution" if is_class else name, setup=APPS_CALL_SETUP)


def called_function(test: str, solution: str | None) -> str | None:
    """The function an assert tests: the first call (in reading order) of a name the reference solution defines at
    top level, else the first call of a name that is not a builtin; None when it calls no such name.

    >>> called_function("assert set(common([1, 2], [2])) == set([2])", None)
    'common'
    """
    calls = [node for node in ast.walk(ast.parse(test))
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)]
    names = [call.func.id for call in sorted(calls, key=lambda call: (call.lineno, call.col_offset))]
    try:
        defined = {node.name for node in ast.parse(solution or "").body if isinstance(node, ast.FunctionDef)}
    except (SyntaxError, ValueError):
        defined = set()
    return next((n for n in names if n in defined), None) or next((n for n in names if not hasattr(builtins, n)), None)


def json_value(text: Any, field: str) -> Any:
    """A field that holds JSON text (APPS stores lists and objects so); an already decoded value as it is."""
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise BadTests(f"`{field}` is not JSON ({err.msg})") from None


def as_text(item: Any) -> Any:
    """An APPS input or output: a list of lines joined with newlines, a number as its text; others as they are."""
    if isinstance(item, list):
        return "\n".join(str(line) for line in item)
    return str(item) if isinstance(item, int | float) and not isinstance(item, bool) else item


class CodeDatasetTask:
    """Settings: rest/conf/task/mbpp.yaml, humaneval.yaml, apps.yaml; `limits` caps a split's problems (None: all),
    `where` keeps only rows whose field has one of the given values (e.g. APPS difficulty)."""

    def __init__(self, *, path: str, name: str | None, data_files: dict[str, str] | str | None, layout: str,
                 splits: dict[str, str], fields: dict[str, str | None], where: dict[str, Any] | None,
                 limits: dict[str, int | None], skip_rows_without_tests: bool, prompt_template: str,
                 few_shot: str, chat_template: bool, system_prompt: str | None, tokenizer: str | None,
                 step_delimiter: str):
        if layout not in LAYOUTS:
            raise UserError(f"task.layout: unknown layout {layout!r}; choose from {sorted(LAYOUTS)}")
        self.layout_name, self.layout = layout, LAYOUTS[layout]
        self.fields = check_fields(dict(fields), self.layout, layout)
        check_template(prompt_template, "task.prompt_template", ("question",),
                       tuple(f for f in self.layout.prompt_fields if f != "question"))
        self.path, self.name, self.data_files = path, name, plain(data_files)
        self.splits, self.limits = dict(splits), checked_limits(limits)
        self.where = {key: v if isinstance(v, list) else [v] for key, v in (plain(where) or {}).items()}
        self.skip_rows_without_tests = skip_rows_without_tests
        self.prompt_template, self.few_shot = prompt_template, few_shot
        self.answer_fallback, self.step_delimiter = None, step_delimiter  # answer: a program (rest/code/extract.py)
        self._chat = chat_formatter(tokenizer, system_prompt) if chat_template else None
        self._cache: dict[str, list[Problem]] = {}
        self._prompt_fields: dict[Problem, dict[str, str]] = {}
        if self.splits.get("pool") is not None and self.splits.get("pool") == self.splits.get("test"):
            log.warning("task: pool and test both read split %r: test scores are not held out", self.splits["test"])

    def problems(self, split: str) -> list[Problem]:
        if split not in self.splits:
            raise UserError(f"task.splits has no {split!r} split (it maps {sorted(self.splits)})")
        if split not in self._cache:
            self._cache[split] = self._load(split)
        return self._cache[split]

    def prompt(self, problem: Problem) -> str:
        """few_shot + prompt_template; with `chat_template`, that text as the user turn of the tokenizer's template."""
        known = dict.fromkeys(self.layout.prompt_fields, "") | self._prompt_fields.get(problem, {})
        text = self.few_shot + self.prompt_template.format(**known | {"question": problem.question})
        return self._chat(text) if self._chat else text

    def _load(self, split: str) -> list[Problem]:
        source = self.splits[split]
        rows = load_split(self.path, self.name, self.data_files, source)
        where = f"task: {self._source_name(source)} split {source!r}"
        missing = {f for f in [*self.fields.values(), *self.where] if f} - set(rows.column_names)
        if missing:
            raise UserError(f"{where} has no field(s) {sorted(missing)} (task.fields / task.where of the "
                            f"{self.layout_name} layout); it has {rows.column_names}")
        limit, problems, skipped = self.limits.get(split), [], 0
        for index, row in enumerate(rows):
            if limit and len(problems) >= limit:
                break
            if any(row[key] not in allowed for key, allowed in self.where.items()):
                continue
            problem = self._problem(row, f"{where} row {index}", f"{split}-{index}")
            skipped += problem is None
            problems += [problem] if problem else []
        if skipped:
            log.warning("%s: skipped %d row(s) without tests (task.skip_rows_without_tests)", where, skipped)
        if not problems:
            raise UserError(f"{where}: no problems (an empty split, or task.where / limits keep none)")
        return problems

    def _problem(self, row: dict, where: str, default_id: str) -> Problem | None:
        try:
            parsed = self.layout.read(row, self.fields)
            question = needed(row, self.fields, "question")
        except NoTests as err:
            if self.skip_rows_without_tests:
                return None
            raise UserError(f"{where}: {err} (fix the row, or set task.skip_rows_without_tests=true)") from None
        except BadTests as err:
            raise UserError(f"{where}: {err}") from None
        problem_id = value(row, self.fields, "id")
        problem = Problem(id=str(default_id if problem_id is None else problem_id), question=question,
                          answer=parsed.tests.to_json(), solution=parsed.solution)
        self._prompt_fields[problem] = parsed.prompt_fields
        return problem

    def _source_name(self, source: str) -> str:
        """The file behind a dataset split (`train[:50%]`: the `train` file) when it is one file, else the path."""
        files = split_files(self.data_files, source)
        files = files[0] if isinstance(files, list) and len(files) == 1 else files
        return Path(files).name if isinstance(files, str) else "/".join(filter(None, [self.path, self.name]))


def check_fields(fields: dict[str, str | None], layout: Layout, name: str) -> dict[str, str | None]:
    unknown = set(fields) - {*layout.needs, *layout.optional}
    if unknown:
        raise UserError(f"task.fields: the {name} layout has no role(s) {sorted(unknown)}; its roles are "
                        f"{[*layout.needs, *layout.optional]}")
    unmapped = [role for role in layout.needs if not fields.get(role)]
    if unmapped:
        raise UserError(f"task.fields: the {name} layout needs {unmapped} mapped to the dataset's field names")
    return fields
