"""Spec: an alert check reads a huge or non-numeric property value as the reports do (issue 23):
a sum or average holding a value beyond MAX_FIGURE, or a formula that overflows, is unknown
(None: nothing to judge), never an OverflowError or an infinite reading."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from shared.alerts.derived import DerivedTally
from shared.report.figures import MAX_FIGURE
from shared.report.metrics import parse_metrics
from shared.schedule.hours import LocalHour

LONDON = ZoneInfo("Europe/London")
DAY = date(2026, 11, 16)
NOON = datetime(2026, 11, 16, 12, 30, tzinfo=UTC).timestamp()
CONFIG = parse_metrics(
    {
        "metric": [
            {"key": "total", "label": "Total", "events": ["Paid"], "measure": "sum",
             "property": "amount"},
            {"key": "mean", "label": "Mean", "events": ["Paid"], "measure": "average",
             "property": "amount"},
            {"key": "big", "label": "Big", "events": ["Paid"],
             "where": [{"property": "amount", "gt": 100}]},
            {"key": "squared", "label": "Squared", "formula": "total * total"},
        ]
    }
)  # fmt: skip
BY_KEY = {m.key: m for m in CONFIG.computed}


def readings(amounts: list[Any]) -> dict[str, Any]:
    """Each metric's reading for the noon hour, after one Paid event per amount."""
    specs = [BY_KEY[k] for k in ("total", "mean", "big")]
    keys = frozenset(s.key for s in specs)
    tally = DerivedTally(specs, first=DAY, last=DAY, timezone=LONDON, hourly=keys, daily=keys)
    tally.add_all([("Paid", f"u{n}", NOON, f"i{n}", {"amount": a}) for n, a in enumerate(amounts)])
    figures = tally.result()
    hour = LocalHour(DAY, 12)
    return {key: figures.reading(BY_KEY[key], hour, BY_KEY) for key in BY_KEY}


@pytest.mark.parametrize("huge", [1e308, 10**309, Decimal("1E+309"), int(MAX_FIGURE) + 1], ids=str)
def test_one_huge_value_leaves_the_sum_and_average_unknown_and_the_count_exact(huge: Any) -> None:
    """The filtered count still counts the event (it is > 100); the sums are not judged."""
    got = readings([12, huge])
    assert got == {"total": None, "mean": None, "big": (1.0, 1.0), "squared": None}


@pytest.mark.parametrize(
    "bad", [float("nan"), float("inf"), "Infinity", Decimal("NaN"), True], ids=str
)
def test_nan_and_infinity_are_skipped_as_the_reports_skip_them(bad: Any) -> None:
    """12 + 30 = 42 over two values; the bad value is no number and passes no filter."""
    got = readings([12, bad, 30])
    assert got["total"] == (42.0, 2.0)
    assert got["mean"] == (21.0, 2.0)
    assert got["big"] == (0.0, 0.0)


def test_a_formula_that_overflows_is_unknown_never_infinite() -> None:
    """total * total with total = 2**53: 8.1e31 is beyond MAX_FIGURE, so no reading."""
    assert readings([int(MAX_FIGURE)])["squared"] is None
    assert readings([3])["squared"] == (9.0, 1.0)
