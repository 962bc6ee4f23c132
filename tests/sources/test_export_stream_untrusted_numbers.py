"""Spec: the export decoder reads any number an event can carry, without crashing or rounding a
huge one to a figure (issue 23). Numbers past a float or int64 are kept as exact Decimals, so
the report reads the sum they feed as unavailable, naming the property."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from shared.sources.export_stream import BadExportLine, LineDecoder


def raw(amount: str, time: str = "1700000000") -> bytes:
    return (
        b'{"event": "Paid", "properties": {"time": ' + time.encode() + b', "distinct_id": "u",'
        b' "amount": ' + amount.encode() + b', "note": ' + amount.encode() + b"}}\n"
    )


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("1e308", 1e308),
        ("1" + "0" * 309, 10**309),
        ("1e309", Decimal("1e309")),
        ("-1.5e400", Decimal("-1.5e400")),
        ("1" + "0" * 5000, Decimal("1" + "0" * 5000)),
        ("1.5e-400", 0.0),
    ],
    ids=["float-max", "310-digit-int", "past-a-float", "negative-past", "5001-digits", "tiny"],
)
def test_a_huge_number_in_a_kept_property_is_read_exactly_never_an_error(
    amount: str, expected: object
) -> None:
    """Alone or in a batch with ordinary lines, the huge line is kept with its exact value."""
    decoder = LineDecoder(["amount"])
    ordinary = raw("12.5")
    records = decoder.decode(ordinary + raw(amount) + ordinary)
    assert [r[4]["amount"] for r in records] == [12.5, expected, 12.5]
    assert [r[:4] for r in records] == [("Paid", "u", 1_700_000_000.0, "")] * 3


def test_a_huge_number_in_a_property_nobody_asked_for_is_skipped_unread() -> None:
    """The decoder never parses what no figure needs, so it cannot fail on it."""
    records = LineDecoder(["other"]).decode(raw("1e309") + raw("1" + "0" * 5000))
    assert [r[4] for r in records] == [{}, {}]


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_constants_are_kept_as_the_floats_figures_skip(constant: str) -> None:
    """A non-standard constant is read leniently as the float; sums skip it (not finite)."""
    [record] = LineDecoder(["amount"]).decode(raw(constant))
    assert not math.isfinite(record[4]["amount"])


def test_a_time_past_a_float_is_still_a_malformed_line_never_a_figure() -> None:
    """Leniency is for property values: an event time that is no float still names the line."""
    with pytest.raises(BadExportLine, match="malformed event or time"):
        LineDecoder(["amount"]).decode(raw("1", time="1e999"))
