"""Choosing the iteration: a validation split scored every iteration, the best iteration by its greedy pass@1,
early stopping when it stops improving, and the run's `best` pointer. Held-out test metrics are never read here.

The validation split is either a split of the task (a dataset's own, e.g. `validation`) or carved off the end of
the grow split (`pool`): those problems are then never grown or trained on (`CarvedTask`).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from rest.artifacts import inside, write_json
from rest.contracts import Task
from rest.errors import UserError, is_number, is_whole
from rest.records import Problem

log = logging.getLogger(__name__)
VALIDATION = "validation"  # the name a carved validation split goes by
METRIC = "val_pass@1"  # what chooses the best iteration


@dataclass(frozen=True)
class EarlyStop:
    """End the loop once `patience` iterations in a row did not beat the best validation pass@1 by more than
    `min_delta`; `patience` None: never stop early."""

    patience: int | None
    min_delta: float


@dataclass(frozen=True)
class Validation:
    """The loop's `mode.validation`: `split` None (no validation), the grow split's name (carve `size` problems
    off its end) or another split of the task; `early_stop` as in EarlyStop."""

    split: str | None
    size: int
    early_stop: EarlyStop

    @classmethod
    def from_config(cls, node: dict) -> Validation:
        return cls(split=node["split"], size=node["size"], early_stop=EarlyStop(**node["early_stop"]))

    def error(self, grow_split: str, eval_split: str) -> str | None:
        """What is wrong with these settings before any work, in one line (None: nothing)."""
        patience = self.early_stop.patience
        if patience is not None and self.split is None:
            return ("mode.validation.early_stop needs a validation split to watch: set mode.validation.split "
                    f"(e.g. mode.validation.split={grow_split}, which carves mode.validation.size problems off it)")
        if patience is not None and not is_whole(patience, 1):
            return f"mode.validation.early_stop.patience must be a whole number >= 1 (or null: off), got {patience!r}"
        if not is_number(self.early_stop.min_delta) or self.early_stop.min_delta < 0:
            return ("mode.validation.early_stop.min_delta must be a number >= 0 (the gain over the best that counts "
                    f"as better), got {self.early_stop.min_delta!r}")
        if self.split is not None and self.split == eval_split:
            return (f"mode.validation.split is the held-out split {eval_split!r}: choosing the iteration on it would "
                    "leak the test set into the choice; carve one off the pool (mode.validation.split=pool)")
        if self.split == grow_split and not is_whole(self.size, 1):
            return (f"mode.validation.size must be a whole number >= 1 to carve a validation split off {grow_split}, "
                    f"got {self.size!r}")
        return None

    def task(self, task: Task, grow_split: str) -> Task:
        """The task the loop runs on: with the validation split carved off the grow split when it is named."""
        return CarvedTask(task, grow_split, self.size) if self.split == grow_split else task

    def split_name(self, grow_split: str) -> str | None:
        return VALIDATION if self.split == grow_split else self.split


class CarvedTask:
    """`task` whose split `source` loses its last `size` problems, which become the split `validation`."""

    def __init__(self, task: Task, source: str, size: int):
        self.inner, self.source, self.size = task, source, size
        self.answer_fallback, self.step_delimiter = task.answer_fallback, task.step_delimiter

    def problems(self, split: str) -> list[Problem]:
        if split not in (VALIDATION, self.source):
            return self.inner.problems(split)
        problems = self.inner.problems(self.source)
        if len(problems) <= self.size:
            raise UserError(f"mode.validation.size={self.size} would take all {len(problems)} problems of "
                            f"{self.source}; use a smaller size")
        return problems[-self.size :] if split == VALIDATION else problems[: -self.size]

    def prompt(self, problem: Problem) -> str:
        return self.inner.prompt(problem)


def check_disjoint(validation: list[Problem], test: list[Problem]) -> None:
    """A validation problem that is also a test problem (same question) would let the test set choose."""
    shared = {p.question for p in validation} & {p.question for p in test}
    if shared:
        example = next(iter(shared))
        raise UserError(f"the validation split shares {len(shared)} question(s) with the held-out split, e.g. "
                        f"{example[:60]!r}; choose a validation split disjoint from it")


def best_iteration(metrics: list[dict], min_delta: float = 0.0) -> int | None:
    """The last iteration whose validation pass@1 beat the best before it by more than `min_delta` (the first
    validated iteration counts as such; None when none was validated)."""
    best = None
    for row in metrics:
        value = row.get(METRIC)
        if value is not None and (best is None or value > best[1] + min_delta):
            best = (row["iteration"], value)
    return best and best[0]


def should_stop(metrics: list[dict], early_stop: EarlyStop) -> bool:
    """True once `patience` validated iterations in a row came after the best one without beating it."""
    best = best_iteration(metrics, early_stop.min_delta)
    if early_stop.patience is None or best is None:
        return False
    since = [row for row in metrics if row["iteration"] > best and row.get(METRIC) is not None]
    return len(since) >= early_stop.patience


def mark_best(metrics: list[dict], run_dir: Path, min_delta: float) -> None:
    """`best: true` on the best row of metrics.jsonl (false elsewhere), and the run's pointer: best.json naming the
    iteration and its checkpoint, and a symlink `best` to it where the filesystem allows and the checkpoint is a path
    (relative when it is the run's own, so that the link survives moving the run directory; none for a hub name)."""
    best = best_iteration(metrics, min_delta)
    if best is None:
        return
    for row in metrics:
        row["best"] = row["iteration"] == best
    chosen = next(row for row in metrics if row["iteration"] == best)
    write_json(run_dir / "best.json", {"iteration": best, "policy": chosen["policy"], METRIC: chosen[METRIC]})
    _link_best(run_dir, chosen["policy"])


def _link_best(run_dir: Path, policy: str) -> None:
    """`best` -> `policy` when it is a path that exists; else (a hub name, such as the base model's when iteration 0
    is the best) no link, and none left from an earlier best: best.json names it."""
    link, tmp = run_dir / "best", run_dir / "best.link.tmp"
    try:
        tmp.unlink(missing_ok=True)
        if not Path(policy).exists():
            link.unlink(missing_ok=True)
            log.info("no `best` symlink: %s is not a path here (a hub name?); best.json names it", policy)
            return
        tmp.symlink_to(inside(str(Path(policy).resolve()), run_dir), target_is_directory=True)
        os.replace(tmp, link)
    except OSError as err:  # a filesystem without symlinks: best.json still names the checkpoint
        log.info("no `best` symlink (%s); best.json names the checkpoint", err)
