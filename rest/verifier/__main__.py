"""Audit answers from the command line: `python -m rest.verifier IN.jsonl OUT.jsonl`.

Each input line is a JSON object with `completion` (the model's text) and `reference` (plain, `$...$`
or boxed). Every row is written back in the same order, all its fields kept, with `extracted`,
`correct` and `status` (ok / no_answer / timeout / parse_error / error) added. A line that is not a JSON
object, or lacks a field, is reported with its line number on stderr and written as `status: "bad_row"`;
the rest are still judged, and the exit code is 1. OUT is written atomically once every row is judged.
The settings the options do not give are the run's (`verifier` in rest/conf/config.yaml).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from rest.artifacts import write_text
from rest.config import build, compose
from rest.errors import UserError
from rest.rows import Row, read_rows, report_bad_rows
from rest.verifier.answers import FALLBACKS
from rest.verifier.pool import Verifier

log = logging.getLogger("rest.verifier")
OPTIONS = ("timeout", "workers", "fallback", "rel_tol", "percent")
CHUNK = 2000  # rows judged per batch (progress is logged after each)


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s][%(name)s][%(levelname)s] - %(message)s")
    try:
        rows = read_rows(args.input, {"completion": (str,), "reference": (str, int, float)})
        verifier = _verifier(args)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    bad = report_bad_rows(rows)
    with verifier:
        for start in range(0, len(rows), CHUNK):
            _judge(verifier, rows[start : start + CHUNK])
            log.info("judged %d / %d rows", min(start + CHUNK, len(rows)), len(rows))
    write_text(Path(args.output), "".join(json.dumps(row.data, ensure_ascii=False) + "\n" for row in rows))
    correct = sum(row.data["correct"] for row in rows)
    log.info("%d rows: %d correct, %d bad rows; written to %s", len(rows), correct, bad, args.output)
    return 1 if bad else 0


def _judge(verifier: Verifier, rows: list[Row]) -> None:
    good = [row for row in rows if not row.problem]
    verdicts = verifier.verify([r.data["completion"] for r in good], [str(r.data["reference"]) for r in good])
    for row, verdict in zip(good, verdicts):
        row.data.update(extracted=verdict.extracted, correct=verdict.correct, status=verdict.status)
    for row in rows:
        if row.problem:
            row.data.update(extracted=None, correct=False, status="bad_row")


def _verifier(args: argparse.Namespace) -> Verifier:
    """The run's verifier settings (rest/conf/config.yaml), with the options given on the command line."""
    given = {name: getattr(args, name) for name in OPTIONS if getattr(args, name) is not None}
    if given.get("fallback") == "none":
        given["fallback"] = None
    return build(compose().verifier, **given)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m rest.verifier", description=__doc__.splitlines()[0])
    parser.add_argument("input", help="JSONL with `completion` and `reference` per row")
    parser.add_argument("output", help="JSONL to write (same rows, same order, plus the verdict)")
    parser.add_argument("--timeout", type=float, help="hard wall-clock limit per pair, seconds (default: the config's)")
    parser.add_argument("--workers", type=int, help="worker processes (default: the config's, one per core)")
    parser.add_argument("--fallback", choices=["none", *(f for f in FALLBACKS if f)], default=None,
                        help="a completion with no marked answer (boxed, 'final answer', ####, 'the answer is'): "
                             "none = no answer; last_number / last_expression (default: the config's)")
    parser.add_argument("--rel-tol", type=float, help="relative tolerance for numbers (default: the config's)")
    parser.add_argument("--percent", action="store_true", default=None, help="let 50%% also equal 0.5")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
