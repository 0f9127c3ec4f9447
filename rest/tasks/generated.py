"""What the generated tasks (arithmetic.py, functions.py) share: three splits made test first, each question
unique across them, deterministic for a seed; `limits` trims a split without changing what was generated."""

from __future__ import annotations

import random
from collections.abc import Callable

from rest.errors import UserError
from rest.records import Problem
from rest.tasks import SPLITS

# (rng, questions seen so far, problem id) -> a problem whose question is not in `seen` (and is added to it)
UniqueProblem = Callable[[random.Random, set[str], str], Problem]


def generate_splits(sizes: dict[str, int], seed: int, unique_problem: UniqueProblem) -> dict[str, list[Problem]]:
    missing = set(SPLITS) - set(sizes)
    if missing:
        raise UserError(f"task.sizes: missing split(s) {sorted(missing)}")
    seen: set[str] = set()
    splits = {}
    for split in ("test", "seed", "pool"):  # test first: its questions never depend on the other sizes
        rng = random.Random(f"{seed}-{split}")
        splits[split] = [unique_problem(rng, seen, f"{split}-{i}") for i in range(sizes[split])]
    return {split: splits[split] for split in SPLITS}


def split_problems(splits: dict[str, list[Problem]], split: str, limits: dict[str, int | None], task: str
                   ) -> list[Problem]:
    if split not in splits:
        raise UserError(f"unknown split {split!r}; the {task} task has {list(splits)}")
    return splits[split][: limits.get(split)]
