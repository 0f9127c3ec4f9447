"""Final-answer extraction and equivalence: the exact-answer reward.

Simplifications, stated honestly: LaTeX beyond `\\frac`, `\\boxed` and `$` is not parsed here, and sympy
runs in-process without a wall-clock limit, guarded only by an input-size cap. The production verifier
(worker pool with hard timeouts, intervals, sets, LaTeX via latex2sympy2_extended) extends this module.

>>> extract_answer("12 + 30 = 42\\n#### 42")
'42'
>>> is_equivalent("0.50", "1/2")
True
"""

from __future__ import annotations

import re
from fractions import Fraction
from tokenize import TokenError  # sympy's parser raises it on unbalanced input

import sympy
from sympy.parsing.sympy_parser import parse_expr

_GSM8K = re.compile(r"####\s*(.+?)\s*$", re.MULTILINE)
_THE_ANSWER_IS = re.compile(r"answer is[:\s]*\$?(.+?)\$?\s*(?:\.\s*)?$", re.IGNORECASE | re.MULTILINE)
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:[eE][-+]?\d+)?|-?\.\d+")
_MAX_SYMPY_CHARS = 64
REL_TOL = 1e-9


def extract_answer(text: str, fallback_last_number: bool = True) -> str | None:
    """The final answer of a completion: last `\\boxed{}`, else last `#### x`, else "the answer is x"."""
    for extract in (_last_boxed, _last_match(_GSM8K), _last_match(_THE_ANSWER_IS)):
        answer = extract(text)
        if answer:
            return answer
    if fallback_last_number:
        numbers = _NUMBER.findall(text)
        return numbers[-1] if numbers else None
    return None


def is_equivalent(predicted: str | None, reference: str) -> bool:
    """Same string after normalisation, same number, or sympy-equal expressions."""
    if predicted is None:
        return False
    a, b = normalize(predicted), normalize(reference)
    if a == b:
        return True
    x, y = _to_number(a), _to_number(b)
    if x is not None and y is not None:
        return x == y or abs(x - y) <= REL_TOL * max(abs(x), abs(y))
    return _sympy_equal(a, b)


def normalize(answer: str) -> str:
    text = answer.strip().strip("$").strip()
    text = re.sub(r"\\(?:text|mathrm)\{([^}]*)\}", r"\1", text)
    text = re.sub(r"\\d?frac\{([^}]*)\}\{([^}]*)\}", r"(\1)/(\2)", text)
    text = text.replace("\\left", "").replace("\\right", "").replace("\\!", "").replace("\\,", "")
    return re.sub(r"\s+", "", text).rstrip(".")


def _to_number(text: str) -> Fraction | None:
    """Exact rational value of a plain number or a/b fraction; None if the text is not one."""
    text = text.replace(",", "") if re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", text) else text
    try:
        return Fraction(text)
    except (ValueError, ZeroDivisionError):
        return None


def _sympy_equal(a: str, b: str) -> bool:
    if max(len(a), len(b)) > _MAX_SYMPY_CHARS or "**" in a + b or "^" in a + b:
        return False  # exponent towers can run sympy for minutes; the verifier issue adds hard timeouts
    try:
        return sympy.simplify(parse_expr(a) - parse_expr(b)) == 0
    except (sympy.SympifyError, SyntaxError, TypeError, ValueError, AttributeError, TokenError):
        return False


def _last_boxed(text: str) -> str | None:
    start = max(text.rfind("\\boxed{"), text.rfind("\\fbox{"))
    if start < 0:
        return None
    depth, begin = 0, text.index("{", start)
    for i in range(begin, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return text[begin + 1 : i].strip()
    return None


def _last_match(pattern: re.Pattern):
    def extract(text: str) -> str | None:
        matches = pattern.findall(text)
        return matches[-1].strip() if matches else None

    return extract

