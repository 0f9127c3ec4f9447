"""Agreement with the labels of the verifier's case tables: rest.verifier against Math-Verify, class by class.

    .venv/bin/python bench/verifier_cases.py [--out bench/results/verifier_cases.json]

The cases are the tests' own, read from their parametrize marks, so this reports on exactly what the tests pin:
- tests/test_real_outputs.py: whole completions as strong models write them, one table per class;
- tests/test_equivalence_cases.py and test_equivalence_structures.py: extracted answer vs reference, one test per
  class; each answer is handed to both graders as the completion `\\boxed{answer}`; a case's own settings
  (`percent`, `rel_tol`) go to ours;
- tests/test_extraction.py: completions whose answer a test names; graded against that answer (all labels True;
  cases with no answer are left out). Cases with a `fallback` of their own are graded with it by ours.

rest.verifier runs with the configured settings (the CLI's: `fallback=last_expression`), in-process. Math-Verify
0.9.0 runs `verify(parse("$" + reference + "$"), parse(completion))`, its defaults, in the main thread. A case is
agreed on when the verdict equals the label. Prints a markdown table (cases, ours, Math-Verify per class) and
writes it with every disagreement to --out.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import logging
import sys
from collections import defaultdict
from pathlib import Path
from typing import NamedTuple

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
log = logging.getLogger("bench")
PARAM = type(pytest.param(None))  # a case written with pytest.param (all cases of the case tables are)


class Case(NamedTuple):
    group: str
    id: str
    completion: str
    reference: str
    label: bool
    settings: dict


def parametrized(module_name: str):
    """(test name, argnames, ParameterSet) for every parametrized case of a test module."""
    module = importlib.import_module(module_name)
    for name, function in inspect.getmembers(module, inspect.isfunction):
        for mark in getattr(function, "pytestmark", []):
            if name.startswith("test_") and mark.name == "parametrize":
                names = [n.strip() for n in mark.args[0].split(",")]
                yield from ((name, names, case) for case in mark.args[1] if isinstance(case, PARAM))


def cases() -> list[Case]:
    from test_real_outputs import TABLES

    out = [Case(f"real: {group}", c.id, *c.values, {}) for group, table in TABLES.items() for c in table]
    answer_tables = [*parametrized("test_equivalence_cases"), *parametrized("test_equivalence_structures")]
    for test, names, case in answer_tables:
        values = dict(zip(names, case.values))
        settings = {k: values[k] for k in ("percent", "rel_tol") if k in values}
        out.append(Case(f"old: {test}", case.id, f"\\boxed{{{values['predicted']}}}", values["reference"],
                        values["expected"], settings))
    for test, names, case in parametrized("test_extraction"):
        values = dict(zip(names, case.values))
        if "text" in names and values["expected"] is not None:
            settings = {"fallback": values["fallback"]} if "fallback" in values else {}
            out.append(Case(f"old: {test}", case.id, values["text"], values["expected"], True, settings))
    return out


def ours(all_cases: list[Case]) -> list[bool]:
    from rest.config import build, compose

    verdicts = []
    for case in all_cases:
        with build(compose().verifier, workers=0, **case.settings) as verifier:
            verdicts.append(verifier.verify([case.completion], [case.reference])[0].correct)
    return verdicts


def math_verify(all_cases: list[Case]) -> list[bool]:
    from math_verify import parse, verify

    return [bool(verify(parse("$" + case.reference + "$"), parse(case.completion))) for case in all_cases]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/verifier_cases.json")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    all_cases = cases()
    graders = {"rest.verifier": ours(all_cases), "math-verify": math_verify(all_cases)}
    table, misses = defaultdict(lambda: defaultdict(int)), defaultdict(list)
    for i, case in enumerate(all_cases):
        table[case.group]["cases"] += 1
        for grader, verdicts in graders.items():
            agreed = verdicts[i] == case.label
            table[case.group][grader] += agreed
            if not agreed:
                misses[grader].append({**case._asdict(), "verdict": verdicts[i]})
    rows = [(group, counts) for group, counts in sorted(table.items())]
    print("| class | cases | rest.verifier | math-verify |\n|---|---|---|---|")
    for group, counts in rows:
        print(f"| {group} | {counts['cases']} | {counts['rest.verifier']} | {counts['math-verify']} |")
    totals = {key: sum(counts[key] for _, counts in rows) for key in ("cases", *graders)}
    print(f"| **all** | {totals['cases']} | {totals['rest.verifier']} | {totals['math-verify']} |")
    behind = [group for group, counts in rows if counts["rest.verifier"] < counts["math-verify"]]
    print(f"\nclasses where rest.verifier is behind math-verify: {behind or 'none'}")
    args.out.write_text(json.dumps({"classes": {g: dict(c) for g, c in rows}, "totals": totals, "behind": behind,
                                    "disagreements": misses}, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
