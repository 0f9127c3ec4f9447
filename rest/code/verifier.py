"""The code verifier: a completion is correct when the program extracted from it passes every test of its problem.

The run's judge for code tasks (rest/conf/verifier/code_tests.yaml), with the exact-answer Verifier's shape: references
are the problems' tests as `CodeTests.to_json()` text. Each distinct (program, tests) pair runs once per call, in a
sandboxed subprocess (rest/code/sandbox.py); `workers` threads wait on those subprocesses in parallel. Outcomes are
also kept in a bounded in-memory cache across calls (a sandbox failure is not cached: it is retried).
A sandbox failure is "cannot judge": status "error", not correct, counted in a warning.

>>> with CodeVerifier(limits=dict(cpu_seconds=2, wall_seconds=4, memory_mb=512, file_mb=16, open_files=64,
...                                processes=32, output_bytes=65536), workers=1) as verifier:
...     tests = CodeTests.parse(["assert f(2) == 4"], entry_point="f").to_json()
...     [v.status for v in verifier.verify(["```python\\ndef f(x):\\n    return x * x\\n```", "no code"], [tests] * 2)]
['pass', 'syntax_error']
"""

from __future__ import annotations

import functools
import logging
import os
from collections import Counter, OrderedDict
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields
from itertools import repeat
from types import EllipsisType

from rest.code.asserts import judge_asserts
from rest.code.extract import extract_code
from rest.code.judge import Outcome, stdio_outcome
from rest.code.sandbox import Limits
from rest.code.tests import BadTests, CodeTests
from rest.errors import UserError, is_whole
from rest.verifier.pool import Verdict

log = logging.getLogger(__name__)
CACHE_SIZE = 8192  # outcomes kept across calls (programs repeat within a Grow's samples and across evaluations)


def judge_tests(code: str | None, tests: CodeTests, limits: Limits, every: bool = False) -> Outcome:
    """`code` on `tests`, in the sandbox, whichever their style."""
    if tests.style == "asserts":
        return judge_asserts(code, tests, limits, every=every)
    return stdio_outcome(code, list(tests.inputs), list(tests.outputs), limits, every=every)


class CodeVerifier:
    """`verify(completions, references)` extracts and judges; `judge(programs, references)` only judges;
    `outcomes(completions, references)` runs every test, for pass fractions.

    Settings (meaning: rest/conf/verifier/code_tests.yaml): `limits` of one sandboxed run, `workers` runs at once
    (None: one per core).
    """

    def __init__(self, *, limits: Mapping | Limits, workers: int | None):
        self.limits = make_limits(limits)
        if workers is not None and not is_whole(workers, 1):
            raise UserError(f"verifier.workers must be >= 1 or null (one per core), got {workers!r}")
        self.workers = len(os.sched_getaffinity(0)) if workers is None else workers
        self._pool: ThreadPoolExecutor | None = None
        self._cache: OrderedDict[tuple[str | None, str, bool], Outcome] = OrderedDict()

    def verify(self, completions: list[str], references: list[str], fallback: object | EllipsisType = ...
               ) -> list[Verdict]:
        """Extracts each completion's program (the fenced block defining the tests' entry point) and judges it.
        `fallback` (the math verifier's answer reading) does not apply to code and is ignored."""
        return self.judge(self._extract(completions, references), references)

    def judge(self, programs: list[str | None], references: list[str]) -> list[Verdict]:
        """Judges programs already extracted (None: the completion had none, verdict no_code)."""
        outcomes = self._run(programs, references, every=False)
        return [Verdict(program, outcome.verdict == "pass", outcome.verdict or "error")
                for program, outcome in zip(programs, outcomes)]

    def outcomes(self, completions: list[str], references: list[str]) -> list[Outcome]:
        """Every test of every problem run (`passed / total`: a pass fraction; verdict None: cannot judge)."""
        return self._run(self._extract(completions, references), references, every=True)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def __enter__(self) -> CodeVerifier:  # noqa: PYI034  (typing.Self is 3.11+; we support 3.10)
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _extract(self, completions: list[str], references: list[str]) -> list[str | None]:
        tests = parse_references(references)
        return [extract_code(text, tests[ref].entry_point) for text, ref in zip(completions, references, strict=True)]

    def _run(self, programs: list[str | None], references: list[str], every: bool) -> list[Outcome]:
        """Each distinct (program, tests) pair judged once, in parallel; cached outcomes are not rerun."""
        if len(programs) != len(references):
            raise ValueError(f"{len(programs)} programs but {len(references)} references")
        if not programs:
            return []
        tests = parse_references(references)
        keys = [(program, reference, every) for program, reference in zip(programs, references)]
        todo = [key for key in dict.fromkeys(keys) if key not in self._cache]
        runs = self._get_pool().map(judge_tests, [program for program, _, _ in todo],
                                    [tests[reference] for _, reference, _ in todo], repeat(self.limits), repeat(every))
        judged = dict(zip(todo, runs))
        outcomes = [judged[key] if key in judged else self._cache[key] for key in keys]
        self._remember(judged)
        counts = Counter(outcome.verdict for outcome in outcomes)
        log.info("code verifier: %d programs (%d run), verdicts %s", len(keys), len(todo),
                 dict(sorted((str(verdict), n) for verdict, n in counts.items())))
        if counts[None]:
            log.warning("code verifier: %d of %d programs could not be judged (the sandbox failed): status 'error'",
                        counts[None], len(keys))
        return outcomes

    def _remember(self, judged: dict[tuple[str | None, str, bool], Outcome]) -> None:
        for key, outcome in judged.items():
            if outcome.verdict is not None:
                self._cache[key] = outcome
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)

    def _get_pool(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="code-verifier")
        return self._pool


def parse_references(references: list[str]) -> dict[str, CodeTests]:
    """Each distinct reference read as tests; one that is not raises UserError (tasks check tests before sampling)."""
    parsed = {}
    for index, reference in enumerate(references):
        if reference not in parsed:
            try:
                parsed[reference] = read_tests(reference)
            except BadTests as err:
                raise UserError(f"code verifier: reference {index} is not a problem's tests ({err}): "
                                f"{str(reference)[:80]!r}") from None
    return parsed


@functools.lru_cache(maxsize=8192)  # each problem's tests are read (and their Python checked) once per run
def read_tests(reference: str) -> CodeTests:
    return CodeTests.from_json(reference)


def make_limits(limits: Mapping | Limits) -> Limits:
    """Limits from the config's `verifier.limits`, every field present and positive (else one UserError line)."""
    if isinstance(limits, Limits):
        values = {f.name: getattr(limits, f.name) for f in fields(Limits)}
    else:
        values = dict(limits.items())
    names = [f.name for f in fields(Limits)]
    if sorted(values) != sorted(names):
        raise UserError(f"verifier.limits must have exactly {', '.join(names)}; got {', '.join(sorted(values))}")
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise UserError(f"verifier.limits.{name} must be a positive number, got {value!r}")
        if name != "wall_seconds" and value != int(value):
            raise UserError(f"verifier.limits.{name} must be a whole number, got {value!r}")
    return Limits(**{name: value if name == "wall_seconds" else int(value) for name, value in values.items()})
