"""A deterministic, realistic batch of (completion, reference, label) triples for grading math answers.

One Grow step of a math model: problems x 8 sampled completions, so each reference repeats 8 times. A completion
is a short chain of thought ending in `\\boxed{...}` (most), `#### x` (GSM8K style, integer answers only) or
"The answer is x."; about 3% have no final answer (label False). About half are right, usually written
differently from the reference (0.75 for \\frac{3}{4}, \\sqrt{12} for 2\\sqrt{3}, (x + 1)^2 for x^2 + 2x + 1,
a reordered set); the rest are plausibly wrong (off by one, reciprocal, swapped tuple, wrong interval end).
Labels come from construction. Reference kinds: integers 40% (some with thousands separators), fractions and
decimals 20%, radicals and pi 15%, polynomials in x 8%, intervals and unions 7%, tuples 5%, sets and lists of
roots 3%, matrices 2%. No pathological inputs (exponent towers, huge numbers).

>>> pairs = make_pairs(16, seed=0)
>>> len(pairs), pairs == make_pairs(16, seed=0), pairs[0]._fields
(16, True, ('kind', 'fmt', 'completion', 'reference', 'label'))
"""

from __future__ import annotations

import random
import re
from decimal import Decimal
from fractions import Fraction
from math import gcd
from typing import NamedTuple

FLIP = {"(": "[", "[": "(", ")": "]", "]": ")"}
class Pair(NamedTuple):
    kind: str
    fmt: str
    completion: str
    reference: str
    label: bool


def _num(x: Fraction, decimal: bool = False) -> str:
    if x.denominator == 1:
        return str(x.numerator)
    if decimal:
        return str(Decimal(x.numerator) / Decimal(x.denominator))
    return f"{'-' if x < 0 else ''}\\frac{{{abs(x.numerator)}}}{{{x.denominator}}}"


def _integer(rng):
    n = rng.choices([rng.randint(2, 99), rng.randint(100, 999), rng.randint(1000, 99999)], [5, 3, 2])[0]
    ref = f"{n:,}" if n >= 1000 and rng.random() < 0.3 else str(n)
    style = (lambda m: f"{m:,}") if "," in ref else str
    wrong = [n + 1, n - 1, n + rng.randint(2, 30), 2 * n, n // 2]
    return ref, [ref, ref, f"{n:,}", str(n), f"{n}.00"], [style(m) for m in wrong]


def _fraction(rng):
    q = rng.choice([2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 16, 20, 25])
    x = Fraction(rng.choice([k for k in range(1, 3 * q) if gcd(k, q) == 1]), q) * (-1 if rng.random() < 0.15 else 1)
    s, p = ("-" if x < 0 else ""), abs(x.numerator)
    dec = _num(x, decimal=True) if 10**6 % q == 0 else None  # terminating decimal
    ref = dec if dec and rng.random() < 0.3 else _num(x)
    right = [ref, _num(x), f"{s}{p}/{q}", f"{s}\\frac{{{2 * p}}}{{{2 * q}}}", f"{s}\\dfrac{{{p}}}{{{q}}}"]
    wrong = [_num(1 / x), _num(x + Fraction(1, q)), _num(-x), f"{s}\\frac{{{p}}}{{{q + 1}}}"]
    return ref, right + [dec] * 3 * bool(dec), wrong


def _radical(rng):
    a, b, k, t = rng.randint(2, 6), rng.choice([2, 3, 5, 6, 7, 10]), rng.randint(2, 12), rng.randrange(4)
    r = lambda n: f"\\sqrt{{{n}}}"
    if t == 0:
        return f"{a}{r(b)}", [f"{a}{r(b)}", r(a * a * b), r(a * a * b), f"{a} {r(b)}"], [
            f"{a + 1}{r(b)}", r(a * b), f"{a}{r(b + 1)}"]
    if t == 1:
        ref = f"\\frac{{\\pi}}{{{k}}}"
        return ref, [ref, f"\\pi/{k}", f"\\frac{{1}}{{{k}}}\\pi", f"\\frac{{2\\pi}}{{{2 * k}}}"], [
            f"\\frac{{\\pi}}{{{k + 1}}}", f"\\frac{{2\\pi}}{{{k}}}", f"\\frac{{{k}}}{{\\pi}}"]
    if t == 2:
        c = b if b <= 6 and rng.random() < 0.5 else rng.randint(2, 6)
        ref = f"\\frac{{{r(b)}}}{{{c}}}"
        right = [ref, f"{r(b)}/{c}", f"\\frac{{1}}{{{c}}}{r(b)}"] + [f"\\frac{{1}}{{{r(b)}}}"] * 3 * (c == b)
        return ref, right, [f"\\frac{{{r(b)}}}{{{c + 1}}}", f"\\frac{{{c}}}{{{r(b)}}}", r(b)]
    c = rng.randint(2, 5)
    return f"{a} + {c}{r(b)}", [f"{a} + {c}{r(b)}", f"{c}{r(b)} + {a}", f"{a}+{r(c * c * b)}"], [
        f"{a} - {c}{r(b)}", f"{a} + {c + 1}{r(b)}", f"{a + c}{r(b)}"]


def _poly(terms) -> str:
    """[(coefficient, exponent)] in writing order -> 'x^2 - 3x + 2'."""
    out = ""
    for c, e in terms:
        if c:
            mag = "" if abs(c) == 1 and e else str(abs(c))
            out += (" - " if out else "-") if c < 0 else (" + " if out else "")
            out += mag + {0: "", 1: "x"}.get(e, f"x^{e}")
    return out


def _polynomial(rng):
    lin = lambda r: f"(x - {r})" if r > 0 else f"(x + {-r})" if r else "x"
    r1, r2 = rng.choice([-6, -5, -4, -3, -2, -1, 1, 2, 3, 4, 5, 6]), rng.choice([-4, -3, -2, -1, 1, 2, 3, 4])
    if rng.random() < 0.3:  # linear: 3x + 6 <-> 3(x + 2)
        a = rng.randint(2, 5)
        terms = [(a, 1), (-a * r1, 0)]
        return _poly(terms), [_poly(terms), f"{a}{lin(r1)}", _poly(terms[::-1])], [
            f"{a}{lin(r1 + 1)}", _poly([(a, 1), (-r1, 0)]), _poly([(a + 1, 1), (-a * r1, 0)])]
    k = rng.choice([1, 1, 1, 2, 3])
    terms = [(k, 2), (-k * (r1 + r2), 1), (k * r1 * r2, 0)]
    kk = "" if k == 1 else str(k)
    factored = f"{kk}{lin(r1)}^2" if r1 == r2 else f"{kk}{lin(r1)}{lin(r2)}"
    c0 = k * r1 * r2  # nonzero, so its sign flip is wrong; so is flipping r2's sign in the factored form
    wrong = [f"{kk}{lin(r1)}{lin(-r2)}", _poly(terms[:2] + [(c0 + 1, 0)]), _poly(terms[:2] + [(-c0, 0)])]
    return _poly(terms), [_poly(terms), factored, factored, _poly(terms[::-1])], wrong


def _interval(rng):
    a, lo, hi, t = rng.randint(-9, 5), rng.choice("[("), rng.choice("])"), rng.randrange(3)
    b = a + rng.randint(1, 9)
    if t == 0:
        ref = f"{lo}{a}, {b}{hi}"
        return ref, [ref, f"{lo}{a},{b}{hi}", f"\\left{lo}{a}, {b}\\right{hi}"], [
            f"{FLIP[lo]}{a}, {b}{hi}", f"{lo}{a}, {b}{FLIP[hi]}", f"{lo}{a}, {b + 1}{hi}"]
    if t == 1 and rng.random() < 0.5:
        ref = f"{lo}{a}, \\infty)"
        return ref, [ref, f"{lo}{a},\\infty)", f"{lo}{a}, +\\infty)", f"\\left{lo}{a}, \\infty\\right)"], [
            f"{FLIP[lo]}{a}, \\infty)", f"{lo}{a + 1}, \\infty)", f"(-\\infty, {a}]"]
    if t == 1:
        ref = f"(-\\infty, {b}{hi}"
        return ref, [ref, f"(-\\infty,{b}{hi}", f"\\left(-\\infty, {b}\\right{hi}"], [
            f"(-\\infty, {b}{FLIP[hi]}", f"(-\\infty, {b - 1}{hi}", f"[{b}, \\infty)"]
    h, l = ("]", "[") if rng.random() < 0.5 else (")", "(")
    left, right = f"(-\\infty, {a}{h}", f"{l}{b}, \\infty)"
    complement = f"{FLIP[l]}{a}, {b}{FLIP[h]}"  # (a, b) for the closed union, [a, b] for the open one
    return f"{left} \\cup {right}", [f"{left} \\cup {right}", f"{right} \\cup {left}", f"{left}\\cup{right}"], [
        f"(-\\infty, {a}{FLIP[h]} \\cup {FLIP[l]}{b}, \\infty)", complement, f"(-\\infty, {a - 1}{h} \\cup {right}"]


def _tuple(rng):
    xs = [Fraction(v) for v in rng.sample(range(-9, 10), rng.choice([2, 2, 3]))]
    if rng.random() < 0.3:
        xs[-1] += Fraction(1, 2)  # still distinct: the others are integers
    tup = lambda ys, sep=", ", dec=False: "(" + sep.join(_num(y, dec) for y in ys) + ")"
    i = next(j for j, y in enumerate(xs) if y)
    negated = xs[:i] + [-xs[i]] + xs[i + 1:]
    return tup(xs), [tup(xs), tup(xs, ","), tup(xs, dec=True), "\\left" + tup(xs)[:-1] + "\\right)"], [
        tup([xs[1], xs[0]] + xs[2:]), tup(negated), tup([xs[0] + 1] + xs[1:])]


def _set(rng):
    xs = sorted(rng.sample(range(-9, 10), rng.randint(2, 4)))
    braces = rng.random() < 0.5
    fmt = lambda ys: ("\\{%s\\}" if braces else "%s") % ", ".join(map(str, ys))
    shuffled = [rng.sample(xs, len(xs)) for _ in range(3)]
    extra = next(v for v in range(1, 20) if v not in xs)
    flip = next((i for i, v in enumerate(xs) if v and -v not in xs), None)
    wrong = [xs[:-1], xs + [extra]] + ([xs[:flip] + [-xs[flip]] + xs[flip + 1:]] if flip is not None else [])
    return fmt(xs), [fmt(xs)] + [fmt(ys) for ys in shuffled], [fmt(ys) for ys in wrong]


def _matrix(rng):
    def tex(rows, env="pmatrix", sp=" "):
        body = f"{sp}\\\\{sp}".join(f"{sp}&{sp}".join(map(str, r)) for r in rows)
        return f"\\begin{{{env}}}{sp}{body}{sp}\\end{{{env}}}"

    b, c = rng.sample(range(-5, 10), 2)  # off-diagonal entries differ, so the transpose is wrong
    rows = [[rng.randint(-5, 9), b], [c, rng.randint(-5, 9)]]
    if rng.random() < 0.3:  # a column vector
        rows = [[v] for v in rng.sample(range(-9, 10), 3)]
    i = next(j for j, r in enumerate(rows) if r[0])
    bumped, negated = [r[:] for r in rows], [r[:] for r in rows]
    bumped[0][0], negated[i][0] = rows[0][0] + 1, -rows[i][0]
    wrong = [bumped, negated] + ([[list(r) for r in zip(*rows)]] if len(rows[0]) == 2 else [])
    return tex(rows), [tex(rows), tex(rows, sp=""), tex(rows, "bmatrix")], [tex(w) for w in wrong]


KINDS = {"integer": (_integer, 40), "fraction": (_fraction, 20), "radical": (_radical, 15),
         "polynomial": (_polynomial, 8), "interval": (_interval, 7), "tuple": (_tuple, 5),
         "set": (_set, 3), "matrix": (_matrix, 2)}
SENTENCES = ["First, {a} + {b} = {s}.", "Multiplying, ${a} \\times {b} = {p}$.", "Subtracting gives {s} - {b} = {a}.",
             "We are told there are {a} items and {b} more are added.", "Note that {p} / {b} = {a}.",
             "Substituting $x = {a}$ into the expression gives {s}.", "So each of the {b} groups has {a} elements."]
BOXED = ["Therefore, the answer is $\\boxed{%s}$.", "So the final answer is \\boxed{%s}.", "\n\n\\boxed{%s}",
         "Thus we get $\\boxed{%s}$."]
PLAIN = r"-?[\d.,/]+"  # numbers and a/b go bare after "The answer is"; LaTeX goes in $...$
NO_ANSWER = ["Now we divide {a} by", "Let me recheck the step with {b} before going on.", "Next, we multiply {a} and"]


def _cot(rng, avoid: set[int]) -> str:
    out, n = [], rng.randint(2, 5)
    while len(out) < n:
        a, b = rng.randint(2, 60), rng.randint(2, 60)
        sentence = rng.choice(SENTENCES).format(a=a, b=b, s=a + b, p=a * b)
        if not avoid & {a, b, a + b, a * b}:  # no-answer completions must not contain the answer by chance
            out.append(sentence)
    return " ".join(out)


def make_pairs(n_pairs: int, seed: int) -> list[Pair]:
    """Deterministic batch: ceil(n_pairs / 8) problems x 8 completions, truncated to n_pairs."""
    rng = random.Random(seed)
    names, weights = list(KINDS), [w for _, w in KINDS.values()]
    pairs: list[Pair] = []
    while len(pairs) < n_pairs:
        kind = rng.choices(names, weights)[0]
        ref, right, wrong = KINDS[kind][0](rng)
        avoid = {int(d) for d in re.findall(r"\d+", ref.replace(",", ""))}
        for _ in range(8):
            text = _cot(rng, avoid)
            if rng.random() < 0.03:
                a, b = rng.sample([v for v in range(61, 100) if v not in avoid], 2)
                no = rng.choice(NO_ANSWER).format(a=a, b=b)
                pairs.append(Pair(kind, "none", f"{text} {no}", ref, False))
                continue
            label = rng.random() < 0.5
            ans, r = rng.choice(right if label else wrong), rng.random()
            if kind == "integer" and r < 0.30:
                fmt, end = "gsm8k", f"\n#### {ans}"
            elif r > 0.82:
                fmt, end = "answer_is", f" The answer is {ans if re.fullmatch(PLAIN, ans) else '$' + ans + '$'}."
            else:
                fmt, end = "boxed", " " + rng.choice(BOXED) % ans
            pairs.append(Pair(kind, fmt, text + end.replace(" \n", "\n"), ref, label))
    return pairs[:n_pairs]
