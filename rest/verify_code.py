"""Judge programs from the command line: `python -m rest.verify_code IN.jsonl OUT.jsonl`.

Each input line is a JSON object with `completion` (the model's text: the program is its fenced Python block
that defines `entry_point`, else its last one, else the whole text) and `tests`: either a list of statements
such as `assert f(3) == 9` (optional fields `entry_point` and `setup`, code run before the tests) or
{"inputs": [...], "outputs": [...]} (the program reads each input on stdin and must print its output). Every row
is written back in the same order, all its fields kept, with `verdict` (pass / wrong_answer / runtime_error /
timeout / memory / syntax_error / no_code; null when the sandbox failed and the row could not be judged) and
`passed` (true / false) added. A line that is not a JSON object, lacks a field or has tests that cannot run is
reported with its line number on stderr and written with `verdict: "bad_row"`; the rest are still judged, and the
exit code is 1. OUT is written atomically once every row is judged. The settings the options do not give are the
run's (rest/conf/verifier/code_tests.yaml).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from rest.artifacts import write_text
from rest.code.tests import BadTests, CodeTests
from rest.code.verifier import CodeVerifier
from rest.config import build, compose
from rest.errors import UserError
from rest.rows import Row, read_rows, report_bad_rows

log = logging.getLogger("rest.verify_code")
LIMIT_OPTIONS = ("cpu_seconds", "wall_seconds", "memory_mb")
CHUNK = 500  # rows judged per batch (progress is logged after each)


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s][%(name)s][%(levelname)s] - %(message)s")
    try:
        rows = read_rows(args.input, {"completion": (str,)})
        verifier = _verifier(args)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    tests = {row.number: _row_tests(row) for row in rows if not row.problem}
    bad = report_bad_rows(rows)
    with verifier:
        for start in range(0, len(rows), CHUNK):
            _judge(verifier, rows[start : start + CHUNK], tests)
            log.info("judged %d / %d rows", min(start + CHUNK, len(rows)), len(rows))
    write_text(Path(args.output), "".join(json.dumps(row.data, ensure_ascii=False) + "\n" for row in rows))
    passed = sum(row.data["passed"] for row in rows)
    unjudged = sum(row.data["verdict"] is None for row in rows)
    log.info("%d rows: %d passed, %d bad rows, %d not judged (sandbox failure); written to %s",
             len(rows), passed, bad, unjudged, args.output)
    return 1 if bad else 0


def _row_tests(row: Row) -> CodeTests | None:
    """The row's tests; None (and `row.problem` set) when they cannot run."""
    setup = row.data.get("setup")
    if setup is not None and not isinstance(setup, str):
        row.problem = "`setup` is not a string"
        return None
    try:
        return CodeTests.parse(row.data.get("tests"), entry_point=row.data.get("entry_point"), setup=setup)
    except BadTests as err:
        row.problem = str(err)
        return None


def _judge(verifier: CodeVerifier, rows: list[Row], tests: dict[int, CodeTests | None]) -> None:
    good = [row for row in rows if not row.problem]
    verdicts = verifier.verify([row.data["completion"] for row in good], [tests[row.number].to_json() for row in good])
    for row, verdict in zip(good, verdicts):
        row.data.update(verdict=None if verdict.status == "error" else verdict.status, passed=verdict.correct)
    for row in rows:
        if row.problem:
            row.data.update(verdict="bad_row", passed=False)


def _verifier(args: argparse.Namespace) -> CodeVerifier:
    """The run's code verifier settings (rest/conf/verifier/code_tests.yaml), with the options given on the command line."""
    settings = compose(["verifier=code_tests"]).verifier
    limits = dict(settings.limits)
    limits.update({name: getattr(args, name) for name in LIMIT_OPTIONS if getattr(args, name) is not None})
    workers = settings.workers if args.workers is None else args.workers
    return build(settings, limits=limits, workers=workers)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m rest.verify_code", description=__doc__.splitlines()[0])
    parser.add_argument("input", help="JSONL with `completion` and `tests` per row")
    parser.add_argument("output", help="JSONL to write (same rows, same order, plus `verdict` and `passed`)")
    parser.add_argument("--workers", type=int, help="programs run at once (default: the config's, one per core)")
    parser.add_argument("--cpu-seconds", type=int, help="CPU limit of one run, seconds (default: the config's)")
    parser.add_argument("--wall-seconds", type=float,
                        help="wall-clock limit of one run, seconds (default: the config's)")
    parser.add_argument("--memory-mb", type=int, help="address-space limit of one run, MB (default: the config's)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
