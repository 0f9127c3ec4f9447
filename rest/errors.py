"""The one exception type for bad user input: run.py prints it as a single line and exits non-zero."""


class UserError(Exception):
    """Bad input from the user (config, paths, data). The message must name the problem and the fix."""
