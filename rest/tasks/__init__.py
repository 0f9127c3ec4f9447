"""Tasks: where problems come from (the `Task` contract is in rest/contracts.py): arithmetic.py, the built-in
generated task; hf.py, any `datasets` source with a field map (GSM8K, MATH and local files are presets)."""

from rest.contracts import Task
from rest.errors import UserError, is_whole

SPLITS = ("seed", "pool", "test")


def checked_limits(limits) -> dict[str, int | None]:
    """`task.limits`: use only each split's first N problems (None: all), N a whole number >= 1.

    >>> checked_limits({"pool": 32, "test": None})
    {'pool': 32, 'test': None}
    """
    limits = dict(limits or {})
    for split, limit in limits.items():
        if limit is not None and not is_whole(limit, 1):
            raise UserError(f"task.limits.{split} must be a whole number >= 1 (its first N problems) or null (all), "
                            f"got {limit!r}")
    return limits


def problems_of(task: Task, split: str, purpose: str) -> list:
    """The split's problems; a UserError when it has none."""
    problems = task.problems(split)
    if not problems:
        raise UserError(f"the {split!r} split has no problems to {purpose} (check the task's sizes or limits, and "
                        "sampler.max_prompt_tokens)")
    return problems
