"""Whole completions written the way strong models write them, judged with the configured verifier's defaults
(the reading of `python -m rest.verifier` and mode=score: `fallback=last_expression`).

One table per class of answer; each case that must be judged right stands beside a near-miss twin that must be
judged wrong. Each case is (completion, reference, expected). bench/verifier_cases.py runs these tables (and the
older ones) through this verifier and Math-Verify side by side.
"""

from __future__ import annotations

import pytest

P = pytest.param
MINERVA = "Final Answer: The final answer is ${}$. I hope it is correct."
PAIR = r"\begin{pmatrix}1&2\\3&4\end{pmatrix}"

FINAL_ANSWER_BY_POSITION = [
    P(r"The first block sums to $\boxed{200}$ and the second to $\boxed{255}$. With the other terms the total is"
      " 10,455.\n" + MINERVA.format("10,455"), "10455", True, id="minerva-sentence-after-boxed-steps"),
    P(r"The first block sums to $\boxed{200}$ and the second to $\boxed{255}$." "\n" + MINERVA.format("10,445"),
      "10455", False, id="minerva-sentence-after-boxed-steps-wrong-total"),
    P(r"First $x = \boxed{3}$, so the area is $3^2 = 9$." "\n**Final Answer:** 9", "9", True,
      id="markdown-final-answer-after-a-boxed-step"),
    P(r"First $x = \boxed{3}$, so the area is $3^2 = 9$." "\n**Final Answer:** 9", "3", False,
      id="the-boxed-step-is-not-the-answer"),
    P(r"The final answer is $\boxed{\frac{3}{4}}$.", r"\frac34", True, id="final-answer-sentence-with-a-box"),
    P(r"The final answer is $\boxed{\frac{3}{4}}$.", r"\frac43", False, id="final-answer-sentence-with-a-box-wrong"),
    P("The final answer is 7? Let me recheck the last step: 3 * 4 = 12, so $\\boxed{12}$.", "12", True,
      id="a-later-box-beats-an-earlier-final-answer"),
    P("The final answer is 7? Let me recheck the last step: 3 * 4 = 12, so $\\boxed{12}$.", "7", False,
      id="the-earlier-final-answer-is-replaced"),
]

SEVERAL_BOXES = [
    P(r"The equation has two roots: $\boxed{1}$ and $\boxed{2}$.", "1, 2", True, id="two-roots-boxed-apart"),
    P(r"It is either $\boxed{1}$ or $\boxed{2}$.", "2", False, id="a-hedge-of-two-boxes-is-not-one-answer"),
    P(r"The pairs are $\boxed{(2, 2)} \quad \text{and} \quad \boxed{(6, 2)}$.", "(2, 2), (6, 2)", True,
      id="two-pairs-boxed-apart"),
    P(r"The pairs are $\boxed{(2, 2)} \quad \text{and} \quad \boxed{(6, 2)}$.", "(2, 2), (2, 6)", False,
      id="two-pairs-one-reversed"),
    P(r"Hence $\boxed{k = 45} \quad \text{and} \quad \boxed{n = 2}$.", "k = 45, n = 2", True,
      id="parts-of-a-two-part-answer"),
    P(r"Hence $\boxed{k = 45} \quad \text{and} \quad \boxed{n = 2}$.", "k = 45, n = 3", False,
      id="parts-of-a-two-part-answer-one-wrong"),
    P(r"So $x = \boxed{-3}$, $y = \boxed{4}$.", "-3, 4", True, id="labelled-boxes-against-bare-values"),
    P(r"So $x = \boxed{-3}$, $y = \boxed{4}$.", "x = 4, y = -3", False, id="labelled-boxes-keep-their-labels"),
]

LABELLED_ANSWERS = [
    P(r"Thus \boxed{AB=4,CD=5}.", "4, 5", True, id="named-lengths-against-bare-values"),
    P(r"Thus \boxed{AB=4,CD=6}.", "4, 5", False, id="named-lengths-one-wrong"),
    P(r"\boxed{4, 5}", "AB=4,CD=5", True, id="bare-values-against-named-lengths"),
    P(r"\boxed{4, 6}", "AB=4,CD=5", False, id="bare-values-against-named-lengths-one-wrong"),
    P(r"The primes are \boxed{(p,q)=(3,2)}.", "(3, 2)", True, id="named-pair"),
    P(r"The primes are \boxed{(p,q)=(3,2)}.", "(2, 3)", False, id="named-pair-order-matters"),
    P(r"The ratio is \boxed{S_{MBCN}:S=7:32}.", "7:32", True, id="named-ratio"),
    P(r"The ratio is \boxed{S_{MBCN}:S=7:23}.", "7:32", False, id="named-ratio-inverted-digits"),
    P(r"\boxed{(x, y) = (5, 8) \quad \text{and} \quad (8, 5)}", "(5, 8), (8, 5)", True, id="named-solution-list"),
    P(r"\boxed{(x, y) = (5, 8)}", "(5, 8), (8, 5)", False, id="named-solution-list-missing-one"),
    P(r"\boxed{x = 3}", "y = 3", False, id="different-labels-on-both-sides"),
    P(r"\boxed{f(2) = 7}", "7", True, id="function-value"),
    P(r"\boxed{a=2, b=3}", "(2,3)", True, id="named-values-against-a-pair"),
    P(r"\boxed{a=2, b=3}", "(3,2)", False, id="named-values-against-a-pair-in-the-other-order"),
]

CHAINED_EQUALITIES = [
    P(r"\boxed{x = 5+5+1 = 7 = 11}", "11", True, id="the-last-side-is-the-answer"),
    P(r"\boxed{x = 5+5+1 = 7 = 11}", "7", False, id="a-middle-side-is-not-the-answer"),
    P(r"The total is \boxed{T = 3\cdot 4 + 2 = 14}.", "14", True, id="named-total"),
    P(r"The total is \boxed{T = 3\cdot 4 + 2 = 14}.", "12", False, id="named-total-wrong"),
    P(r"\boxed{2+3=5}", "5", True, id="sum-and-its-value"),
    P(r"\boxed{2+3=5}", "6", False, id="sum-and-its-value-wrong"),
]

EQUATIONS_UP_TO_A_FACTOR = [
    P(r"The line is \boxed{y=-\frac{1}{2}x+\frac{3}{4}}.", "2x+4y-3=0", True, id="slope-intercept-vs-general-form"),
    P(r"The line is \boxed{y=-\frac{1}{2}x+\frac{3}{4}}.", "2x+4y+3=0", False, id="slope-intercept-other-line"),
    P(r"\boxed{\frac{x^2}{16}+\frac{y^2}{12}=\frac14}", r"\frac{x^2}{4}+\frac{y^2}{3}=1", True,
      id="ellipse-scaled-by-four"),
    P(r"\boxed{\frac{x^2}{16}+\frac{y^2}{12}=\frac14}", r"\frac{x^2}{3}+\frac{y^2}{4}=1", False,
      id="ellipse-axes-swapped"),
    P(r"\boxed{3x - 6y = 9}", "x - 2y = 3", True, id="line-times-three"),
    P(r"\boxed{3x - 6y = 9}", "x - 2y = 9", False, id="line-times-three-constant-not-scaled"),
    P(r"\boxed{x^2 = 9}", "x = 3", False, id="squared-equation-is-not-a-factor"),
]

EXPRESSIONS_TO_EVALUATE = [
    P(rf"\boxed{{{PAIR}+\begin{{pmatrix}}1&0\\0&1\end{{pmatrix}}}}", r"\begin{pmatrix}2&2\\3&5\end{pmatrix}", True,
      id="matrix-sum"),
    P(rf"\boxed{{{PAIR}+\begin{{pmatrix}}1&0\\0&1\end{{pmatrix}}}}", r"\begin{pmatrix}2&2\\3&4\end{pmatrix}", False,
      id="matrix-sum-wrong-entry"),
    P(rf"\boxed{{{PAIR}\begin{{pmatrix}}0&1\\1&0\end{{pmatrix}}}}", r"\begin{pmatrix}2&1\\4&3\end{pmatrix}", True,
      id="matrix-product"),
    P(rf"\boxed{{{PAIR}\begin{{pmatrix}}0&1\\1&0\end{{pmatrix}}}}", r"\begin{pmatrix}3&4\\1&2\end{pmatrix}", False,
      id="matrix-product-in-the-other-order"),
    P(r"\boxed{2\begin{pmatrix}1\\-1\end{pmatrix}}", r"\begin{pmatrix}2\\-2\end{pmatrix}", True, id="scaled-vector"),
    P(r"\boxed{2\begin{pmatrix}1\\-1\end{pmatrix}}", r"\begin{pmatrix}2\\2\end{pmatrix}", False,
      id="scaled-vector-sign"),
    P(r"\boxed{3^4 - 2^5}", "49", True, id="powers"),
    P(r"\boxed{3^4 - 2^5}", "47", False, id="powers-wrong"),
    P(r"\boxed{\binom{5}{2} \cdot 3}", "30", True, id="binomial-times-three"),
    P(r"\boxed{\binom{5}{2} \cdot 3}", "20", False, id="binomial-times-three-wrong"),
]

PERCENT_WORDS = [
    P(r"\boxed{28 percent}", r"28\%", True, id="percent-word-vs-sign"),
    P(r"\boxed{28 percent}", r"82\%", False, id="percent-word-vs-other-percent"),
    P("So the answer is 28 pct.", r"28\%", True, id="pct"),
    P("So the answer is 27 pct.", r"28\%", False, id="pct-off-by-one"),
    P(r"\boxed{12.5\text{ percent}}", "12.5", True, id="percent-word-in-text-vs-number"),
    P(r"\boxed{12.5\text{ percent}}", "125", False, id="percent-word-in-text-decimal-point-matters"),
    P(r"\boxed{40 per cent}", r"40\%", True, id="per-cent"),
    P(r"\boxed{40 percent}", "0.4", False, id="percent-word-is-not-rescaled-without-the-flag"),
]

BARE_ANSWERS = [
    P("-5", "-5", True, id="a-negative-number"),
    P("-5", "5", False, id="a-negative-number-sign"),
    P(r"\frac{10}{9}", "10/9", True, id="a-fraction"),
    P(r"\frac{10}{9}", "9", False, id="a-fraction-is-not-its-denominator"),
    P("$[0,1)$", "[0,1)", True, id="an-interval-in-dollars"),
    P("$[0,1)$", "[0,1]", False, id="an-interval-in-dollars-closed-end"),
    P("Answer $ 9 $", "9", True, id="answer-label-and-dollars"),
    P("Answer $ 9 $", "8", False, id="answer-label-and-dollars-wrong"),
    P("Answer: x = 4", "4", True, id="answer-label-and-assignment"),
    P("Adding them up, the total comes to $42$ apples.", "42", True, id="free-form-last-math-span"),
    P("Adding them up, the total comes to $42$ apples.", "24", False, id="free-form-last-math-span-wrong"),
    P("There are 2 codes left.", "2", True, id="free-form-last-number"),
    P("The code is AZYUK2A.", "2", False, id="a-number-inside-a-word-is-not-an-answer"),
    P("She earns $12 per hour and $5 in tips, so $17 in total.", "17", True, id="dollar-signs-are-currency-here"),
    P("She earns $12 per hour and $5 in tips, so $17 in total.", "12", False, id="prose-between-dollars-is-not-math"),
    P("Therefore, John spent $\\$45$ on books.", "45", True, id="escaped-dollar-inside-math"),
    P("Therefore, John spent $\\$45$ on books.", "54", False, id="escaped-dollar-inside-math-wrong"),
    P("The probability is 3/8.", "3/8", True, id="a-slash-fraction-is-one-number"),
    P("The probability is 3/8.", "8", False, id="a-slash-fraction-is-not-its-denominator"),
]

NUMBER_FORMATS = [
    P(r"\boxed{1 000}", "1000", True, id="space-thousands-separator"),
    P(r"\boxed{1 000}", "1", False, id="space-thousands-separator-not-the-first-group"),
    P(r"\boxed{1,22}", "1.22", True, id="decimal-comma"),
    P(r"\boxed{1,220}", "1.22", False, id="comma-before-three-digits-is-thousands"),
    P(r"\boxed{1000,99}", "1000.99", True, id="decimal-comma-after-four-digits"),
    P(r"\boxed{1000,99}", "100099", False, id="decimal-comma-is-not-dropped"),
    P(r"\boxed{1000.0}", "1000", True, id="trailing-decimal-zero"),
    P(r"\boxed{100.0}", "1000", False, id="trailing-decimal-zero-is-not-a-digit"),
    P(r"\boxed{.4}", "0.4", True, id="leading-decimal-point"),
    P(r"\boxed{.4}", "4", False, id="leading-decimal-point-matters"),
    P("The answer is 2,74 $.", "2.74", True, id="decimal-comma-and-currency-after"),
    P("The answer is 2,74 $.", "274", False, id="decimal-comma-and-currency-after-not-dropped"),
    P(r"\boxed{1,000.99€}", "1000.99", True, id="euro-after"),
    P(r"\boxed{1,000.99€}", "1000.9", False, id="euro-after-wrong-cent"),
    P(r"\boxed{1,000.99m²}", "1000.99", True, id="square-metres-after"),
    P(r"\boxed{1,000.99m²}", "100099", False, id="square-metres-after-point-kept"),
    P(r"\boxed{1.000,5}", "1000.5", True, id="dot-thousands-comma-decimal"),
    P(r"\boxed{1.000,5}", "1.0005", False, id="dot-thousands-comma-decimal-not-a-small-number"),
    P(r"\boxed{12 \text{ cm}}", "12", True, id="units-in-text"),
    P(r"\boxed{12 \text{ cm}}", "120", False, id="units-in-text-wrong-value"),
]

NOTATION_AND_SETS = [
    P(r"\boxed{\mathbf{5}}", "5", True, id="bold-number"),
    P(r"\boxed{\mathbf{5}}", "6", False, id="bold-number-wrong"),
    P("**Answer: 12**", "12", True, id="markdown-bold-answer-line"),
    P("**Answer: 12**", "21", False, id="markdown-bold-answer-line-wrong"),
    P(r"\boxed{0.\overline{3}}", "1/3", True, id="repeating-decimal"),
    P(r"\boxed{0.1\overline{6}}", r"\frac{1}{6}", True, id="repeating-decimal-after-a-fixed-digit"),
    P(r"\boxed{0.\overline{3}}", "0.3", False, id="repeating-decimal-is-not-its-first-digit"),
    P(r"\boxed{\emptyset}", r"\varnothing", True, id="empty-set-symbols"),
    P(r"\boxed{\emptyset}", r"\{0\}", False, id="empty-set-is-not-zero"),
    P(r"\boxed{x \le 2}", r"(-\infty, 2]", True, id="inequality-vs-interval"),
    P(r"\boxed{x < 2}", r"(-\infty, 2]", False, id="strict-inequality-vs-closed-interval"),
    P(r"\boxed{[3, \infty)}", r"k \ge 3", True, id="interval-vs-inequality"),
    P(r"\boxed{\begin{pmatrix}1\\2\end{pmatrix}}", "(1, 2)", True, id="column-vector-vs-pair"),
    P(r"\boxed{\begin{pmatrix}1\\2\end{pmatrix}}", "(2, 1)", False, id="column-vector-vs-reversed-pair"),
]

STRICTNESS_KEPT = [
    P(r"\boxed{\frac{1}{2004!}}", r"\frac{1}{2004!}", True, id="tiny-factorial-same"),
    P(r"\boxed{\frac{1}{2004!}}", r"\frac{1}{2006!}", False, id="tiny-factorial-two-apart"),
    P(r"\boxed{10^{-20}}", "10^{-20}", True, id="tiny-power-same"),
    P(r"\boxed{10^{-20}}", "10^{-21}", False, id="tiny-power-one-apart"),
    P("0.5", "0.50", True, id="half-bare"),
    P("0.5", "50", False, id="half-is-not-fifty"),
    P("The answer is 5000.", "5,000", True, id="five-thousand"),
    P("The answer is 5000.", "50", False, id="five-thousand-is-not-fifty"),
    P(r"\boxed{[1,2)}", "[1,2)", True, id="half-open-interval-same"),
    P(r"\boxed{[1,2)}", "(1,2]", False, id="half-open-interval-other-end"),
    P(r"\boxed{n=1,2,3}", "n=3,2,1", True, id="list-of-n-reordered"),
    P(r"\boxed{n=1,2,3}", "n=2,3,4", False, id="list-of-n-shifted"),
    P(r"\boxed{\pm 2021}", "2021, -2021", True, id="plus-minus-listed"),
    P(r"\boxed{\pm 2021}", "2021", False, id="plus-minus-is-not-one-sign"),
]

TABLES = {name.lower(): table for name, table in list(globals().items()) if name.isupper() and isinstance(table, list)}


@pytest.mark.parametrize("completion, reference, expected",
                         [P(*case.values, id=f"{name}:{case.id}") for name, table in TABLES.items() for case in table])
def test_real_outputs_are_judged_right(verifier, completion, reference, expected):
    verdict = verifier.verify([completion], [reference])[0]
    assert verdict.correct is expected, f"extracted {verdict.extracted!r} ({verdict.status}) vs {reference!r}"


@pytest.mark.parametrize("name", sorted(TABLES))
def test_every_class_has_right_cases_and_wrong_twins(name):
    labels = [case.values[2] for case in TABLES[name]]
    assert labels.count(True) >= 3 and labels.count(False) >= 3, labels
