"""Plain numbers, exactly: the part of answer checking that needs no parser and runs in bounded time.

An integer, a decimal, `1,234`, `a/b`, `\\frac{a}{b}`, `0.\\overline{3}` or `m\\times10^{k}` is read as an exact `Fraction`;
anything else is None and left to sympy (rest/verifier/structure.py).
"""

from __future__ import annotations

import re
from fractions import Fraction

_MAX_QUICK_CHARS = 400  # plain numbers longer than this go to sympy (and so to the worker pool)


def close(x: Fraction, y: Fraction, rel_tol: float) -> bool:
    """Integers compare exactly (a count is right or wrong); other numbers within the relative tolerance."""
    if x.denominator == y.denominator == 1:
        return x == y
    return abs(x - y) <= Fraction(rel_tol) * max(abs(x), abs(y))


_INT = r"-?\d+"
_DEC = r"-?(?:\d+(?:\.\d*)?|\.\d+)"
_PLAIN = [
    (re.compile(rf"(?P<n>{_DEC})"), lambda m: Fraction(m["n"])),
    (re.compile(r"(?P<n>-?\d{1,3}(?:,\d{3})+(?:\.\d+)?)"), lambda m: Fraction(m["n"].replace(",", ""))),
    (re.compile(rf"(?P<a>{_INT})/(?P<b>\d+)"), lambda m: Fraction(int(m["a"]), int(m["b"]))),
    (re.compile(rf"(?P<s>-?)\\frac\{{(?P<a>{_INT})\}}\{{(?P<b>\d+)\}}"), lambda m: _signed(m, int(m["a"]), int(m["b"]))),
    (re.compile(r"(?P<s>-?)\\frac(?P<a>\d)(?P<b>\d)"), lambda m: _signed(m, int(m["a"]), int(m["b"]))),
    (re.compile(rf"(?P<m>{_DEC})\\(?:times|cdot)10\^(?:\{{(?P<e>-?\d{{1,4}})\}}|(?P<e1>\d))"),
     lambda m: Fraction(m["m"]) * Fraction(10) ** int(m["e"] or m["e1"])),
    (re.compile(r"(?P<s>-?)(?P<i>\d*)\.(?P<f>\d*)\\overline\{(?P<r>\d{1,20})\}"), lambda m: _signed(m, *_repeating(m))),
    (re.compile(r"(?P<s>-?)10\^(?:\{(?P<e>-?\d{1,4})\}|(?P<e1>\d))"),
     lambda m: _signed(m, Fraction(10) ** int(m["e"] or m["e1"]), 1)),
]


def plain_number(key: str) -> Fraction | None:
    """Exact value of a plain number (integer, decimal, 1,234, a/b, \\frac{a}{b}, m\\times10^{k});
    None for anything else, including a zero denominator.

    >>> plain_number("-1,234.5")
    Fraction(-2469, 2)
    >>> plain_number("x") is None
    True
    """
    if len(key) > _MAX_QUICK_CHARS:
        return None
    for pattern, value in _PLAIN:
        match = pattern.fullmatch(key)
        if match:
            try:
                return value(match)
            except ZeroDivisionError:
                return None
    return None


_COMMA_DECIMAL = re.compile(r"-?\d+,(?:\d{1,2}|\d{4,})")  # a comma before exactly three digits separates thousands
_DOT_THOUSANDS_COMMA_DECIMAL = re.compile(r"-?\d{1,3}(?:\.\d{3})+,\d+")


def comma_decimal(text: str) -> Fraction | None:
    """A number written with a decimal comma (`1,22`, `1000,99`, `1.000,99`), read only where a plain number is
    expected (the other side is one): `1,234` stays one thousand two hundred and thirty-four, and `1, 22` a list.

    >>> comma_decimal("1000,99")
    Fraction(100099, 100)
    >>> comma_decimal("1,234") is None
    True
    """
    if _COMMA_DECIMAL.fullmatch(text):
        return Fraction(text.replace(",", "."))
    if _DOT_THOUSANDS_COMMA_DECIMAL.fullmatch(text):
        return Fraction(text.replace(".", "").replace(",", "."))
    return None


def _repeating(match: re.Match) -> tuple[int, int]:
    """0.1\\overline{6} = (16 - 1) / 90: numerator and denominator of a repeating decimal."""
    fixed, repeat = match["i"] + match["f"], match["r"]
    return int(fixed + repeat) - int(fixed or "0"), 10 ** len(match["f"]) * (10 ** len(repeat) - 1)


def _signed(match: re.Match, numerator, denominator) -> Fraction:
    value = Fraction(numerator, denominator)
    return -value if match["s"] else value
