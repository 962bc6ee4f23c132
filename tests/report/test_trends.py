"""Spec of trends: which days and spans a metric is plotted by, none dropped, none repeated."""

from __future__ import annotations

from datetime import date

import pytest

from shared.report.trends import (
    MAX_POINTS,
    build_trend,
    chart_windows,
    point_count,
    split,
    trend_windows,
)
from shared.schedule.periods import PeriodKind, Window, custom_period, report_period


def days(first: date, last: date) -> Window:
    return Window(first, last)


@pytest.mark.parametrize(
    ("days_in", "parts", "sizes"),
    [(7, 7, [1] * 7), (31, 5, [6, 6, 6, 6, 7]), (28, 5, [5, 6, 5, 6, 6]), (1, 1, [1])],
    ids=["week-by-day", "31-days-in-5", "28-days-in-5", "one-day"],
)
def test_split_covers_every_day_once_in_near_equal_spans(
    days_in: int, parts: int, sizes: list[int]
) -> None:
    """Consecutive spans, lengths differing by at most one, every day exactly once."""
    window = Window(date(2026, 3, 1), date(2026, 3, days_in))
    spans = split(window, parts)
    assert [s.days for s in spans] == sizes
    assert [d for s in spans for d in s.dates()] == list(window.dates())


def test_split_refuses_more_spans_than_days() -> None:
    """A span is at least one whole day."""
    with pytest.raises(ValueError, match="cannot split 3 days into 4 spans"):
        split(Window(date(2026, 3, 1), date(2026, 3, 3)), 4)


@pytest.mark.parametrize(
    ("kind", "today", "points"),
    [
        (PeriodKind.DAILY, date(2026, 11, 24), 1),
        (PeriodKind.WEEKLY, date(2026, 11, 23), 7),
        (PeriodKind.BIWEEKLY, date(2026, 11, 23), 14),
        (PeriodKind.MONTHLY, date(2026, 3, 5), 5),  # February (28) vs January (31): the longer
        (PeriodKind.MONTHLY, date(2026, 4, 2), 5),  # March (31) vs February (28)
    ],
    ids=["daily", "weekly", "biweekly", "monthly-feb", "monthly-march"],
)
def test_each_report_kind_is_plotted_by_day_or_by_spans_of_about_a_week(
    kind: PeriodKind, today: date, points: int
) -> None:
    """Up to 20 days: one point a day. Longer (monthly): about a week a point, both windows."""
    period = report_period(kind, today)
    current, reference = chart_windows(period)
    assert len(current) == len(reference) == points
    assert [d for w in current for d in w.dates()] == list(period.current.dates())
    assert [d for w in reference for d in w.dates()] == list(period.comparisons[0].window.dates())


def test_twenty_days_are_daily_and_twenty_one_are_bucketed() -> None:
    """The boundary pair at MAX_POINTS."""
    twenty = days(date(2026, 1, 1), date(2026, 1, 20))
    assert point_count(twenty, twenty) == MAX_POINTS
    twenty_one = days(date(2026, 1, 1), date(2026, 1, 21))
    assert point_count(twenty_one, twenty_one) == 3


def test_a_year_long_window_has_at_most_twenty_points() -> None:
    """365 days in 20 spans of 18-19 days; every day still counted."""
    period = custom_period(date(2025, 1, 1), date(2025, 12, 31))
    current, reference = chart_windows(period)
    assert len(current) == len(reference) == MAX_POINTS
    assert {w.days for w in current} == {18, 19}
    assert sum(w.days for w in current) == 365


def test_trend_windows_list_each_day_and_span_once() -> None:
    """What the distinct-user tally must count besides the report's own windows."""
    period = report_period(PeriodKind.WEEKLY, date(2026, 11, 23))
    windows = trend_windows(period)
    assert len(windows) == len(set(windows)) == 14
    assert all(w.days == 1 for w in windows)


def test_a_trend_with_any_figure_unavailable_is_none() -> None:
    """Never a gap read as 0: one missing day leaves the whole trend out."""
    period = report_period(PeriodKind.WEEKLY, date(2026, 11, 23))
    assert build_trend(period, lambda w: None if w.start == date(2026, 11, 18) else 1) is None
    trend = build_trend(period, lambda w: w.start.day)
    assert trend is not None
    assert [p.value for p in trend.days] == [16, 17, 18, 19, 20, 21, 22]
    assert [p.value for p in trend.reference] == [9, 10, 11, 12, 13, 14, 15]
    assert trend.reference_label == "vs previous week"
    assert not trend.bucketed
