"""The unit a metric is shown in: count, currency (code and symbol), percent or number."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum


class UnitKind(StrEnum):
    """What a metric's figure is."""

    COUNT = "count"
    CURRENCY = "currency"
    PERCENT = "percent"
    NUMBER = "number"


# Symbols for common ISO 4217 codes; any other three-letter code is shown after the amount.
CURRENCY_SYMBOLS = {
    "GBP": "£",
    "EUR": "€",
    "USD": "$",
    "JPY": "¥",
    "INR": "₹",
    "AUD": "A$",
    "CAD": "C$",
    "CHF": "CHF ",
}
DEFAULT_DECIMALS = {
    UnitKind.COUNT: 0,
    UnitKind.CURRENCY: 2,
    UnitKind.PERCENT: 1,
    UnitKind.NUMBER: 2,
}
MAX_DECIMALS = 6


@dataclass(frozen=True, slots=True)
class Unit:
    """How a figure is shown: kind, currency code (currency only) and decimals."""

    kind: UnitKind = UnitKind.COUNT
    currency: str | None = None
    decimals: int = 0

    @property
    def is_rate(self) -> bool:
        """A percentage: its change is read in percentage points, not relative."""
        return self.kind is UnitKind.PERCENT


COUNT = Unit()


def parse_unit(raw: dict[str, object], where: str, problems: list[str], *, default: Unit) -> Unit:
    """The unit of a metric table (`unit`, `currency`, `decimals`), or `default` when unset."""
    kind_raw = raw.get("unit")
    if kind_raw is None:
        kind = default.kind
    elif isinstance(kind_raw, str) and kind_raw in {k.value for k in UnitKind}:
        kind = UnitKind(kind_raw)
    else:
        problems.append(
            f"{where} unit must be one of {', '.join(k.value for k in UnitKind)}, got {kind_raw!r}"
        )
        return default
    currency = raw.get("currency")
    if kind is UnitKind.CURRENCY:
        if not isinstance(currency, str) or len(currency) != 3 or not currency.isalpha():
            problems.append(f'{where} needs a three-letter currency code like "GBP"')
            return default
        currency = currency.upper()
    elif currency is not None:
        problems.append(f'{where} currency only applies with unit = "currency"')
        currency = None
    decimals = raw.get("decimals", default.decimals if kind_raw is None else DEFAULT_DECIMALS[kind])
    if (
        isinstance(decimals, bool)
        or not isinstance(decimals, int)
        or not 0 <= decimals <= MAX_DECIMALS
    ):
        problems.append(f"{where} decimals must be a whole number from 0 to {MAX_DECIMALS}")
        decimals = DEFAULT_DECIMALS[kind]
    return Unit(kind, currency if isinstance(currency, str) else None, decimals)


def format_value(value: float, unit: Unit) -> str:
    """A figure in its unit: '1,234', '£1,234.50', '62.5%', '3.14' (thousands commas).

    A value that is not a finite number reads 'unavailable', never 'inf' or 'nan' (the report
    never holds one; this is the last guard before any renderer shows it).
    """
    if isinstance(value, float) and not math.isfinite(value):
        return "unavailable"
    decimals = unit.decimals
    if unit.kind is UnitKind.COUNT and decimals == 0:
        return f"{round(value):,}"
    number = f"{abs(value):,.{decimals}f}"
    sign = "-" if value < 0 and float(number.replace(",", "")) != 0 else ""
    if unit.kind is UnitKind.CURRENCY:
        code = unit.currency or ""
        symbol = CURRENCY_SYMBOLS.get(code)
        return f"{sign}{symbol}{number}" if symbol else f"{sign}{number} {code}"
    if unit.kind is UnitKind.PERCENT:
        return f"{sign}{number}%"
    return f"{sign}{number}"


def format_points(points: float, decimals: int = 1) -> str:
    """The size of a change in a rate: '3.2 pts' (percentage points, never a relative %)."""
    if not math.isfinite(points):
        return "unavailable"
    return f"{abs(points):,.{decimals}f} pts"
