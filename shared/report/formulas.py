"""Formulas over other metrics' figures (+ - * / and numbers); pure, never raises on 0."""

from __future__ import annotations

import ast
import math
from collections.abc import Mapping
from dataclasses import dataclass

_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
# A formula is a short sum of a few metrics: these bounds are far above any real one, and far
# below what would exhaust Python's recursion limit while parsing or evaluating it.
MAX_FORMULA_CHARS = 500
MAX_FORMULA_DEPTH = 50
MAX_CONSTANT = 1e12  # a scale factor, never a figure: a larger one is a typo


@dataclass(frozen=True, slots=True)
class Formula:
    """A parsed formula such as 'users_onboarded / new_signups'; `keys` are the metrics used."""

    text: str
    keys: tuple[str, ...]
    tree: ast.expr


class FormulaError(ValueError):
    """The formula text is not one of the allowed forms."""


class FormulaOverflow(ArithmeticError):
    """A formula's value (or a step of it) is beyond what a float holds: no figure, never inf."""


def parse_formula(text: str) -> Formula:
    """The formula in `text`; raises FormulaError naming what is not allowed."""
    if len(text.strip()) > MAX_FORMULA_CHARS:
        raise FormulaError(
            f"formula is {len(text.strip()):,} characters long; at most {MAX_FORMULA_CHARS} allowed"
        )
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, RecursionError, MemoryError):  # RecursionError: nested too deeply
        raise FormulaError(f"cannot read formula {text[:80]!r}") from None
    keys: list[str] = []

    def check(node: ast.expr, depth: int = 1) -> None:
        if depth > MAX_FORMULA_DEPTH:
            raise FormulaError(
                f"formula {text[:80]!r} nests more than {MAX_FORMULA_DEPTH} operations deep"
            )
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            check(node.left, depth + 1)
            check(node.right, depth + 1)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            check(node.operand, depth + 1)
        elif isinstance(node, ast.Name):
            keys.append(node.id)
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, int | float)
            and not isinstance(node.value, bool)
        ):
            if not -MAX_CONSTANT <= node.value <= MAX_CONSTANT:  # also refuses 1e999 (inf)
                raise FormulaError(
                    f"formula {text[:80]!r}: a number may be at most {MAX_CONSTANT:,.0f}"
                )
        else:
            raise FormulaError(
                f"formula {text!r} may only use metric keys, numbers, + - * / and parentheses"
            )

    check(tree)
    if not keys:
        raise FormulaError(f"formula {text!r} names no metric")
    return Formula(text.strip(), tuple(dict.fromkeys(keys)), tree)


def evaluate(formula: Formula, values: Mapping[str, float | None]) -> float | None:
    """The formula's finite value; None when an input is missing or a division is by zero.

    Raises FormulaOverflow when an input, a constant or any step is not a finite float
    (1e200 * 1e200), so Infinity or NaN never becomes a figure.
    """

    def finite(number: float | None) -> float | None:
        if number is not None and not math.isfinite(number):
            raise FormulaOverflow(f"{formula.text} is too large to compute")
        return number

    def value(node: ast.expr) -> float | None:
        try:
            return finite(step(node))
        except OverflowError:  # an integer (input or literal) of 400 digits: no float holds it
            raise FormulaOverflow(f"{formula.text} is too large to compute") from None

    def step(node: ast.expr) -> float | None:
        if isinstance(node, ast.Name):
            got = values.get(node.id)
            return None if got is None else float(got)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return float(node.value)
        if isinstance(node, ast.UnaryOp):
            inner = value(node.operand)
            return None if inner is None else -inner
        if not isinstance(node, ast.BinOp):  # parse_formula allows nothing else
            return None
        left, right = value(node.left), value(node.right)
        if left is None or right is None:
            return None
        if isinstance(node.op, ast.Add):
            return left + right
        if isinstance(node.op, ast.Sub):
            return left - right
        if isinstance(node.op, ast.Mult):
            return left * right
        return None if right == 0 else left / right

    return value(formula.tree)
