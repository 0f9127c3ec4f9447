"""User-written `str.format` templates (a task's `prompt_template`, Retry's questions, the tiny model's hint): the
fields they must and may contain, checked before any work, so that a template that would drop the question or
fail with a KeyError at Grow is one line instead."""

from __future__ import annotations

import string

from rest.errors import UserError


def check_template(template: str, key: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> None:
    """One UserError line when `template` has bad braces, lacks a `required` field or has one it cannot be filled
    with (`key`: the setting's name, e.g. task.prompt_template)."""
    if not isinstance(template, str):
        raise UserError(f"{key} must be text (a template with {' and '.join(f'{{{f}}}' for f in required)}), got "
                        f"{template!r}")
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as err:
        raise UserError(f"{key}: {err} (write a literal brace as {{{{ or }}}})") from None
    missing, unknown = [f for f in required if f not in fields], sorted(fields - {*required, *optional})
    if missing or unknown:
        what = f"missing {{{missing[0]}}}" if missing else f"unknown field {{{unknown[0]}}}"
        names = " and ".join(f"{{{f}}}" for f in required)
        extra = f", may contain {', '.join(f'{{{f}}}' for f in optional)}" if optional else ""
        raise UserError(f"{key}: {what} (it must contain {names}{extra}; write a literal brace as {{{{)")
