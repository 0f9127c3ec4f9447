"""Is a predicted final answer equivalent to the reference? The judging half of the exact-answer verifier.

Order of checks: the same text after light normalisation; then plain numbers compared as exact
rationals; then both sides parsed to sympy by latex2sympy2_extended (LaTeX, plain text, intervals,
sets, tuples, matrices, equations, `\\pm`) and compared structurally (rest/verifier/structure.py).

Integers compare exactly. Other numbers are equal when |a - b| <= rel_tol * max(|a|, |b|): a relative
tolerance only, so 10^{-20} and 10^{-21} differ. A `%` sign is dropped (50\\% equals 50); with `percent=True` a side with a `%` sign may
also equal a hundredth of its value (50\\% equals 0.5). Numbers without a `%` sign are never rescaled:
0.5 is not 50. This module has no time limit: a hostile answer such as 2003^{2002^{2001}} can run sympy
for ever, so untrusted pairs go through rest/verifier.py, which runs this in killable worker processes.

>>> equivalent("0.50", "\\\\frac{1}{2}", rel_tol=1e-9, percent=False)
True
>>> equivalent("[1,2)", "(1,2]", rel_tol=1e-9, percent=False)
False
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

from rest.verifier.labels import has_equation, split_top_level, stated_values
from rest.verifier.numbers import close, comma_decimal, plain_number


class ParseError(ValueError):
    """An answer that is neither the same text as the other side nor parseable as math."""


@dataclass(frozen=True)
class Answer:
    text: str  # cleaned LaTeX, handed to the parser
    key: str  # text with `\text{}` unwrapped and whitespace removed (not between digits): for the string match
    percent: bool  # it ended in a `%` sign


def equivalent(predicted: str, reference: str, *, rel_tol: float, percent: bool) -> bool:
    """True if `predicted` states the same answer as `reference`. Raises ParseError if it cannot tell.

    Each reading of the pair (as written; without the labels of a labelled side, see labels.py) is tried."""
    pairs = readings(normalize(predicted), normalize(reference))
    quick = [_quick(a, b, rel_tol, percent) for a, b in pairs]
    if True in quick:
        return True
    errors = []
    for (a, b), verdict in zip(pairs, quick):
        if verdict is None:
            try:
                if _same_parsed(a, b, rel_tol, percent):
                    return True
            except ParseError as err:
                errors.append(err)
    if errors and len(errors) == quick.count(None) == len(pairs):
        raise errors[0]
    return False


def quick_equivalent(predicted: str, reference: str, *, rel_tol: float, percent: bool) -> bool | None:
    """The verdict when string matching or plain-number arithmetic settles it (in microseconds, with
    bounded work, so it is safe without a time limit); None when sympy is needed."""
    quick = [_quick(a, b, rel_tol, percent) for a, b in readings(normalize(predicted), normalize(reference))]
    if True in quick:
        return True
    return None if None in quick else False


def readings(a: Answer, b: Answer) -> list[tuple[Answer, Answer]]:
    """The pair as written; then, when one side is labelled and the other is not an equation, that side's values
    (as a list, and as a tuple when the other side is one: `a=2, b=3` against `(2, 3)`)."""
    pairs = [(a, b)]
    for labelled, other, first in ((a, b, True), (b, a, False)):
        values = stated_values(labelled.text)
        if values is not None and not has_equation(other.text):
            shapes = [values, f"({values})"] if other.text.startswith("(") else [values]
            pairs += [(normalize(v), other) if first else (other, normalize(v)) for v in shapes]
    return pairs


def _quick(a: Answer, b: Answer, rel_tol: float, percent: bool) -> bool | None:
    if a.key == b.key:
        return True
    x, y = plain_number(a.key), plain_number(b.key)
    if x is not None and y is None:
        y = comma_decimal(b.text)
    if y is not None and x is None:
        x = comma_decimal(a.text)
    if x is None or y is None:
        return None
    xs = [x, x / 100] if percent and a.percent else [x]
    ys = [y, y / 100] if percent and b.percent else [y]
    return any(close(u, v, rel_tol) for u in xs for v in ys)


def _same_parsed(a: Answer, b: Answer, rel_tol: float, percent: bool) -> bool:
    from rest.verifier.structure import same, scaled  # sympy is imported only where it is needed

    x, y = parse_answer(a.text), parse_answer(b.text)
    xs = [x, scaled(x, Fraction(1, 100))] if percent and a.percent else [x]
    ys = [y, scaled(y, Fraction(1, 100))] if percent and b.percent else [y]
    return any(same(u, v, rel_tol) for u in xs for v in ys if u is not None and v is not None)


_DROP = re.compile(r"\\[!,;:>]|\\q?quad|\\left|\\right|\\displaystyle|~|\^\{?\\circ\}?|°|\\\$|\\mathrm\{\s*\}")
_FRAC = re.compile(r"\\[dt]frac")
_BOLD = re.compile(r"\\(?:mathbf|boldsymbol|bm)\{([^{}]*)\}")
_EMPTY = re.compile(r"\\varnothing|\\\{\s*\\\}")
_TEXT = re.compile(r"\\(?:text|textbf|mathrm|mbox|operatorname)\{([^{}]*)\}")
_SCI = re.compile(r"(?<![\w\\.])(\d+(?:\.\d+)?)[eE]([-+]?\d+)(?![\w.])")
_PERCENT = re.compile(r"\s*(?:\\?%|\\text\{\s*(?:\\?%|percent|per ?cent|pct)\s*\}|(?<![A-Za-z])(?:percent|per ?cent|pct))$",
                      re.IGNORECASE)
_AND = re.compile(r"\s*(?:\\text\{\s*(?:and|or)\s*\}|(?<![A-Za-z\\])(?:and|or)(?![A-Za-z]))\s*")
_SPACED_THOUSANDS = re.compile(r"(?<![\d.])\d{1,3}(?:\s\d{3})+(?!\d)")  # `1 000 000`
_SPACE_NOT_BETWEEN_DIGITS = re.compile(r"(?<!\d)\s+|\s+(?!\d)")
_SPACE_BETWEEN_DIGITS = re.compile(r"\s+")
_CURRENCY = re.compile(r"^(?:[$€£¥]|\\euro|\\pounds)\s*|\s*(?:[$€£¥]|\\euro|\\pounds)$")
_UNITS = frozenset(re.split(r"\s+", """
    m cm mm km g kg mg s ms min h hr hrs l ml in ft yd mi mph lb lbs oz cent cents dollar dollars euro euros usd eur
    meter meters metre metres second seconds minute minutes hour hours day days week weeks year years inch inches
    foot feet mile miles pound pounds gram grams kilogram kilograms liter liters litre litres""".strip()))
_NUMBER_UNIT = re.compile(r"(?P<n>-?[\d.,]*\d)(?:\s+(?:\\text\{\s*)?(?P<w>[A-Za-z]+)\}?|\s*(?P<p>[A-Za-z]{1,2}(?:²|³|\^\{?[23]\}?)))")


def normalize(answer: str) -> Answer:
    text = str(answer).strip()
    while len(text) > 1 and text[0] == text[-1] == "$":
        text = text[1:-1].strip()
    text = _FRAC.sub(r"\\frac", _DROP.sub(" ", text)).strip()
    text = _EMPTY.sub(r"\\emptyset", _BOLD.sub(r"\1", text))
    whole_text = _TEXT.fullmatch(text)
    text = whole_text[1].strip() if whole_text else text
    text = re.sub(r"\s+", " ", text).rstrip(".").strip()
    text = _AND.sub(", ", text)
    text, n_percent = _PERCENT.subn("", text)
    text = _without_unit(_CURRENCY.sub("", text))
    text = _SCI.sub(r"\1\\times10^{\2}", text)
    return Answer(text=text, key=_key(_TEXT.sub(r"\1", text)), percent=bool(n_percent))


def _key(text: str) -> str:
    """The text for the string match: thousands separators (`1 000 000`) closed up, other whitespace removed
    except between two digits, so that `2 1/2` stays apart from `21/2` and `1 2` from `12`."""
    text = _SPACED_THOUSANDS.sub(lambda match: re.sub(r"\s", "", match[0]), text)
    return _SPACE_BETWEEN_DIGITS.sub(" ", _SPACE_NOT_BETWEEN_DIGITS.sub("", text))


def vote_key(answer: str) -> str | Fraction:
    r"""What a majority vote groups an answer by: a plain number's exact value (`12`, `12.0`, `1,000`, `1/2`,
    `\frac{1}{2}` and `0.5` each count as one number), otherwise the normalised text (`x+1` and `1+x` stay two).

    >>> [vote_key(a) for a in ("12", "12.0", "$1,000$", "1000", "\\frac{1}{2}", "0.5", "x+1")]
    [Fraction(12, 1), Fraction(12, 1), Fraction(1000, 1), Fraction(1000, 1), Fraction(1, 2), Fraction(1, 2), 'x+1']
    """
    key = normalize(answer).key
    number = plain_number(key)
    return key if number is None else number


def _without_unit(text: str) -> str:
    """`5 cm`, `1,000.99m²`, `12 \\text{inches}` -> the number; anything else as it is (`5m` may be 5 times m)."""
    match = _NUMBER_UNIT.fullmatch(text)
    if match and (match["p"] or match["w"].lower() in _UNITS):
        return match["n"]
    return text


def parse_answer(text: str):
    """The sympy value of an answer; a bare list (`3, 3, 4`, no `\\{ \\}` braces) as the Python list of its
    elements, so that structure.py compares it as a multiset (latex2sympy reads it as a set, dropping repeats)."""
    from sympy import FiniteSet

    value = to_sympy(text)
    parts = split_top_level(text, ",")
    if not isinstance(value, FiniteSet) or "\\{" in text or len(parts) < 2 or not all(p.strip() for p in parts):
        return value  # not a list, a set in braces, or `1 \\pm 2` (a set with no commas)
    elements = []
    for part in parts:
        try:
            element = to_sympy(part.strip())
        except ParseError:
            return value
        elements += list(element.args) if isinstance(element, FiniteSet) else [element]  # `1, 2 \\pm 3`
    return elements


@lru_cache(maxsize=8192)
def to_sympy(text: str):
    """The sympy value of an answer (cached: a reference is parsed once for all its samples)."""
    from latex2sympy2_extended import latex2sympy
    from latex2sympy2_extended.latex2sympy2 import ConversionConfig, NormalizationConfig

    if not text:
        raise ParseError("empty answer")
    try:
        return latex2sympy(
            text,
            normalization_config=NormalizationConfig(basic_latex=True, units=True, malformed_operators=True,
                                                     nits=True, boxed="all", equations=False),
            conversion_config=ConversionConfig(lowercase_symbols=False),
        )
    except RecursionError as err:
        raise ParseError(f"too deeply nested: {text[:80]!r}") from err
    except Exception as err:  # the ANTLR parser and its converter raise many exception types on bad input
        raise ParseError(f"cannot parse {text[:80]!r}: {type(err).__name__}: {str(err)[:120]}") from err
