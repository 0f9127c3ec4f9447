"""MBPP-, HumanEval- and APPS-style code problems from local files, through the `task=` presets: their prompts,
their tests (the problem's answer) and the reference solutions passing those tests in the sandbox."""

import json
import logging

import pytest
from conftest import SANDBOX_LIMITS as LIMITS
from conftest import config, make_task, task_from_preset, write_jsonl

from rest.code.asserts import judge_asserts
from rest.code.judge import stdio_outcome
from rest.code.tests import CodeTests
from rest.config import build
from rest.errors import UserError

MBPP_ROWS = [
    {"task_id": 2, "text": "Write a function to find the shared elements of two lists.",
     "code": "def similar_elements(a, b):\n    return tuple(set(a) & set(b))\n",
     "test_list": ["assert set(similar_elements((3, 4, 5, 6), (5, 7, 4, 10))) == set((4, 5))",
                   "assert set(similar_elements((1, 2), (3,))) == set()"],
     "test_setup_code": ""},
    {"task_id": 3, "text": "Write a function that returns the square root of n rounded down.",
     "code": "import math\n\ndef isqrt_of(n):\n    return math.isqrt(n)\n",
     "test_list": ["assert isqrt_of(10) == math.isqrt(10)", "assert isqrt_of(16) == 4"],
     "test_setup_code": "import math"},
    {"task_id": 4, "text": "Write a python function to identify non-prime numbers.",
     "code": "def is_not_prime(n):\n    return n < 2 or any(n % d == 0 for d in range(2, n))\n",
     "test_list": ["assert is_not_prime(2) == False", "assert is_not_prime(10) == True"], "test_setup_code": ""},
]
HUMANEVAL_ROWS = [
    {"task_id": "HumanEval/0", "entry_point": "add",
     "prompt": 'def add(a: int, b: int) -> int:\n    """Return a + b.\n    >>> add(2, 3)\n    5\n    """\n',
     "canonical_solution": "    return a + b\n",
     "test": "\n\nMETADATA = {}\n\n\ndef check(candidate):\n    assert candidate(2, 3) == 5\n"
             "    assert candidate(-1, 1) == 0\n"},
    {"task_id": "HumanEval/1", "entry_point": "total",
     "prompt": 'from typing import List\n\n\ndef total(xs: List[int]) -> int:\n    """The sum of xs."""\n',
     "canonical_solution": "    return sum(xs)\n",
     "test": "def check(candidate):\n    assert candidate([1, 2]) == 3\n    assert candidate([]) == 0\n"},
]
APPS_ROWS = [
    {"problem_id": 0, "question": "Read n and print 2n.", "difficulty": "introductory", "starter_code": "",
     "solutions": json.dumps(["n = int(input())\nprint(2 * n)\n"]),
     "input_output": json.dumps({"inputs": ["3\n", ["4", ""]], "outputs": [["6"], "8\n"]})},
    {"problem_id": 1, "question": "Return (min, max) of a list.", "difficulty": "interview",
     "starter_code": "def min_max(xs):\n\t",
     "solutions": json.dumps(["def min_max(xs):\n    return min(xs), max(xs)\n"]),
     "input_output": json.dumps({"fn_name": "min_max", "inputs": [[[3, 1, 2]], [[5]]],
                                 "outputs": [[[1, 3]], [[5, 5]]]})},
    {"problem_id": 2, "question": "Count the even numbers.", "difficulty": "interview",
     "starter_code": "class Solution:\n    def countEven(self, nums: list) -> int:\n        ",
     "solutions": json.dumps([("class Solution:\n    def countEven(self, nums):\n"
                              "        return sum(x % 2 == 0 for x in nums)\n")]),
     "input_output": json.dumps({"fn_name": "countEven", "inputs": [[[1, 2, 4]], [[]]], "outputs": [2, [0]]})},
    {"problem_id": 3, "question": "A problem whose tests were never collected.", "difficulty": "interview",
     "starter_code": "", "solutions": "", "input_output": ""},
]


def test_mbpp_problems_carry_their_asserts_and_pass_with_the_reference_solution(tmp_path):
    task = task_from_preset("mbpp", write_jsonl(tmp_path / "mbpp.jsonl", MBPP_ROWS))
    problems = task.problems("test")
    assert [p.id for p in problems] == ["2", "3", "4"] and task.answer_fallback is None
    assert task.prompt(problems[0]) == (f"{MBPP_ROWS[0]['text']}\nYour code should pass this test:\n"
                                        f"{MBPP_ROWS[0]['test_list'][0]}\n")
    tests = [CodeTests.from_json(p.answer) for p in problems]
    assert [t.entry_point for t in tests] == ["similar_elements", "isqrt_of", "is_not_prime"]
    assert list(tests[1].asserts) == MBPP_ROWS[1]["test_list"] and tests[1].setup == "import math"
    assert [judge_asserts(p.solution, t, LIMITS).verdict for p, t in zip(problems, tests)] == ["pass"] * 3
    assert judge_asserts("def similar_elements(a, b):\n    return ()\n", tests[0], LIMITS).verdict == "wrong_answer"


def test_mbpp_field_map_reads_the_sanitized_layout(tmp_path):
    rows = [{"task_id": 3, "prompt": r["text"], "code": r["code"], "test_list": r["test_list"],
             "test_imports": ["import math"]} for r in MBPP_ROWS[1:2]]
    task = task_from_preset("mbpp", write_jsonl(tmp_path / "sanitized.jsonl", rows),
                            "task.fields.question=prompt", "task.fields.setup=test_imports")
    [problem] = task.problems("pool")
    assert problem.question == MBPP_ROWS[1]["text"] and CodeTests.from_json(problem.answer).setup == "import math"


def test_humaneval_asks_for_the_whole_function_and_splits_its_one_split_in_disjoint_halves(tmp_path):
    data = write_jsonl(tmp_path / "HumanEval.jsonl", HUMANEVAL_ROWS)
    task = make_task("task=humaneval", "task.path=json", f"task.data_files={{test: {data}}}")
    [pool], [held_out] = task.problems("pool"), task.problems("test")
    assert (pool.id, held_out.id) == ("HumanEval/0", "HumanEval/1")
    assert held_out.question == HUMANEVAL_ROWS[1]["prompt"]
    assert "```python\n" + HUMANEVAL_ROWS[1]["prompt"] + "```" in task.prompt(held_out)
    tests = CodeTests.from_json(held_out.answer)
    assert (tests.asserts, tests.entry_point, tests.setup) == (("check(total)",), "total", HUMANEVAL_ROWS[1]["test"])
    assert held_out.solution == HUMANEVAL_ROWS[1]["prompt"] + HUMANEVAL_ROWS[1]["canonical_solution"]
    assert judge_asserts(held_out.solution, tests, LIMITS).verdict == "pass"
    assert judge_asserts(HUMANEVAL_ROWS[1]["canonical_solution"], tests, LIMITS).verdict == "syntax_error"


def test_humaneval_pool_and_test_on_the_same_split_warns_the_score_is_not_held_out(tmp_path, caplog):
    data = write_jsonl(tmp_path / "HumanEval.jsonl", HUMANEVAL_ROWS)
    with caplog.at_level(logging.WARNING, logger="rest.tasks.code_datasets"):
        task = make_task("task=humaneval", "task.path=json", f"task.data_files={{test: {data}}}",
                         "task.splits.pool=test", "task.splits.test=test")
    assert "not held out" in caplog.text and len(task.problems("test")) == 2


def test_apps_reads_stdio_and_call_based_tests_and_skips_rows_without_tests(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="rest.tasks.code_datasets"):
        task = task_from_preset("apps", write_jsonl(tmp_path / "apps.jsonl", APPS_ROWS))
        stdio, function, method = task.problems("pool")
    assert "skipped 1 row(s) without tests" in caplog.text
    assert task.prompt(stdio) == "QUESTION:\nRead n and print 2n.\n\nUse Standard Input format\nANSWER:\n"
    assert task.prompt(method).endswith(APPS_ROWS[2]["starter_code"] + "\nUse Call-Based format\nANSWER:\n")
    io = CodeTests.from_json(stdio.answer)
    assert (io.inputs, io.outputs) == (("3\n", "4\n"), ("6", "8\n"))
    assert stdio_outcome(stdio.solution, list(io.inputs), list(io.outputs), LIMITS).verdict == "pass"
    calls = CodeTests.from_json(function.answer)
    assert calls.asserts[0] == "assert _apps_result(min_max(*[[3, 1, 2]])) == [1, 3]" and calls.entry_point == "min_max"
    methods = CodeTests.from_json(method.answer)
    assert methods.asserts[1] == "assert _apps_result(Solution().countEven(*[[]])) == 0"
    assert methods.entry_point == "Solution"
    for problem, tests in ((function, calls), (method, methods)):
        assert judge_asserts(problem.solution, tests, LIMITS).verdict == "pass"
    assert judge_asserts("def min_max(xs):\n    return [max(xs), min(xs)]\n", calls, LIMITS).verdict == "wrong_answer"


def test_apps_where_keeps_one_difficulty_and_limits_count_kept_problems(tmp_path):
    data = write_jsonl(tmp_path / "apps.jsonl", APPS_ROWS)
    introductory = task_from_preset("apps", data, "task.where={difficulty: introductory}")
    assert [p.id for p in introductory.problems("test")] == ["0"]
    assert [p.id for p in task_from_preset("apps", data, "task.limits.test=2").problems("test")] == ["0", "1"]


BAD_ROWS = [
    ("mbpp", [MBPP_ROWS[0], dict(MBPP_ROWS[1], test_list=[])], r"mbpp\.jsonl split 'test' row 1: no `test_list`"),
    ("mbpp", [dict(MBPP_ROWS[0], test_list=["assert f(1 == 2"])], r"row 0: test is not valid Python"),
    ("mbpp", [dict(MBPP_ROWS[0], text=None)], r"row 0: no `text`"),
    ("humaneval", [dict(HUMANEVAL_ROWS[0], test="def check(candidate)\n    pass\n")], r"row 0: test is not valid Py"),
    ("apps", [dict(APPS_ROWS[0], input_output="{inputs: 1")],
     r"apps\.jsonl split 'test' row 0: `input_output` is not JSON"),
    ("apps", [dict(APPS_ROWS[0], input_output=json.dumps({"inputs": ["1"], "outputs": ["1", "2"]}))],
     r"row 0: 1 inputs but 2 outputs"),
    ("apps", [APPS_ROWS[3]], r"row 0: no `input_output`.*skip_rows_without_tests=true"),
]


@pytest.mark.parametrize(("preset", "rows", "message"), BAD_ROWS)
def test_a_bad_row_is_one_line_naming_the_file_split_and_row(tmp_path, preset, rows, message):
    data = write_jsonl(tmp_path / f"{preset}.jsonl", rows)
    task = task_from_preset(preset, data, "task.skip_rows_without_tests=false", "task.splits.test=test")
    with pytest.raises(UserError, match=message) as error:
        task.problems("test")
    assert "\n" not in str(error.value)


def test_a_file_without_a_field_its_layout_needs_names_the_field_and_the_fields_it_has(tmp_path):
    rows = [{k: v for k, v in row.items() if k != "test_list"} | {"tests": row["test_list"]} for row in MBPP_ROWS]
    task = task_from_preset("mbpp", write_jsonl(tmp_path / "mbpp.jsonl", rows))
    with pytest.raises(UserError, match=r"mbpp\.jsonl split 'train' has no field\(s\) \['test_list'\].*it has \["):
        task.problems("pool")


def test_a_prompt_template_with_a_field_the_layout_lacks_fails_when_the_task_is_built():
    with pytest.raises(UserError, match=r"task.prompt_template: unknown field \{starter_code\}.*may contain \{example_test\}"):
        build(config("task=mbpp").task, prompt_template="{question}\n{starter_code}")
