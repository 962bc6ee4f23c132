"""Spec of sparklines: one bar per value, lowest to highest, in one place for every renderer."""

from __future__ import annotations

from datetime import date

import pytest

from shared.render.sparkline import MAX_SPARK_CHARS, metric_sparkline, spark_values, sparkline
from shared.schedule.periods import PeriodKind, custom_period, report_period
from tests.render.test_charts import counted_report


@pytest.mark.parametrize(
    ("values", "line"),
    [
        ([], ""),
        ([5], "▄"),
        ([0, 0, 0], "▁▁▁"),
        ([3, 3], "▄▄"),
        ([0, 7], "▁█"),
        ([0, 1, 2, 3, 4, 5, 6, 7], "▁▂▃▄▅▆▇█"),
        ([10, 20, 15], "▁█▅"),
        ([-4, 0, 4], "▁▅█"),
    ],
    ids=["empty", "one", "all-zero", "flat", "two", "each-bar", "middle", "negative"],
)
def test_a_sparkline_scales_values_from_their_lowest_to_their_highest(
    values: list[int], line: str
) -> None:
    """Min to max over eight bars; a flat run sits mid-height, an all-zero run on the floor."""
    assert sparkline(values) == line


def test_a_metric_sparkline_draws_its_daily_values() -> None:
    """A week: seven bars, one per day, the report's own daily figures."""
    report = counted_report(report_period(PeriodKind.WEEKLY, date(2026, 11, 23)))
    metric = report.metrics[0]
    assert metric.trend is not None
    assert spark_values(metric) == tuple(p.value for p in metric.trend.days)
    assert len(metric_sparkline(metric)) == 7


def test_a_one_day_report_has_no_sparkline_and_a_long_one_draws_its_spans() -> None:
    """One value is no trend; past a month of days the sparkline follows the charted spans."""
    daily = counted_report(report_period(PeriodKind.DAILY, date(2026, 11, 24)))
    assert metric_sparkline(daily.metrics[0]) == ""
    quarter = counted_report(custom_period(date(2026, 1, 1), date(2026, 3, 31)))
    metric = quarter.metrics[0]
    assert metric.trend is not None
    assert len(metric.trend.days) == 90 > MAX_SPARK_CHARS
    assert spark_values(metric) == tuple(p.value for p in metric.trend.points)
    assert len(metric_sparkline(metric)) == len(metric.trend.points) == 13
