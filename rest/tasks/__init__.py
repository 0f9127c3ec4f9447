"""Tasks: where problems come from. Contract (see `Task`): problems(split) and prompt(problem)."""

from typing import Protocol

from rest.records import Problem

SPLITS = ("seed", "pool", "test")


class Task(Protocol):
    def problems(self, split: str) -> list[Problem]: ...

    def prompt(self, problem: Problem) -> str: ...
