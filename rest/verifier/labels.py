"""Labelled answers and chained equalities: the values an answer states, without its labels.

`AB=4, CD=5` states `4, 5`; `(p,q)=(3,2)` states `(3,2)`; `S_{MBCN}:S=7:32` states `7:32`; `x = 5+5+1 = 7 = 11`
states `11` (the last side of a chain); `(x, y) = (5, 8), (8, 5)` states `(5, 8), (8, 5)`. A label is the left
side of an `=` with no digit outside its subscripts and arguments (a name, `f(2)`, a product or tuple of names, a ratio of areas);
a left side of numbers only (`5+5+1 = 11`) also states its last side. Any other equation (`2x + 4y = 3`,
`y = 2x + 1` against another equation) is not a labelled value: equivalence.py compares it as an equation.

>>> stated_values("AB=4,CD=5")
'4, 5'
>>> stated_values("2x + 4y = 3") is None
True
"""

from __future__ import annotations

import re

_SUBSCRIPT = re.compile(r"_(?:\{[^{}]*\}|\w)|(?<=[A-Za-z])\([^()]*\)")  # also f(2): an argument, not a value
_COMMAND = re.compile(r"\\[A-Za-z]+")
_RELATION = re.compile(r"[<>≤≥≠]|\\(?:le|ge|leq|geq|neq|ne|lt|gt)\b")
_OPEN, _CLOSE = "([{", ")]}"


def stated_values(answer: str) -> str | None:
    """The answer with each labelled part replaced by its value; None when no part is labelled or chained."""
    if _RELATION.search(answer):
        return None
    parts = split_top_level(answer, ",;")
    values = [_value(part) for part in parts]
    if all(value is None for value in values):
        return None
    return ", ".join(value if value is not None else part.strip() for value, part in zip(values, parts))


def has_equation(answer: str) -> bool:
    """True if some top-level part of the answer is an equation or an inequality."""
    return bool(_RELATION.search(answer)) or any(len(split_top_level(part, "=")) > 1
                                                 for part in split_top_level(answer, ",;"))


def split_top_level(text: str, separators: str) -> list[str]:
    """`text` split at the separator characters that are outside all brackets (`[1,2)` counts as one bracket)."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char in _OPEN:
            depth += 1
        elif char in _CLOSE:
            depth = max(0, depth - 1)
        elif char in separators and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _value(part: str) -> str | None:
    sides = split_top_level(part, "=")
    if len(sides) < 2 or not sides[-1].strip():
        return None
    if len(sides) > 2 or _is_label(sides[0]) or _is_number_expression(sides[0]):
        return sides[-1].strip()
    return None


def _is_label(side: str) -> bool:
    bare = _COMMAND.sub(" ", _SUBSCRIPT.sub("", side))
    return bool(re.search(r"[A-Za-z]", bare)) and not re.search(r"\d", bare)


def _is_number_expression(side: str) -> bool:
    bare = _COMMAND.sub(" ", side)
    return bool(re.search(r"\d", bare)) and not re.search(r"[A-Za-z]", bare)
