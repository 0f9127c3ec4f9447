"""Case table for the answer verifier `rest.verifier.equivalence.equivalent` (with the configured settings):
strings and numbers. Expressions, tuples, intervals, sets, equations and units: tests/test_equivalence_structures.py.

Inputs are already-extracted final answers (LaTeX or plain text), not whole completions. Each test
function is one behaviour; each case is (predicted, reference, expected). Every case is one a correct
grader must judge this way: numbers compare exactly or within a relative tolerance of 1e-9 (no absolute
tolerance), `%` may be ignored, and scaling by 100 needs both `percent=True` and a `%`.
"""

from __future__ import annotations

import pytest
from conftest import check_equivalent

P = pytest.param

# --------------------------------------------------------------------------------------------------------
# normalised string match
# --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("predicted, reference, expected", [
    P(" 42 ", "42", True, id="surrounding-whitespace"),
    P("$42$", "42", True, id="dollar-delimiters"),
    P(r"$\frac{1}{2}$", r"\frac{1}{2}", True, id="dollar-delimiters-around-frac"),
    P(r"\left(x+1\right)^2", "(x+1)^2", True, id="left-right-parentheses"),
    P(r"\left(\frac{1}{2}\right)", r"\frac{1}{2}", True, id="left-right-around-a-number"),
    P(r"\dfrac{1}{2}", r"\frac{1}{2}", True, id="dfrac-vs-frac"),
    P(r"\tfrac{3}{4}", r"\frac{3}{4}", True, id="tfrac-vs-frac"),
    P(r"\text{5}", "5", True, id="text-wrapper-around-number"),
    P(r"\text{Monday}", "Monday", True, id="text-wrapper-around-word"),
    P("42.", "42", True, id="trailing-period"),
    P(r"\frac{1}{2}.", r"\frac{1}{2}", True, id="trailing-period-after-frac"),
    P(r"x\!+\!1", "x+1", True, id="negative-thin-space"),
    P(r"1\,000", "1000", True, id="thin-space-thousands"),
    P(r"x \, + \, 1", "x+1", True, id="thin-space-between-terms"),
    P(r"\dfrac{1}{2}", r"\frac{1}{3}", False, id="dfrac-different-value"),
    P(r"\tfrac{3}{4}", r"\frac{4}{3}", False, id="tfrac-swapped-numerator-denominator"),
    P(r"\text{5}", "6", False, id="text-wrapper-different-number"),
    P(r"\text{Monday}", r"\text{Tuesday}", False, id="text-different-words"),
    P("42.", "4.2", False, id="trailing-period-is-not-a-decimal-point"),
    P("$x+1$", "x-1", False, id="dollar-delimiters-different-expression"),
    P(r"\left(x+1\right)^2", "(x+1)^3", False, id="left-right-different-exponent"),
])
def test_normalised_strings_match(predicted, reference, expected):
    check_equivalent(predicted, reference, expected)


# --------------------------------------------------------------------------------------------------------
# numbers
# --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("predicted, reference, expected", [
    P("42", "42", True, id="same-integer"),
    P("-7", "-7", True, id="same-negative"),
    P("+5", "5", True, id="explicit-plus-sign"),
    P("42.0", "42", True, id="integer-with-decimal-zero"),
    P("3.14", "3.140", True, id="trailing-zero-decimal"),
    P(".5", "0.5", True, id="leading-dot-decimal"),
    P("0.50", "1/2", True, id="decimal-vs-slash-fraction"),
    P("0.50", r"\frac{1}{2}", True, id="decimal-vs-frac"),
    P(r"\dfrac12", "0.5", True, id="dfrac-without-braces"),
    P(r"\frac{2}{4}", r"\frac{1}{2}", True, id="unreduced-fraction"),
    P(r"-\frac{1}{2}", "-0.5", True, id="negative-frac"),
    P(r"\frac{-1}{2}", "-0.5", True, id="negative-numerator"),
    P("10^{3}", "1000", True, id="power-of-ten"),
    P("2^{10}", "1024", True, id="power-of-two"),
    P("0", "0.0", True, id="zero-vs-zero-point-zero"),
    P("0.3333333333333", "1/3", True, id="one-third-to-13-places"),
    P("0.3333333333", r"\frac{1}{3}", True, id="one-third-to-10-places"),
    P("1000000000001", "1000000000000", False, id="integers-compare-exactly-however-large"),
    P("123456789012345678901", "123456789012345678902", False, id="long-integers-differ-in-the-last-digit"),
    P("1000000000000.0001", "1000000000000", True, id="large-decimal-within-relative-tolerance"),
    P("41", "42", False, id="different-integer"),
    P("-7", "7", False, id="sign-matters"),
    P("0.333", "1/3", False, id="one-third-to-3-places"),
    P("0.33333333", r"\frac{1}{3}", False, id="one-third-to-8-places"),
    P("1.0001", "1", False, id="outside-relative-tolerance"),
    P("0.1", "0.10000001", False, id="relative-difference-1e-7"),
    P(r"\frac{1}{2}", r"\frac{1}{3}", False, id="different-fractions"),
    P("2^{10}", "1000", False, id="power-of-two-is-not-a-thousand"),
    P("1000001", "1000000", False, id="large-integers-outside-relative-tolerance"),
])
def test_numbers_equal_exactly_or_within_relative_tolerance(predicted, reference, expected):
    check_equivalent(predicted, reference, expected)


@pytest.mark.parametrize("predicted, reference, expected", [
    P("1,000", "1000", True, id="one-thousand"),
    P("1,234,567", "1234567", True, id="two-separators"),
    P("1000", "1,000", True, id="separator-on-reference"),
    P("1,234.5", "1234.5", True, id="separator-with-decimals"),
    P("-1,000", "-1000", True, id="negative-with-separator"),
    P("1,000", "100", False, id="separator-does-not-drop-digits"),
    P("1,234,567", "1234568", False, id="two-separators-off-by-one"),
    P("1,000", "1", False, id="separator-is-not-a-decimal-point"),
])
def test_thousands_separators_are_ignored(predicted, reference, expected):
    check_equivalent(predicted, reference, expected)


@pytest.mark.parametrize("predicted, reference, expected", [
    P("2 1/2", "21/2", False, id="space-before-a-fraction"),
    P("1 2", "12", False, id="two-digits-apart"),
    P("12 3", "123", False, id="space-before-fewer-than-three-digits"),
    P("1 000 000", "1000000", True, id="spaces-separate-thousands"),
    P("-1 000", "-1000", True, id="negative-with-space-separator"),
    P("x + 1", "x+1", True, id="spaces-between-terms"),
])
def test_a_space_between_digits_is_kept_unless_it_separates_thousands(predicted, reference, expected):
    check_equivalent(predicted, reference, expected)


@pytest.mark.parametrize("predicted, reference, expected", [
    P("1.5e3", "1500", True, id="e-notation"),
    P("1.5E3", "1500", True, id="capital-E-notation"),
    P(r"1.5\times10^{3}", "1500", True, id="times-ten-to-the"),
    P(r"2.5 \times 10^{-4}", "0.00025", True, id="times-ten-to-negative"),
    P(r"3 \times 10^{-12}", "3e-12", True, id="times-ten-vs-e-notation"),
    P("1e6", "1,000,000", True, id="e-notation-vs-separators"),
    P("1.5e3", "150", False, id="e-notation-wrong-exponent"),
    P(r"2.5\times10^{-4}", "0.0025", False, id="times-ten-off-by-factor-ten"),
    P(r"1.5\times10^{3}", "15000", False, id="times-ten-too-large"),
    P("1e6", "1e5", False, id="e-notation-different-exponents"),
])
def test_scientific_notation_is_a_number(predicted, reference, expected):
    check_equivalent(predicted, reference, expected)


@pytest.mark.parametrize("predicted, reference, expected", [
    P("10^{-20}", "10^{-21}", False, id="powers-of-ten-minus-20-vs-21"),
    P("1e-20", "2e-20", False, id="twice-as-large"),
    P("0.000000001", "0.000000002", False, id="nano-decimals"),
    P("1e-12", "0", False, id="tiny-vs-zero"),
    P("0", r"10^{-15}", False, id="zero-vs-tiny"),
    P(r"\frac{1}{10^{12}}", r"\frac{1}{10^{13}}", False, id="tiny-fractions"),
    P("1e-20", "1.0e-20", True, id="tiny-same-value"),
    P("1e-20", "1.0000000000001e-20", True, id="tiny-within-relative-tolerance"),
    P(r"3 \times 10^{-15}", "0.000000000000003", True, id="tiny-times-ten-vs-decimal"),
])
def test_tiny_numbers_are_not_equal(predicted, reference, expected):
    check_equivalent(predicted, reference, expected)


@pytest.mark.parametrize("predicted, reference, expected", [
    P("2^{64}", "18446744073709551617", False, id="power-off-by-one"),
    P("20!", "2432902008176640001", False, id="factorial-off-by-one"),
    P("3^{40}", "12157665459056928802", False, id="power-of-three-off-by-one"),
    P("2^{64}", "18446744073709551616", True, id="power-equal"),
    P("20!", "2432902008176640000", True, id="factorial-equal"),
    P("10^{10^{10}}", "10^{10000000000}", True, id="huge-power-is-not-expanded"),
])
def test_large_integers_written_as_powers_or_factorials_compare_exactly(predicted, reference, expected):
    check_equivalent(predicted, reference, expected)


@pytest.mark.parametrize("predicted, reference, rel_tol, expected", [
    P("1.0001", "1", 1e-3, True, id="loose-tolerance-accepts"),
    P("1.01", "1", 1e-3, False, id="loose-tolerance-still-rejects"),
    P("100.5", "100", 0.02, True, id="two-percent-tolerance"),
    P("101", "100", 0.02, False, id="integers-stay-exact-under-a-loose-tolerance"),
    P("0.3333333333333", "1/3", 1e-15, False, id="tight-tolerance-rejects"),
])
def test_rel_tol_argument_sets_the_relative_tolerance(predicted, reference, rel_tol, expected):
    check_equivalent(predicted, reference, expected, rel_tol=rel_tol)


# --------------------------------------------------------------------------------------------------------
# the named faults of other graders
# --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("predicted, reference, expected", [
    P(r"\frac{1}{2004!}", r"\frac{1}{2006!}", False, id="factorial-fractions-2004-vs-2006"),
    P(r"\frac{1}{2004!}", r"\frac{1}{2005!}", False, id="factorial-fractions-2004-vs-2005"),
    P(r"\frac{1}{2004!}", r"\frac{1}{2004!}", True, id="factorial-fractions-same"),
    P(r"\frac{1}{2004!}", r"\frac{2005 \cdot 2006}{2006!}", True, id="factorial-fractions-rewritten"),
    P("10^{-20}", "10^{-21}", False, id="powers-of-ten-differ"),
    P("10^{-20}", "1e-20", True, id="power-of-ten-vs-e-notation"),
    P("0.5", "50", False, id="half-vs-fifty"),
    P("0.5", r"\frac{1}{2}", True, id="half-vs-frac"),
    P("5000", "50", False, id="five-thousand-vs-fifty"),
    P("5000", "5,000", True, id="five-thousand-with-separator"),
    P("[1,2)", "(1,2]", False, id="interval-ends-swapped"),
    P("(1,2]", "[1,2)", False, id="interval-ends-swapped-reverse"),
    P("[1,2)", "[1, 2)", True, id="same-half-open-interval"),
    P("n=1,2,3", "n=2,3,4", False, id="answer-lists-differ"),
    P("n=1,2,3", "n=3,2,1", True, id="answer-lists-reordered"),
    P(r"\pm 2021", "2021", False, id="plus-minus-vs-one-sign"),
    P(r"\pm 2021", "2021, -2021", True, id="plus-minus-vs-both-signs"),
])
def test_named_faults_of_other_graders_are_judged_right(predicted, reference, expected):
    check_equivalent(predicted, reference, expected)


# --------------------------------------------------------------------------------------------------------
# percent
# --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("predicted, reference, percent, expected", [
    P(r"50\%", "50", False, True, id="percent-sign-ignored"),
    P("50", r"50\%", False, True, id="percent-sign-ignored-on-reference"),
    P("50%", "50", False, True, id="bare-percent-sign-ignored"),
    P(r"12.5\%", "12.5", False, True, id="decimal-percent-sign-ignored"),
    P(r"50\%", r"50\%", False, True, id="both-percent"),
    P(r"50\%", "0.5", False, False, id="no-scaling-by-default"),
    P(r"25\%", r"\frac{1}{4}", False, False, id="no-scaling-by-default-frac"),
    P(r"100\%", "1", False, False, id="no-scaling-by-default-hundred"),
    P(r"50\%", "0.5", True, True, id="scaling-with-percent-flag"),
    P("0.5", r"50\%", True, True, id="scaling-with-percent-flag-sign-on-reference"),
    P(r"\frac{1}{4}", r"25\%", True, True, id="scaling-with-percent-flag-frac"),
    P(r"100\%", "1", True, True, id="scaling-with-percent-flag-hundred"),
    P("0.5", "50", True, False, id="no-scaling-without-a-percent-sign"),
    P("50", "0.5", True, False, id="no-scaling-without-a-percent-sign-reversed"),
    P("5000", "50", False, False, id="five-thousand-vs-fifty"),
    P("5000", "50", True, False, id="five-thousand-vs-fifty-with-percent-flag"),
    P(r"50\%", "5000", True, False, id="percent-never-scales-the-other-way"),
    P(r"50\%", r"51\%", False, False, id="different-percentages"),
    P(r"50\%", "51", False, False, id="percent-vs-different-number"),
    P(r"50\%", "0.51", True, False, id="scaled-but-different"),
])
def test_percent_sign_is_ignored_and_scaling_needs_the_flag(predicted, reference, percent, expected):
    check_equivalent(predicted, reference, expected, percent=percent)
