"""The one exception type for bad user input: run.py prints it as a single line and exits non-zero."""


class UserError(Exception):
    """Bad input from the user (config, paths, data). The message must name the problem and the fix."""


def is_whole(value, least: int) -> bool:
    """A whole number >= `least` (not a bool, not 2.0): what counts, sizes and limits in a config must be."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


def is_number(value) -> bool:
    """An int or a float, not a bool."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def first_line(err: BaseException) -> str:
    """The first line of an exception's message (its type's name when it has none)."""
    return (str(err).strip() or type(err).__name__).splitlines()[0]
