"""Final-answer extraction: `rest.verifier.answers.extract_answer` (completions) and `parse_reference` (dataset answers).

Rules, in priority order: the last complete `\\boxed{...}` / `\\fbox{...}`, then the last GSM8K `#### x`, then
"the answer is x"; otherwise the fallback: None (default), "last_number" or "last_expression".
"""

from __future__ import annotations

import pytest

from rest.verifier.answers import extract_answer, parse_reference

P = pytest.param

GSM8K_SOLUTION = (
    "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\n"
    "Natalia sold 48+24 = <<48+24=72>>72 clips altogether in April and May.\n"
    "#### 72"
)


@pytest.mark.parametrize("text, expected", [
    P(r"so the result is \boxed{\frac{1}{2}}.", r"\frac{1}{2}", id="boxed-with-nested-braces"),
    P(r"\boxed{\sqrt{\frac{a}{b}}}", r"\sqrt{\frac{a}{b}}", id="boxed-with-two-levels-of-nesting"),
    P(r"first \boxed{1} then \boxed{2}", "2", id="last-boxed-wins"),
    P(r"\fbox{7}", "7", id="fbox"),
    P(r"\boxed{1} and finally \fbox{3}", "3", id="last-of-boxed-and-fbox-wins"),
    P(r"\fbox{3} and finally \boxed{4}", "4", id="last-of-fbox-and-boxed-wins"),
    P(r"\boxed{{2}+1}", "{2}+1", id="boxed-content-starting-with-a-brace"),
    P("we get \\boxed{3 + 4\n#### 7", "7", id="unbalanced-boxed-falls-through-to-gsm8k"),
    P("we get \\boxed{\\frac{1}{2}\nThe answer is 9.", "9", id="unbalanced-boxed-falls-through-to-answer-is"),
])
def test_last_boxed_answer_is_extracted(text, expected):
    assert extract_answer(text) == expected


@pytest.mark.parametrize("text, expected", [
    P("3 + 4 = 7\n#### 7", "7", id="gsm8k-marker"),
    P("#### 1\nmore\n#### -12", "-12", id="last-gsm8k-marker-wins"),
    P("#### 1,234", "1,234", id="gsm8k-keeps-thousands-separator"),
    P("#### 42\nThis line is commentary.", "42", id="text-on-later-lines-ignored"),
    P(GSM8K_SOLUTION, "72", id="gsm8k-solution-with-calculator-annotations"),
])
def test_gsm8k_marker_is_extracted(text, expected):
    assert extract_answer(text) == expected


@pytest.mark.parametrize("text, expected", [
    P("Therefore, the answer is 42.", "42", id="answer-is-strips-period"),
    P("The final answer is $\\frac{3}{4}$.", r"\frac{3}{4}", id="final-answer-strips-dollars-and-period"),
    P("THE ANSWER IS 7", "7", id="case-insensitive"),
    P("So the answer is -3.", "-3", id="negative-answer"),
    P("the answer is 3.5.", "3.5", id="keeps-the-decimal-point"),
])
def test_the_answer_is_phrase_is_extracted(text, expected):
    assert extract_answer(text) == expected


@pytest.mark.parametrize("text, expected", [
    P("So the answer is 18, since 9*2=18.", "18", id="comma-since"),
    P("The answer is 18 because 9*2 = 18.", "18", id="because"),
    P("The answer is 3 (three).", "3", id="words-in-parentheses"),
    P("The answer is $18$, which is even.", "18", id="math-span-then-which"),
    P("The answer is (1, 2).", "(1, 2)", id="keeps-a-pair"),
    P("The answer is 1, 2, 3.", "1, 2, 3", id="keeps-a-list"),
    P(r"The answer is \frac{1}{2}.", r"\frac{1}{2}", id="keeps-a-fraction"),
    P("The answer is x = 3, y = 4.", "x = 3, y = 4", id="keeps-labelled-values"),
    P("The answer is [0, 1).", "[0, 1)", id="keeps-an-interval"),
    P("The answer is (a, b).", "(a, b)", id="keeps-a-pair-of-letters"),
])
def test_the_answer_is_phrase_stops_before_the_prose_after_the_answer(text, expected):
    assert extract_answer(text) == expected


@pytest.mark.parametrize("text, expected", [
    P("#### 5 but \\boxed{6}", "6", id="boxed-beats-earlier-gsm8k"),
    P("\\boxed{6}\n#### 5", "6", id="boxed-beats-later-gsm8k"),
    P("\\boxed{5}\nThe answer is 3.", "5", id="boxed-beats-answer-is"),
    P("The answer is 3.\n#### 4", "4", id="gsm8k-beats-earlier-answer-is"),
    P("#### 4\nThe answer is 3.", "4", id="gsm8k-beats-later-answer-is"),
])
def test_boxed_beats_gsm8k_beats_the_answer_is(text, expected):
    assert extract_answer(text) == expected


@pytest.mark.parametrize("text, fallback, expected", [
    P("I think 3 and then 4.5", None, None, id="no-fallback-gives-none"),
    P("I think 3 and then 4.5", "last_number", "4.5", id="last-number-decimal"),
    P("first 3, then the result was -7", "last_number", "-7", id="last-number-keeps-sign"),
    P("we have 1,000 apples", "last_number", "1,000", id="last-number-keeps-separator"),
    P("It costs 12.", "last_number", "12", id="last-number-without-sentence-period"),
    P("so $x = \\frac{1}{2}$ and we are done", "last_expression", r"x = \frac{1}{2}",
      id="last-expression-dollar-span"),
    P(r"first \(a+b\) then \(c^2\)", "last_expression", "c^2", id="last-expression-paren-span"),
    P(r"we get \[3x\] at the end", "last_expression", "3x", id="last-expression-bracket-span"),
    P("first $1$ and then $2$", "last_expression", "2", id="last-expression-last-span-wins"),
    P("$\\pi$ and then 4", "last_expression", r"\pi", id="last-expression-prefers-math-over-number"),
    P("I think 3 and then 4.5", "last_expression", "4.5", id="last-expression-falls-back-to-number"),
    P("\\boxed{", "last_number", None, id="unbalanced-boxed-and-nothing-else"),
    P("x is 4 so \\boxed{", "last_number", "4", id="unbalanced-boxed-then-last-number"),
])
def test_fallback_when_no_marked_answer(text, fallback, expected):
    assert extract_answer(text, fallback=fallback) == expected


@pytest.mark.parametrize("text, expected", [
    P("So we get 1024 = 2^{10}", "2^{10}", id="power-in-braces"),
    P("the result is 10^5", "10^5", id="power-without-braces"),
    P("the area is 5 m^2", "5", id="exponent-of-a-unit"),
])
def test_last_number_fallback_takes_a_power_whole_and_never_its_exponent_alone(text, expected):
    assert extract_answer(text, fallback="last_number") == expected


def test_default_fallback_is_none():
    assert extract_answer("I think 3 and then 4.5") is None


@pytest.mark.parametrize("fallback", [None, "last_number", "last_expression"])
def test_text_without_digits_or_math_has_no_answer(fallback):
    assert extract_answer("no digits and no math here", fallback=fallback) is None


def test_unknown_fallback_raises_value_error():
    with pytest.raises(ValueError):
        extract_answer("I think 3 and then 4.5", fallback="bogus")


@pytest.mark.parametrize("text, expected", [
    P("42", "42", id="plain-number"),
    P(" 42 ", "42", id="surrounding-whitespace"),
    P("$\\frac{1}{2}$", r"\frac{1}{2}", id="dollar-delimiters"),
    P("\\frac{1}{2}", r"\frac{1}{2}", id="plain-latex"),
    P("$42$\n", "42", id="dollars-and-newline"),
    P("We add them up to get \\boxed{17}.", "17", id="boxed-solution"),
    P("First \\boxed{3}, then correcting, \\boxed{\\frac{3}{5}}.", r"\frac{3}{5}", id="last-boxed-in-solution"),
    P(GSM8K_SOLUTION, "72", id="gsm8k-solution"),
])
def test_parse_reference(text, expected):
    assert parse_reference(text) == expected
