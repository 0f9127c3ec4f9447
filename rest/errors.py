"""The one exception type for bad user input: the command line (rest/cli.py) prints it as a single line and exits
non-zero; and what it reads off other exceptions to say them in one line."""

import errno
import os


class UserError(Exception):
    """Bad input from the user (config, paths, data). The message must name the problem and the fix."""


class OtherProcessesFailed(RuntimeError):
    """Work run in other processes (Train's process group) failed. The message names their log and what they raised
    there; a traceback of the process that waited would say nothing more, so the command line prints one line."""


def is_whole(value, least: int) -> bool:
    """A whole number >= `least` (not a bool, not 2.0): what counts, sizes and limits in a config must be."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


def is_number(value) -> bool:
    """An int or a float, not a bool."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def first_line(err: BaseException) -> str:
    """The first line of an exception's message (its type's name when it has none)."""
    return (str(err).strip() or type(err).__name__).splitlines()[0]


def chain(err: BaseException | None):
    """`err` and the errors it was raised from or during, in turn."""
    while err is not None:
        yield err
        err = err.__cause__ or err.__context__


OUT_OF_SPACE = (errno.ENOSPC, errno.EDQUOT)


def out_of_space(err: BaseException) -> bool:
    """A write failed for want of space (a full disk, a quota) anywhere in `err`'s chain: an OSError saying so, or
    a library's own error that carries the system's words (safetensors: "No space left on device (os error 28)")."""
    words = [os.strerror(code) for code in OUT_OF_SPACE]
    return any((isinstance(link, OSError) and link.errno in OUT_OF_SPACE) or any(w in str(link) for w in words)
               for link in chain(err))
