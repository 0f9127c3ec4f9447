"""Final-answer extraction: which part of a completion (or of a reference) is the answer.

Precedence, first rule that finds an answer wins:

1. the final marked answer, by position: the last group of `\\boxed{...}` / `\\fbox{...}` (braces matched), or a
   later "final answer" sentence (`Final Answer: The final answer is $x$.`, the Minerva format). Boxes joined only
   by `and`, `or`, commas, `\\quad` or a short label (`\\boxed{1} and \\boxed{2}`, `x=\\boxed{2}, y=\\boxed{3}`)
   are one group, read as one answer list `1, 2`; boxes with other text between them are steps, and only the
   last counts;
2. the last GSM8K `#### x`;
3. the last "the answer is x" (up to the prose after x: `18, since 9*2=18` is `18`).

With no marked answer, the fallback reads free-form text (`verifier.fallback`): `null` stops here (no answer);
`last_number` and `last_expression` first take a completion that is nothing but an answer (`-5`,
`\\frac{10}{9}`, `$[0,1)$`, `Answer: 9`), then the last math span (`$...$`, `\\(...\\)`, `\\[...\\]`; only
`last_expression`), then the last number that is not part of a word (`AZYUK2A` has none). Judging equivalence
is rest/verifier/equivalence.py's job.

>>> extract_answer("12 + 30 = 42\\n#### 42")
'42'
>>> extract_answer("so it is \\\\boxed{\\\\frac{1}{2}}.")
'\\\\frac{1}{2}'
>>> extract_answer("\\\\boxed{1} and \\\\boxed{2}")
'1, 2'
>>> extract_answer("I think 3, then 4", fallback="last_number")
'4'
>>> parse_reference("$\\\\frac{1}{2}$")
'\\\\frac{1}{2}'
"""

from __future__ import annotations

import re

from rest.errors import UserError

FALLBACKS = (None, "last_number", "last_expression")

_GSM8K = re.compile(r"####\s*(.+?)\s*$", re.MULTILINE)
_THE_ANSWER_IS = re.compile(r"answer is[:\s]*(.+?)\s*(?:\.(?:\s|$)|$)", re.IGNORECASE | re.MULTILINE)
_FINAL_ANSWER = re.compile(r"final answer\**(?:\s+is\s*[:：]?|\s*[:：])[\s*]*(.+?)\s*(?:\.(?:\s|$)|$)",
                           re.IGNORECASE | re.MULTILINE)
_NUMBER = re.compile(  # a power is taken whole (`2^{10}`); an exponent alone (`10` of `2^{10}`, `2` of `m^2`) is none
    r"(?<![A-Za-z_\d.^])(?<!\^\{)(?:-?\d+(?:\.\d+)?\^(?:\{-?\d+\}|\d)|-?\\[dt]?frac\{\d+\}\{\d+\}|-?\d+/\d+(?!\d|\.\d)|-?\d{1,3}(?:,\d{3})+(?:\.\d+)?|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"
    r"|-?\.\d+)")
_MATH_SPAN = re.compile(r"\$\$(.+?)\$\$|(?<!\\)\$(.+?)(?<!\\)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.DOTALL)
# What follows an answer in its sentence (`18, since 9*2=18`, `18 because ...`, `3 (three)`): cut off.
_TRAILING_PROSE = re.compile(r"(?:\s*,\s*|\s+)(?:since|because|as|so|which|where|given|hence|thus|therefore|not|but)\b"
                             r"|\s+\((?=\s*[A-Za-z]{2,}[\s)])", re.IGNORECASE)  # `(three)`, `(in cm)`; not `(a, b)`
_BOX = re.compile(r"\\(?:boxed|fbox)\s*\{")
# What may stand between two boxes of one answer: spaces, commas, `and`/`or`, `\quad`, `$`, a short label `x =`.
_JOINER = re.compile(r"(?:[\s,;$&]|\\q?quad|\\[,;:]|\\text\{\s*(?:and|or|,)\s*\}|\b(?:and|or)\b"
                     r"|\\?[A-Za-z](?:_\{?\w+\}?)?\s*=)*", re.IGNORECASE)
_LABEL_BEFORE = re.compile(r"(?<![\\A-Za-z])([A-Za-z](?:_\{?\w+\}?)?)\s*=\s*\$?\s*$")
# A completion that is nothing but an answer: an optional "Answer:" label, then one short line of math.
_ANSWER_LABEL = re.compile(r"^(?:\**\s*(?:final\s+)?answer\s*\**\s*[:：]?\s*\**)?\s*", re.IGNORECASE)
_PROSE = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{2,}\s+[A-Za-z]{2,}")  # two words in a row, outside LaTeX commands
_WORD = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{2,}")  # not a LaTeX command's name
_MAX_BARE_ANSWER = 80  # characters
_MAX_JOINER = 60  # characters between two boxes of one group


def extract_answer(text: str, fallback: str | None = None) -> str | None:
    """The final answer of a completion, or None when it states none (and no fallback finds one)."""
    if fallback not in FALLBACKS:
        raise ValueError(f"fallback must be one of {FALLBACKS}, got {fallback!r}")
    for extract in (_final_marked, _last_gsm8k, _last_answer_is):
        answer = extract(text)
        if answer:
            return answer
    if fallback is None:
        return None
    whole = bare_answer(text)
    if whole:
        return whole
    if fallback == "last_expression":
        return _last_math_span(text) or _last_number(text)
    return _last_number(text)


def check_fallback(fallback: str | None, key: str) -> None:
    """A UserError naming the config `key` unless `fallback` is one of FALLBACKS."""
    if fallback not in FALLBACKS:
        raise UserError(f"{key} must be one of {', '.join(map(str, FALLBACKS))} (None: no answer), got {fallback!r}")


def parse_reference(text: str) -> str:
    """A reference answer given as plain text, `$...$` LaTeX, a boxed answer or a whole worked solution."""
    text = str(text).strip()
    answer = last_boxed(text) or _last_gsm8k(text)
    if answer:
        return answer
    if len(text) > 1 and text[0] == text[-1] == "$":
        return text.strip("$").strip()
    return text


def bare_answer(text: str) -> str | None:
    """The whole completion when it is nothing but an answer (`-5`, `$[0,1)$`, `Answer $ 9 $`); else None."""
    text = _ANSWER_LABEL.sub("", text.strip(), count=1).strip().strip("*").strip()
    if not text or "\n" in text or len(text) > _MAX_BARE_ANSWER:
        return None
    span = _MATH_SPAN.fullmatch(text)
    if span:
        return next(group for group in span.groups() if group is not None).strip() or None
    prose = _WORD.search(text) and len(text.split()) > 1
    if prose or text.count("{") != text.count("}") or any(mark in text for mark in ("$", "\\(", "\\[", "\\boxed")):
        return None  # a sentence, or prose around math: not a bare answer
    return text.rstrip(".").strip() or None


def last_boxed(text: str) -> str | None:
    """The last group of non-empty boxes whose braces close, as one answer (`1, 2` for a group of two, `x = 1,
    y = 2` when each box has its label before it); None if there is none. One pass over the text, however
    many unclosed boxes a degenerate sample repeats."""
    boxes = _boxes(text)
    return _group_answer(text, boxes) if boxes else None


def _final_marked(text: str) -> str | None:
    """The later of the last box group and the last "final answer" sentence."""
    boxes = _boxes(text)
    start = text.lower().rfind("final answer")
    sentence = _FINAL_ANSWER.match(text, start) if start >= 0 and (not boxes or start > boxes[-1][1]) else None
    answer = _unwrap(sentence.group(1)) if sentence else None
    if answer:
        return last_boxed(answer) or answer
    return _group_answer(text, boxes) if boxes else None


def _boxes(text: str) -> list[tuple[int, int, str]]:
    """(start, end, content) of every closed, non-empty box, in order."""
    opens = [(match.start(), match.end() - 1) for match in _BOX.finditer(text)]
    if not opens:
        return []
    closing = _closing_braces(text, opens[0][1])
    boxes = [(start, closing[brace], text[brace + 1 : closing[brace]].strip())
             for start, brace in opens if brace in closing]
    return [box for box in boxes if box[2]]


def _group_answer(text: str, boxes: list[tuple[int, int, str]]) -> str:
    group = _last_group(text, boxes)
    if len(group) == 1:
        return group[0][2]
    return ", ".join(dict.fromkeys(_label_before(text, start) + content for start, _, content in group))


def _last_group(text: str, boxes: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """The last box, and the boxes before it that only joining words separate from it."""
    group = [boxes[-1]]
    for box in reversed(boxes[:-1]):
        between = text[box[1] + 1 : group[0][0]]
        if box[1] >= group[0][0] or len(between) > _MAX_JOINER or not _JOINER.fullmatch(between):
            break  # nested in the next box, or separated from it by prose
        group.insert(0, box)
    return group


def _label_before(text: str, start: int) -> str:
    """`x = ` when the box at `start` is written `x = \\boxed{...}` (a box of a multi-part answer), else ''."""
    match = _LABEL_BEFORE.search(text, max(0, start - 20), start)
    return f"{match[1]} = " if match else ""


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
    return _unwrap(_without_trailing_prose(matches[-1])) if matches else None


def _without_trailing_prose(answer: str) -> str:
    """The answer up to the first prose after it, outside `$...$` (`18, since 9*2=18` -> `18`)."""
    for match in _TRAILING_PROSE.finditer(answer):
        if match.start() > 0 and answer.count("$", 0, match.start()) % 2 == 0:
            return answer[: match.start()]
    return answer


def _unwrap(answer: str) -> str | None:
    """An answer sentence's answer without its closing period and its `$...$`."""
    answer = answer.strip().strip("*").rstrip(".").strip()
    span = _MATH_SPAN.fullmatch(answer)
    if span:
        answer = next(group for group in span.groups() if group is not None)
    return answer.strip() or None


def _last_math_span(text: str) -> str | None:
    """The last `$...$`, `\\(...\\)` or `\\[...\\]` span that is math, not prose between two currency signs
    (`$12 per hour and $5`)."""
    spans = [next(group for group in groups if group).strip() for groups in _MATH_SPAN.findall(text)]
    math = [span for span in spans if span and not _PROSE.search(span)]
    return math[-1] if math else None


def _last_number(text: str) -> str | None:
    numbers = _NUMBER.findall(text)
    return numbers[-1] if numbers else None
