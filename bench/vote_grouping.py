"""Majority vote's grouping of answers, before 0f59adb (normalised text) and now (`vote_key`: a plain number's value):
how much does the change move a finished run?

    .venv/bin/python bench/vote_grouping.py outputs/2026-12-06/14-16-32 [--out F.json]

Reported: how many answer lists (a problem's grown samples in one Grow, its k sampled answers in one Evaluate) the
two groupings split differently (what EAST's answer entropy sees), with the first few; and per iteration, maj@k
under each grouping (the majority answers judged by the run's verifier settings, in-process) beside eval.json's.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from datasets import load_from_disk
from omegaconf import OmegaConf

from rest.evaluate import majority_answer
from rest.verifier import Verifier
from rest.verifier.equivalence import normalize, vote_key

log = logging.getLogger("bench")
GROUPINGS: dict[str, Callable] = {"text": lambda answer: normalize(answer).key, "value": vote_key}


def partition(answers: list[str | None], key: Callable) -> list[list[int]]:
    groups = defaultdict(list)
    for i, answer in enumerate(answers):
        groups[key(answer) if answer is not None else ("no answer", i)].append(i)
    return sorted(groups.values())


def answer_lists(run: Path) -> list[list[str | None]]:
    lists = []
    for grown in sorted(run.glob("iter_*/grown")):
        by_problem = defaultdict(list)
        for row in load_from_disk(str(grown)).select_columns(["problem_id", "extracted"]).to_list():
            by_problem[row["problem_id"]].append(row["extracted"])
        lists += by_problem.values()
    for evaluated in sorted(run.glob("iter_*/eval_problems.jsonl")):
        lists += [json.loads(line)["sampled_extracted"] for line in evaluated.read_text().splitlines()]
    return lists


def maj_at_k(run: Path, verifier: Verifier) -> dict[str, dict]:
    found = {}
    for evaluated in sorted(run.glob("iter_*/eval_problems.jsonl")):
        rows = [json.loads(line) for line in evaluated.read_text().splitlines()]
        references = [row["reference"] for row in rows]
        picks = {name: [majority_answer(row["sampled_extracted"], key) for row in rows]
                 for name, key in GROUPINGS.items()}
        found[evaluated.parent.name] = {
            **{name: sum(v.correct for v in verifier.judge(chosen, references)) / len(rows)
               for name, chosen in picks.items()},
            "eval.json": json.loads((evaluated.parent / "eval.json").read_text())["maj@k"],
            "majority_answers_changed": sum(a != b for a, b in zip(picks["text"], picks["value"])),
            "problems": len(rows)}
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = OmegaConf.load(args.run / ".hydra" / "config.yaml").verifier
    lists = answer_lists(args.run)
    split = [answers for answers in lists if partition(answers, GROUPINGS["text"]) != partition(answers, vote_key)]
    with Verifier(timeout=settings.timeout, workers=0, fallback=settings.fallback, rel_tol=settings.rel_tol,
                  percent=settings.percent) as verifier:
        result = {"answer_lists": len(lists), "grouped_differently": len(split), "first": split[:5],
                  "maj@k": maj_at_k(args.run, verifier)}
    log.info("%d of %d answer lists grouped differently, e.g. %s", len(split), len(lists), split[:3])
    for iteration, row in result["maj@k"].items():
        log.info("%s: maj@k text %.3f, value %.3f, eval.json %.3f; majority answer changed on %d of %d problems",
                 iteration, row["text"], row["value"], row["eval.json"], row["majority_answers_changed"],
                 row["problems"])
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
