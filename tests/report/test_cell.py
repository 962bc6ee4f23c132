"""Spec of the one tally cell reports (FigureTally) and alerts (DerivedTally) both count with:
exact decimal sums, skipped non-numbers, and unknown (None) past MAX_FIGURE, never 0 or inf."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shared.report.figures import MAX_FIGURE, Cell
from shared.report.metrics import Measure, MetricSpec

Event = tuple[str, Decimal | None]  # (distinct_id, the event's value property)


def spec(measure: Measure) -> MetricSpec:
    reads = "amount" if measure in (Measure.SUM, Measure.AVERAGE) else None
    return MetricSpec("m", "M", ":m:", ("Purchase",), measure, value_property=reads)


def counted(measure: Measure, events: list[Event]) -> Cell:
    cell = Cell()
    for user, number in events:
        cell.count(spec(measure), user, number)
    return cell


TENTHS: list[Event] = [("u1", Decimal("0.1")), ("u2", Decimal("0.2")), ("u1", None)]
HUGE: list[Event] = [("u1", Decimal(1)), ("u2", MAX_FIGURE + 1)]


@pytest.mark.parametrize(
    ("measure", "events", "value", "volume"),
    [
        (Measure.TOTAL, TENTHS, 3, 3),
        (Measure.UNIQUE, TENTHS, 2, 2),
        (Measure.UNIQUE, [("", None), ("u1", None)], 1, 1),
        (Measure.SUM, TENTHS, 0.3, 2),
        (Measure.AVERAGE, TENTHS, 0.15, 2),
        (Measure.SUM, [("u1", Decimal(2)), ("u2", Decimal(3))], 5, 2),
        (Measure.AVERAGE, [("u1", None)], None, 0),
        (Measure.SUM, [], 0, 0),
        (Measure.SUM, HUGE, None, 2),
        (Measure.AVERAGE, HUGE, None, 2),
        (Measure.SUM, [("u1", MAX_FIGURE), ("u2", Decimal(1))], None, 2),
        (Measure.AVERAGE, [("u1", MAX_FIGURE), ("u2", MAX_FIGURE)], float(MAX_FIGURE), 2),
        (Measure.SUM, [("u1", MAX_FIGURE)], int(MAX_FIGURE), 1),
    ],
    ids=[
        "a total counts every event",
        "a unique count counts each user once",
        "an event without a distinct_id adds no user",
        "a sum of tenths is exact (0.3, not 0.30000000000000004); a missing value is skipped",
        "an average divides by the values read, not the events",
        "a whole sum is an int",
        "an average of no values is unknown, never 0",
        "a sum of nothing is 0",
        "one value beyond MAX_FIGURE makes a sum unknown",
        "one value beyond MAX_FIGURE makes an average unknown",
        "a total beyond MAX_FIGURE makes a sum unknown",
        "values within the limit average within it whatever their total",
        "a sum exactly at MAX_FIGURE is shown",
    ],
)
def test_a_cell_reads_each_measure_exactly(
    measure: Measure, events: list[Event], value: float | None, volume: int
) -> None:
    """value() and volume() per measure, as both the reports and the alerts read them."""
    cell = counted(measure, events)
    assert cell.value(measure) == value
    assert type(cell.value(measure)) is type(value)
    assert cell.volume(measure) == volume


def test_missing_values_are_counted_as_skipped_never_as_zero() -> None:
    """A skipped value is tallied apart (for the data-quality line), not added or averaged."""
    cell = counted(Measure.AVERAGE, [("u1", None), ("u2", Decimal(4)), ("u3", None)])
    assert (cell.skipped, cell.values, cell.value(Measure.AVERAGE)) == (2, 1, 4.0)


def test_merged_cells_read_as_one_cell_fed_every_event() -> None:
    """Day ranges read apart and merged give the figures one pass would have."""
    first, second = TENTHS[:2], [*TENTHS[2:], ("u3", Decimal("0.4"))]
    merged = counted(Measure.SUM, first)
    merged.merge(counted(Measure.SUM, second))
    whole = counted(Measure.SUM, first + second)
    assert merged == whole
    assert merged.value(Measure.SUM) == whole.value(Measure.SUM) == 0.7
