"""Final-answer extraction: which part of a completion (or of a reference) is the answer.

Rules, first match wins: the last `\\boxed{...}` / `\\fbox{...}` (braces matched), the last GSM8K
`#### x`, the last "the answer is x". Then an optional fallback: `last_number`, or `last_expression`
(the last `$...$`, `\\(...\\)` or `\\[...\\]` math span, else the last number). Judging equivalence is
rest/equivalence.py's job; running it under a time limit is rest/verifier.py's.

>>> extract_answer("12 + 30 = 42\\n#### 42")
'42'
>>> extract_answer("so it is \\\\boxed{\\\\frac{1}{2}}.")
'\\\\frac{1}{2}'
>>> extract_answer("I think 3, then 4", fallback="last_number")
'4'
>>> parse_reference("$\\\\frac{1}{2}$")
'\\\\frac{1}{2}'
"""

from __future__ import annotations

import re

FALLBACKS = (None, "last_number", "last_expression")

_GSM8K = re.compile(r"####\s*(.+?)\s*$", re.MULTILINE)
_THE_ANSWER_IS = re.compile(r"answer is[:\s]*(.+?)\s*(?:\.(?:\s|$)|$)", re.IGNORECASE | re.MULTILINE)
_NUMBER = re.compile(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|-?\.\d+")
_MATH_SPAN = re.compile(r"\$\$(.+?)\$\$|\$(.+?)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.DOTALL)
_BOX = re.compile(r"\\(?:boxed|fbox)\s*\{")


def extract_answer(text: str, fallback: str | None = None) -> str | None:
    """The final answer of a completion, or None when it states none (and no fallback finds one)."""
    if fallback not in FALLBACKS:
        raise ValueError(f"fallback must be one of {FALLBACKS}, got {fallback!r}")
    for extract in (last_boxed, _last_gsm8k, _last_answer_is):
        answer = extract(text)
        if answer:
            return answer
    if fallback == "last_expression":
        return _last_math_span(text) or _last_number(text)
    if fallback == "last_number":
        return _last_number(text)
    return None


def parse_reference(text: str) -> str:
    """A reference answer given as plain text, `$...$` LaTeX, a boxed answer or a whole worked solution."""
    text = str(text).strip()
    answer = last_boxed(text) or _last_gsm8k(text)
    if answer:
        return answer
    if len(text) > 1 and text[0] == text[-1] == "$":
        return text.strip("$").strip()
    return text


def last_boxed(text: str) -> str | None:
    """Content of the last non-empty `\\boxed{...}` or `\\fbox{...}` whose braces close; None if there is none.
    One pass over the text, however many unclosed boxes a degenerate sample repeats."""
    opens = [match.end() - 1 for match in _BOX.finditer(text)]
    if not opens:
        return None
    closing = _closing_braces(text, opens[0])
    for start in reversed(opens):
        if start in closing:
            content = text[start + 1 : closing[start]].strip()
            if content:
                return content
    return None


def _closing_braces(text: str, begin: int) -> dict[int, int]:
    """Index of each `{` at or after `begin` -> index of the `}` that closes it (unclosed ones are absent)."""
    stack, closing = [], {}
    for i in range(begin, len(text)):
        if text[i] == "{":
            stack.append(i)
        elif text[i] == "}" and stack:
            closing[stack.pop()] = i
    return closing


def _last_gsm8k(text: str) -> str | None:
    matches = _GSM8K.findall(text)
    return matches[-1].strip() if matches else None


def _last_answer_is(text: str) -> str | None:
    matches = _THE_ANSWER_IS.findall(text)
    if not matches:
        return None
    answer = matches[-1].strip().rstrip(".").strip()
    span = _MATH_SPAN.fullmatch(answer)
    if span:
        answer = next(group for group in span.groups() if group is not None)
    return answer.strip() or None


def _last_math_span(text: str) -> str | None:
    spans = _MATH_SPAN.findall(text)
    if not spans:
        return None
    return next(group for group in spans[-1] if group).strip() or None


def _last_number(text: str) -> str | None:
    numbers = _NUMBER.findall(text)
    return numbers[-1] if numbers else None
