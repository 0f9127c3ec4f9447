"""Structural equality of two parsed answers (what latex2sympy2_extended returns).

- tuples: same length, equal in order; intervals: equal ends and the same open/closed ends;
- sets, bare lists of answers, `\\pm` (a two-element set) and unions: equal as multisets, in any order;
  a one-element set equals its element;
- matrices: same shape, equal entries;
- an assignment `x = 3` equals `3`; two equations are equal side by side, or when their lhs - rhs agree up to
  a non-zero constant factor (`y = -x/2 + 3/4` is `2x + 4y - 3 = 0`); inequalities in sympy's canonical form;
- a sum or product of matrices is evaluated first; an open interval `(a, b)` equals the pair `(a, b)` (the
  parser cannot tell them apart in a list of pairs); a column or row vector equals the tuple of its entries; an
  inequality in one variable equals the interval that solves it (`x \\le 2` is `(-\\infty, 2]`);
- numbers (no free symbols): integers exactly (also `2^{64}` and `20!` when under 1000 digits), others |a - b| <= rel_tol * max(|a|, |b|) at 30 significant digits, so tiny
  values such as 1/2004! and 1/2006! stay distinct; other expressions: simplify(a - b) == 0.
"""

from __future__ import annotations

from fractions import Fraction

import sympy
from sympy import Eq, FiniteSet, Interval, MatrixBase, MatrixExpr, Tuple, Union
from sympy.core.relational import Relational

from rest.verifier.numbers import close

_DIGITS = 30
_MAX_EXACT_DIGITS = 1000  # an integer with more digits than this (`10^{10^{10}}`) is compared as a float


def same(a, b, rel_tol: float) -> bool:
    a, b = _evaluated(a), _evaluated(b)
    if isinstance(a, list) or isinstance(b, list):  # a bare list of answers, as equivalence.parse_answer reads it
        return _same_multiset(_elements(a), _elements(b), rel_tol)
    if isinstance(a, Eq) or isinstance(b, Eq):
        return _same_equation(a, b, rel_tol)
    if isinstance(a, FiniteSet) or isinstance(b, FiniteSet):
        return _same_multiset(_elements(a), _elements(b), rel_tol)
    if isinstance(a, Union) and isinstance(b, Union):
        return _same_multiset(list(a.args), list(b.args), rel_tol)
    if isinstance(a, Tuple) and isinstance(b, Tuple):
        return len(a) == len(b) and all(same(x, y, rel_tol) for x, y in zip(a, b))
    across = _same_across_types(a, b, rel_tol)
    if across is not None:
        return across
    if isinstance(a, Interval) and isinstance(b, Interval):
        return (a.left_open, a.right_open) == (b.left_open, b.right_open) and \
            same(a.start, b.start, rel_tol) and same(a.end, b.end, rel_tol)
    if isinstance(a, MatrixBase) and isinstance(b, MatrixBase):
        return a.shape == b.shape and all(same(x, y, rel_tol) for x, y in zip(a, b))
    if isinstance(a, Relational) and isinstance(b, Relational):
        a, b = a.canonical, b.canonical
        return type(a) is type(b) and same(a.lhs, b.lhs, rel_tol) and same(a.rhs, b.rhs, rel_tol)
    if isinstance(a, sympy.Expr) and isinstance(b, sympy.Expr):
        return _same_expression(a, b, rel_tol)
    return a == b


def _same_across_types(a, b, rel_tol: float) -> bool | None:
    """Readings across types; None when none applies. An open interval `(a, b)` is the pair (a, b); a column or
    row vector is the tuple of its entries; an inequality in one variable is the set that solves it."""
    for x, y in ((a, b), (b, a)):
        if isinstance(x, Relational) and not isinstance(x, Eq) and len(x.free_symbols) == 1 and \
                isinstance(y, (Interval, Union)):
            return same(x.as_set(), y, rel_tol)
        if isinstance(x, MatrixBase) and 1 in x.shape and isinstance(y, (Tuple, Interval)):
            return same(Tuple(*x), y, rel_tol)
        if isinstance(x, Interval) and isinstance(y, Tuple):
            return x.left_open and x.right_open and len(y) == 2 and \
                same(x.start, y[0], rel_tol) and same(x.end, y[1], rel_tol)
    return None


def scaled(value, factor: Fraction):
    """`value * factor` for a scalar expression; None for structures (sets, intervals...)."""
    if isinstance(value, sympy.Expr) and not isinstance(value, Relational):
        return value * sympy.Rational(factor.numerator, factor.denominator)
    return None


def _same_equation(a, b, rel_tol: float) -> bool:
    if not (isinstance(a, Eq) and isinstance(b, Eq)):
        eq, other = (a, b) if isinstance(a, Eq) else (b, a)
        return isinstance(eq.lhs, sympy.Symbol) and not isinstance(other, Relational) and same(eq.rhs, other, rel_tol)
    if same(a.lhs, b.lhs, rel_tol) and same(a.rhs, b.rhs, rel_tol):
        return True
    if not all(isinstance(side, sympy.Expr) for side in (*a.args, *b.args)):
        return False
    da, db = a.lhs - a.rhs, b.lhs - b.rhs
    return _is_zero(da - db) or _is_zero(da + db) or _proportional(da, db)


def _proportional(x: sympy.Expr, y: sympy.Expr) -> bool:
    """x = c * y for a constant c != 0 (the same equation x = 0 as y = 0). Both must have free symbols."""
    if not (x.free_symbols and y.free_symbols) or x.free_symbols != y.free_symbols or _is_zero(y):
        return False
    ratio = sympy.cancel(sympy.together(x / y))
    if ratio.free_symbols:
        ratio = sympy.simplify(ratio)
    return not ratio.free_symbols and ratio.is_number and ratio != 0 and bool(ratio.is_finite)


def _evaluated(value):
    """A sum or product of matrices (`A + B`, `2A`) as the matrix it equals; anything else as it is."""
    if isinstance(value, MatrixExpr) and not isinstance(value, MatrixBase):
        try:
            return sympy.ImmutableMatrix(value.doit())
        except (ValueError, TypeError, sympy.ShapeError):
            return value
    return value


def _elements(value) -> list:
    if isinstance(value, list):
        return value
    return list(value.args) if isinstance(value, FiniteSet) else [value]


def _same_multiset(xs: list, ys: list, rel_tol: float) -> bool:
    if len(xs) != len(ys):
        return False
    unmatched = list(ys)
    for x in xs:
        match = next((i for i, y in enumerate(unmatched) if same(x, y, rel_tol)), None)
        if match is None:
            return False
        unmatched.pop(match)
    return True


def _same_expression(a: sympy.Expr, b: sympy.Expr, rel_tol: float) -> bool:
    if a == b:
        return True
    if a.free_symbols or b.free_symbols:
        return _is_zero(a - b)
    if a.is_Rational and b.is_Rational:
        return close(Fraction(int(a.p), int(a.q)), Fraction(int(b.p), int(b.q)), rel_tol)
    x, y = _exact_integer(a), _exact_integer(b)
    if x is not None and y is not None:
        return x == y
    x, y = a.evalf(_DIGITS), b.evalf(_DIGITS)
    if x.is_number and y.is_number and x.is_finite and y.is_finite:
        return bool(abs(x - y) <= rel_tol * max(abs(x), abs(y)))
    return _is_zero(a - b)


def _exact_integer(value: sympy.Expr) -> sympy.Integer | None:
    """The exact value of a number that is an integer (`2^{64}`, `20!`); None for anything else, and for any
    number whose parts are too large or too small to compute exactly (`10^{10^{10}}` is not expanded)."""
    if not _modest_parts(value):
        return None
    try:
        exact = value.doit()
    except (ArithmeticError, ValueError, TypeError):
        return None
    return exact if isinstance(exact, sympy.Integer) else None


def _modest_parts(value: sympy.Expr) -> bool:
    """True if every part of `value`, innermost first, is a finite number within 10^(±_MAX_EXACT_DIGITS)."""
    bound = sympy.Float(10) ** _MAX_EXACT_DIGITS
    for part in sympy.postorder_traversal(value):
        if not isinstance(part, sympy.Expr) or part.free_symbols:
            return False
        if part.is_Atom:
            continue
        magnitude = abs(part.evalf(15))
        if not (magnitude.is_number and magnitude.is_finite) or magnitude > bound or 0 < magnitude * bound < 1:
            return False
    return True


def _is_zero(expr) -> bool:
    """expand() settles most cases; a random point where expr is clearly non-zero rules it out; else simplify()."""
    if expr == 0 or sympy.expand(expr) == 0:
        return True
    if expr.free_symbols and _nonzero_somewhere(expr):
        return False
    return sympy.simplify(expr) == 0


def _nonzero_somewhere(expr) -> bool:
    point = {s: sympy.Rational(7 + 3 * i, 11 + 2 * i) for i, s in enumerate(sorted(expr.free_symbols, key=str))}
    value = expr.subs(point).evalf(_DIGITS)
    return bool(value.is_number and value.is_finite and abs(value) > 1e-12)
