"""Case table for the answer verifier `rest.verifier.equivalence.equivalent` (with the configured settings):
expressions, tuples, intervals, sets, matrices, equations, plus-minus, units, inequalities, and what cannot be
parsed. Strings and numbers: tests/test_equivalence_cases.py.

Each case is (predicted, reference, expected), one a correct grader must judge this way: ends of intervals and
order of tuples matter, order of sets and of multiple answers does not, `\\pm` stands for both signs.
"""

from __future__ import annotations

import pytest
from conftest import check_equivalent, judge_settings

from rest.verifier.equivalence import ParseError, equivalent

P = pytest.param


# --------------------------------------------------------------------------------------------------------
# expressions
# --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("predicted, reference, expected", [
    P("x^2+2x+1", "(x+1)^2", True, id="expanded-square"),
    P(r"\sqrt{8}", r"2\sqrt{2}", True, id="simplified-root"),
    P(r"\frac{\sqrt{3}}{2}", r"\frac{1}{2}\sqrt{3}", True, id="root-over-two"),
    P(r"2\pi", r"\pi \cdot 2", True, id="two-pi-commuted"),
    P("x+1", "1+x", True, id="sum-commuted"),
    P(r"\frac{x}{2}", r"\frac{1}{2}x", True, id="half-x"),
    P("(x+1)(x-1)", "x^2-1", True, id="difference-of-squares"),
    P(r"\frac{1}{x}+\frac{1}{y}", r"\frac{x+y}{xy}", True, id="sum-of-reciprocals"),
    P(r"\frac{\sqrt{2}}{2}", r"\frac{1}{\sqrt{2}}", True, id="rationalised-denominator"),
    P(r"\sin^{2}(x)+\cos^{2}(x)", "1", True, id="pythagorean-identity"),
    P("x+1", "x+2", False, id="different-constant-term"),
    P("x", "y", False, id="different-symbols"),
    P(r"\sqrt{8}", r"3\sqrt{2}", False, id="wrong-root-coefficient"),
    P("x^2+2x+1", "(x-1)^2", False, id="wrong-square"),
    P(r"2\pi", r"\pi", False, id="two-pi-vs-pi"),
    P(r"\frac{\sqrt{3}}{2}", r"\frac{\sqrt{2}}{2}", False, id="different-roots"),
    P("(x+1)(x-1)", "x^2+1", False, id="not-a-difference-of-squares"),
])
def test_expressions_equal_symbolically(predicted, reference, expected):
    check_equivalent(predicted, reference, expected)


@pytest.mark.parametrize("predicted, reference, expected", [
    P("A", "a", False, id="capital-vs-small"),
    P("X+1", "x+1", False, id="capital-in-sum"),
    P("2N", "2n", False, id="capital-with-coefficient"),
    P("A", "A", True, id="same-capital"),
])
def test_symbols_are_case_sensitive(predicted, reference, expected):
    check_equivalent(predicted, reference, expected)


@pytest.mark.parametrize("predicted, reference, expected", [
    P(r"\infty", r"\infty", True, id="infinity"),
    P(r"-\infty", r"-\infty", True, id="minus-infinity"),
    P(r"\pi", "3.141592653589793", True, id="pi-to-double-precision"),
    P("e", "2.718281828459045", True, id="e-is-eulers-number"),
    P(r"2\pi", "6.283185307179586", True, id="two-pi-numerically"),
    P(r"\infty", r"-\infty", False, id="infinity-vs-minus-infinity"),
    P(r"\infty", "10^{100}", False, id="infinity-is-not-a-large-number"),
    P(r"\pi", "3.14", False, id="pi-vs-two-decimals"),
    P(r"\pi", "3.14159", False, id="pi-vs-five-decimals"),
    P("e", "2.718", False, id="e-vs-three-decimals"),
])
def test_constants_and_infinity(predicted, reference, expected):
    check_equivalent(predicted, reference, expected)


# --------------------------------------------------------------------------------------------------------
# tuples, intervals, sets, matrices
# --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("predicted, reference, expected", [
    P("(1,2)", "(1, 2)", True, id="pair-spacing"),
    P(r"(3, \frac{\pi}{2})", r"\left( 3, \frac{\pi}{2} \right)", True, id="left-right-pair"),
    P("(0.5, 2)", r"(\frac{1}{2}, 2)", True, id="pair-with-equal-numbers"),
    P("(1,2,3)", "(1, 2, 3)", True, id="triple"),
    P("(x+1, 2)", "(1+x, 2)", True, id="pair-with-equal-expressions"),
    P("(1,2)", "(2,1)", False, id="pair-order-matters"),
    P("(1,2,3)", "(1,3,2)", False, id="triple-order-matters"),
    P("(1,2)", "(1,2,3)", False, id="different-lengths"),
    P("(1,2,3)", "(1,2)", False, id="different-lengths-reversed"),
    P(r"(3, \frac{\pi}{2})", r"(3, \pi)", False, id="different-second-entry"),
    P("(-1, 2)", "(1, 2)", False, id="sign-of-an-entry"),
])
def test_tuple_order_and_length_matter(predicted, reference, expected):
    check_equivalent(predicted, reference, expected)


@pytest.mark.parametrize("predicted, reference, expected", [
    P(r"(-\infty, 3]", r"(-\infty,3]", True, id="spacing"),
    P(r"\left[1, 2\right)", "[1,2)", True, id="left-right-brackets"),
    P(r"[0, \frac{1}{2}]", "[0, 0.5]", True, id="equal-endpoints"),
    P(r"(-\infty, \infty)", r"(-\infty,\infty)", True, id="whole-line"),
    P(r"(-\infty,1)\cup(2,\infty)", r"(2,\infty)\cup(-\infty,1)", True, id="union-parts-reordered"),
    P(r"(-\infty,1]\cup[3,\infty)", r"(-\infty, 1] \cup [3, \infty)", True, id="union-spacing"),
    P("[1,2)", "[1,2]", False, id="open-vs-closed-right-end"),
    P("[1,2]", "[1,2)", False, id="closed-vs-open-right-end"),
    P("(1,2]", "[1,2]", False, id="open-vs-closed-left-end"),
    P("[1,2)", "(1,2)", False, id="closed-vs-open-left-end"),
    P(r"(-\infty, 3]", r"(-\infty, 3)", False, id="closed-vs-open-finite-end"),
    P("[0,1]", "[0,2]", False, id="different-endpoint"),
    P(r"(-\infty,1)\cup(2,\infty)", r"(-\infty,1]\cup(2,\infty)", False, id="union-one-end-differs"),
    P(r"(-\infty,1)\cup(2,\infty)", r"(-\infty,1)", False, id="union-vs-one-part"),
    P(r"(-\infty,1)\cup(2,\infty)", r"(-\infty,2)\cup(1,\infty)", False, id="union-endpoints-swapped"),
])
def test_interval_ends_matter(predicted, reference, expected):
    check_equivalent(predicted, reference, expected)


@pytest.mark.parametrize("predicted, reference, expected", [
    P(r"\{1,2,3\}", r"\{3,2,1\}", True, id="set-reordered"),
    P(r"\{1,2\}", r"\{2, 1\}", True, id="pair-set-reordered"),
    P(r"\{\frac{1}{2}, 3\}", r"\{3, 0.5\}", True, id="set-with-equal-numbers"),
    P("1,2,3", "3,2,1", True, id="bare-list-reordered"),
    P("1, 2", "2, 1", True, id="bare-pair-reordered"),
    P("-1, 1", "1, -1", True, id="bare-list-with-signs"),
    P(r"\{1,2\}", r"\{1,2,3\}", False, id="subset"),
    P(r"\{1,2,3\}", r"\{1,2\}", False, id="superset"),
    P(r"\{1,2\}", r"\{1,3\}", False, id="different-element"),
    P(r"\{1,2,3\}", r"\{1,2,4\}", False, id="different-last-element"),
    P("1, 2", "1, 3", False, id="bare-list-different-element"),
    P("1,2,3", "1,2", False, id="bare-list-missing-answer"),
    P("-1, 1", "1", False, id="bare-list-vs-single-answer"),
])
def test_sets_and_answer_lists_ignore_order(predicted, reference, expected):
    check_equivalent(predicted, reference, expected)


@pytest.mark.parametrize("predicted, reference, expected", [
    P("3, 3, 4", "3, 4, 4", False, id="bare-list-different-repeats"),
    P("1,2", "1,2,2", False, id="bare-list-missing-a-repeat"),
    P("2, 2", "2", False, id="bare-list-repeat-vs-single-answer"),
    P("1, 1, 2", "2, 1, 1", True, id="bare-list-same-repeats-reordered"),
    P(r"1, 1 \pm 2", "3, 1, -1", True, id="bare-list-with-plus-minus"),
    P(r"\{3, 3, 4\}", r"\{3, 4\}", True, id="set-braces-drop-repeats"),
])
def test_bare_answer_lists_are_multisets_but_sets_in_braces_are_sets(predicted, reference, expected):
    check_equivalent(predicted, reference, expected)


@pytest.mark.parametrize("predicted, reference, expected", [
    P(r"\begin{pmatrix}1&2\\3&4\end{pmatrix}", r"\begin{bmatrix}1&2\\3&4\end{bmatrix}", True,
      id="pmatrix-vs-bmatrix"),
    P(r"\begin{pmatrix}1&2\\3&4\end{pmatrix}", r"\begin{pmatrix} 1 & 2 \\ 3 & 4 \end{pmatrix}", True,
      id="spacing"),
    P(r"\begin{pmatrix}\frac{1}{2}&0\\0&1\end{pmatrix}", r"\begin{bmatrix}0.5&0\\0&1\end{bmatrix}", True,
      id="equal-entries"),
    P(r"\begin{pmatrix}2x&0\\0&1\end{pmatrix}", r"\begin{pmatrix}x+x&0\\0&1\end{pmatrix}", True,
      id="symbolic-entries"),
    P(r"\begin{pmatrix}1&2\\3&4\end{pmatrix}", r"\begin{pmatrix}1&2\\3&5\end{pmatrix}", False,
      id="one-entry-changed"),
    P(r"\begin{bmatrix}1&2\\3&4\end{bmatrix}", r"\begin{pmatrix}1&2\\3&5\end{pmatrix}", False,
      id="one-entry-changed-across-environments"),
    P(r"\begin{pmatrix}1&2\\3&4\end{pmatrix}", r"\begin{pmatrix}1&3\\2&4\end{pmatrix}", False,
      id="transposed"),
    P(r"\begin{pmatrix}1&2&3\\4&5&6\end{pmatrix}", r"\begin{pmatrix}1&2\\3&4\\5&6\end{pmatrix}", False,
      id="two-by-three-vs-three-by-two"),
    P(r"\begin{pmatrix}1&2\\3&4\end{pmatrix}", r"\begin{pmatrix}1&2\\3&4\\5&6\end{pmatrix}", False,
      id="extra-row"),
])
def test_matrices_equal_entrywise_with_the_same_shape(predicted, reference, expected):
    check_equivalent(predicted, reference, expected)


# --------------------------------------------------------------------------------------------------------
# equations, plus-minus, units, inequalities
# --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("predicted, reference, expected", [
    P("x=3", "3", True, id="equation-vs-value"),
    P("3", "x=3", True, id="value-vs-equation"),
    P("x=3", "x = 3.0", True, id="equation-spacing-and-decimal"),
    P(r"x = \frac{1}{2}", "0.5", True, id="equation-with-fraction-vs-value"),
    P("y=2x+1", "y=1+2x", True, id="line-commuted"),
    P("y=2x+1", "2x+1=y", True, id="equation-sides-swapped"),
    P("n=1,2,3", "n=3,2,1", True, id="list-equation-reordered"),
    P("n=1,2,3", "1,2,3", True, id="list-equation-vs-list"),
    P("x=3", "4", False, id="equation-vs-wrong-value"),
    P("4", "x=3", False, id="wrong-value-vs-equation"),
    P("x=3", "y=3", False, id="different-variable"),
    P("y=2x+1", "y=2x-1", False, id="different-line"),
    P("n=1,2,3", "n=2,3,4", False, id="list-equation-different-values"),
])
def test_equations_compare_by_their_values(predicted, reference, expected):
    check_equivalent(predicted, reference, expected)


@pytest.mark.parametrize("predicted, reference, expected", [
    P(r"\pm2021", "-2021, 2021", True, id="both-signs-listed"),
    P(r"\pm 2021", "2021, -2021", True, id="both-signs-listed-other-order"),
    P(r"1\pm\sqrt{2}", r"1+\sqrt{2}, 1-\sqrt{2}", True, id="roots-of-a-quadratic"),
    P(r"1 - \sqrt{2}, 1 + \sqrt{2}", r"1\pm\sqrt{2}", True, id="roots-listed-vs-plus-minus"),
    P(r"\pm 2021", r"\pm2021", True, id="plus-minus-both-sides"),
    P(r"\pm 2021", "2021", False, id="plus-minus-vs-positive"),
    P(r"\pm2021", "-2021", False, id="plus-minus-vs-negative"),
    P(r"1\pm\sqrt{2}", r"1+\sqrt{2}", False, id="plus-minus-vs-one-root"),
    P(r"\pm 2", "2, -3", False, id="plus-minus-vs-wrong-pair"),
    P(r"1\pm\sqrt{2}", r"1+\sqrt{2}, 1-\sqrt{3}", False, id="plus-minus-vs-wrong-second-root"),
])
def test_plus_minus_means_both_signs(predicted, reference, expected):
    check_equivalent(predicted, reference, expected)


@pytest.mark.parametrize("predicted, reference, expected", [
    P(r"5\text{ cm}", "5", True, id="centimetres"),
    P(r"5 \text{ cm}", r"5\text{ cm}", True, id="units-both-sides"),
    P(r"12\text{ inches}", "12", True, id="inches"),
    P(r"90^\circ", "90", True, id="degrees"),
    P(r"90^{\circ}", r"90^\circ", True, id="degrees-braced"),
    P(r"\$5.00", "5", True, id="dollars-and-cents"),
    P(r"\$1,000", "1000", True, id="dollars-with-separator"),
    P(r"5\text{ cm}", "6", False, id="centimetres-wrong-value"),
    P(r"5\text{ cm}", "50", False, id="centimetres-vs-fifty"),
    P(r"45^\circ", r"90^\circ", False, id="different-angles"),
    P(r"90^\circ", "45", False, id="degrees-wrong-value"),
    P(r"\$5.00", "50", False, id="dollars-vs-fifty"),
    P(r"\$5.00", r"\$5.50", False, id="different-amounts"),
])
def test_units_degrees_and_currency_are_ignored(predicted, reference, expected):
    check_equivalent(predicted, reference, expected)


@pytest.mark.parametrize("predicted, reference, expected", [
    P("x>3", "3<x", True, id="greater-than-flipped"),
    P(r"x\geq 3", r"3\leq x", True, id="geq-flipped"),
    P(r"x \ge 3", r"x\geq3", True, id="ge-vs-geq"),
    P("x<-1", "-1>x", True, id="less-than-negative-flipped"),
    P("x>3", r"x\ge 3", False, id="strict-vs-non-strict"),
    P(r"x \le 3", "x<3", False, id="non-strict-vs-strict"),
    P("x>3", "x<3", False, id="opposite-direction"),
    P("x>3", "3>x", False, id="flipped-without-reversing"),
    P("x>3", "x>4", False, id="different-bound"),
    P("x>3", "y>3", False, id="different-variable"),
])
def test_inequalities_compare_as_relations(predicted, reference, expected):
    check_equivalent(predicted, reference, expected)


# --------------------------------------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------------------------------------

def test_unparseable_answer_raises_parse_error():
    with pytest.raises(ParseError):
        equivalent("\\frac{1}{", "2", **judge_settings())
