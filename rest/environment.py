"""Environment variables that configure libraries (W&B, HF's callbacks) for this process and the ones it starts."""

from __future__ import annotations

import os


def export(values: dict[str, str | None]) -> dict[str, str | None]:
    """Sets `values` in os.environ (None: unset); returns what they replaced, in the same form, to restore it.

    >>> replaced = export({"REST_DOCTEST": "1"})
    >>> os.environ["REST_DOCTEST"], export(replaced), "REST_DOCTEST" in os.environ
    ('1', {'REST_DOCTEST': '1'}, False)
    """
    replaced = {name: os.environ.get(name) for name in values}
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    return replaced
