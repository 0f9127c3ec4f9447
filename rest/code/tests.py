"""A code problem's hidden tests, in one of two styles, and their text form (a problem's `answer`, a sample's
`reference`: JSON, so they travel with the samples through every stage and dataset on disk).

- **asserts** (MBPP, HumanEval): statements run against the program, e.g. `assert f(3) == 9`, after an optional
  `setup` (imports, helpers); `entry_point` names the function the program must define (extraction prefers the
  fenced block that defines it).
- **stdio** (APPS, Codeforces): the program reads `inputs[i]` on stdin and must print `outputs[i]`.

>>> CodeTests.parse(["assert f(2) == 4"], entry_point="f").style
'asserts'
>>> CodeTests.from_json(CodeTests.parse({"inputs": ["2\\n"], "outputs": ["4"]}).to_json()).outputs
('4',)
"""

from __future__ import annotations

import ast
import json
from dataclasses import asdict, dataclass


class BadTests(ValueError):
    """Tests that cannot be run: the message is one line naming what is wrong."""


@dataclass(frozen=True)
class CodeTests:
    asserts: tuple[str, ...] = ()
    entry_point: str | None = None
    setup: str = ""
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()

    @property
    def style(self) -> str:
        return "asserts" if self.asserts else "stdio"

    def __len__(self) -> int:
        return len(self.asserts) or len(self.inputs)

    def to_json(self) -> str:
        return json.dumps({k: v for k, v in asdict(self).items() if v}, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> CodeTests:
        """The inverse of `to_json` (raises BadTests for text that is not a tests object)."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise BadTests(f"tests are not JSON ({err.msg})") from None
        if not isinstance(data, dict):
            raise BadTests("tests are not a JSON object")
        tests = data.get("asserts") or {k: data[k] for k in ("inputs", "outputs") if k in data}
        return cls.parse(tests, entry_point=data.get("entry_point"), setup=data.get("setup", ""))

    @classmethod
    def parse(cls, tests: list | dict, entry_point: str | None = None, setup: str | None = "") -> CodeTests:
        """From a row's `tests`: a list of statements, or {"inputs": [...], "outputs": [...]}. Checked here, so
        that a problem without tests or with a test that is not Python fails before any sampling."""
        setup = setup or ""
        if isinstance(tests, dict):
            return cls._stdio(tests, entry_point, setup)
        if not isinstance(tests, list | tuple) or not tests:
            raise BadTests("no tests: give a list of assert statements or {inputs: [...], outputs: [...]}")
        if not all(isinstance(t, str) and t.strip() for t in tests):
            raise BadTests("every assert test must be a non-empty string of Python")
        for text in (setup, *tests):
            _check_python(text)
        if entry_point is not None and not (isinstance(entry_point, str) and entry_point.isidentifier()):
            raise BadTests(f"entry_point {entry_point!r} is not a Python name")
        return cls(asserts=tuple(tests), entry_point=entry_point, setup=setup)

    @classmethod
    def _stdio(cls, tests: dict, entry_point: str | None, setup: str) -> CodeTests:
        inputs, outputs = tests.get("inputs"), tests.get("outputs")
        if not isinstance(inputs, list | tuple) or not isinstance(outputs, list | tuple) or not inputs:
            raise BadTests("stdin/stdout tests need non-empty lists `inputs` and `outputs`")
        if len(inputs) != len(outputs):
            raise BadTests(f"{len(inputs)} inputs but {len(outputs)} outputs")
        if not all(isinstance(x, str) for x in (*inputs, *outputs)):
            raise BadTests("every input and output must be a string")
        return cls(inputs=tuple(inputs), outputs=tuple(outputs), entry_point=entry_point, setup=setup)


def _check_python(text: str) -> None:
    try:
        ast.parse(text)
    except SyntaxError as err:
        first = text.strip().splitlines()[0] if text.strip() else text
        raise BadTests(f"test is not valid Python ({err.msg}): {first[:80]!r}") from None
