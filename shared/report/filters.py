"""Event filters of a metric: which raw events it counts, by their properties; pure."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

Scalar = str | int | float | bool


class Op(StrEnum):
    """How a property is compared (all conditions of a metric must hold: they combine with and)."""

    EQUALS = "equals"
    ONE_OF = "one_of"
    NOT = "not"
    CONTAINS = "contains"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"


NUMERIC_OPS = frozenset({Op.GT, Op.GTE, Op.LT, Op.LTE})
_WORDS = {
    Op.EQUALS: "is",
    Op.ONE_OF: "is one of",
    Op.NOT: "is not",
    Op.CONTAINS: "contains",
    Op.GT: ">",
    Op.GTE: ">=",
    Op.LT: "<",
    Op.LTE: "<=",
}


def is_number(value: object) -> bool:
    """True for a JSON number (a bool is not one, though Python says it is an int)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def exact(value: object) -> Decimal | None:
    """The exact decimal a JSON number reads as; None for anything that is not a finite number.

    Never a float conversion: an integer of 400 digits (JSON carries it) or 1e308 stays exact,
    and NaN or Infinity (a lenient decoder's, or a Decimal's) is no number at all.
    """
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else None
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    return None


def _same(actual: object, wanted: Scalar) -> bool:
    if is_number(actual) and is_number(wanted):
        return actual == wanted
    return type(actual) is type(wanted) and actual == wanted


@dataclass(frozen=True, slots=True)
class Condition:
    """One property test, e.g. platform equals "iOS" or amount gte 10."""

    property: str
    op: Op
    values: tuple[Scalar, ...]

    def matches(self, properties: Mapping[str, Any]) -> bool:
        """Whether an event with these properties passes; a missing property passes only 'not'."""
        if self.property not in properties:
            return self.op is Op.NOT
        actual = properties[self.property]
        if self.op in (Op.EQUALS, Op.ONE_OF):
            return any(_same(actual, v) for v in self.values)
        if self.op is Op.NOT:
            return not any(_same(actual, v) for v in self.values)
        if self.op is Op.CONTAINS:
            return isinstance(actual, str) and str(self.values[0]) in actual
        number = exact(actual)
        bound = exact(self.values[0])
        if number is None or bound is None:
            return False
        if self.op is Op.GT:
            return number > bound
        if self.op is Op.GTE:
            return number >= bound
        if self.op is Op.LT:
            return number < bound
        return number <= bound

    def describe(self) -> str:
        """'platform is iOS', 'country is one of GB, IE'."""
        shown = ", ".join(str(v) for v in self.values)
        return f"{self.property} {_WORDS[self.op]} {shown}"


def matches_all(conditions: tuple[Condition, ...], properties: Mapping[str, Any]) -> bool:
    """True when every condition holds (no conditions: every event)."""
    return all(c.matches(properties) for c in conditions)


def parse_condition(raw: object, where: str, problems: list[str]) -> Condition | None:
    """A Condition from a TOML table like {property = "platform", equals = "iOS"}."""
    if not isinstance(raw, dict):
        problems.append(f'{where} must be a table like {{ property = "platform", equals = "iOS" }}')
        return None
    prop = raw.get("property")
    ops = [k for k in raw if k != "property"]
    unknown = [k for k in ops if k not in {o.value for o in Op}]
    if not isinstance(prop, str) or not prop.strip():
        problems.append(f"{where} needs a property name")
        return None
    where = f"{where} ({prop})"
    if unknown:
        problems.append(
            f"{where} has unknown comparisons {sorted(unknown)}; "
            f"use one of {', '.join(o.value for o in Op)}"
        )
        return None
    if len(ops) != 1:
        problems.append(f"{where} needs exactly one comparison, got {len(ops)}")
        return None
    op = Op(ops[0])
    value = raw[op.value]
    values: tuple[Scalar, ...]
    if op in (Op.ONE_OF, Op.NOT) and isinstance(value, list):
        if not value or not all(isinstance(v, Scalar) for v in value):
            problems.append(f"{where} {op.value} must be a non-empty list of values")
            return None
        values = tuple(value)
    elif op is Op.ONE_OF:
        problems.append(f"{where} one_of must be a list of values")
        return None
    elif op in NUMERIC_OPS:
        if not is_number(value) or not math.isfinite(value):  # nan matches nothing, ever
            problems.append(f"{where} {op.value} must be a finite number")
            return None
        values = (value,)
    elif op is Op.CONTAINS:
        if not isinstance(value, str) or not value:
            problems.append(f"{where} contains must be non-empty text")
            return None
        values = (value,)
    else:
        if not isinstance(value, Scalar):
            problems.append(f"{where} {op.value} must be text, a number or true/false")
            return None
        values = (value,)
    return Condition(prop.strip(), op, values)
