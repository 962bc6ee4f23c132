"""Report windows: whole local days, inclusive, ending no later than yesterday."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from shared.schedule.periods import (
    Comparison,
    PeriodKind,
    ReportPeriod,
    Window,
    custom_period,
    monday_of,
    report_period,
)

D = date
LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
# The week of Mon 23 Nov 2026 .. Sun 29 Nov 2026, one run per weekday.
WEEK = [D(2026, 11, 23) + timedelta(days=i) for i in range(7)]
WEEKDAY_IDS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _windows(period: ReportPeriod) -> list[tuple[date, date]]:
    return [(period.current.start, period.current.end)] + [
        (c.window.start, c.window.end) for c in period.comparisons
    ]


def _labels(period: ReportPeriod) -> list[str]:
    return [c.label for c in period.comparisons]


# ------------------------------------------------------------------------------ daily


def _one_day_windows(period: ReportPeriod) -> list[date]:
    days = [period.current, *(c.window for c in period.comparisons)]
    assert all(w.start == w.end for w in days)
    return [w.start for w in days]


@pytest.mark.parametrize(
    ("today", "yesterday", "week_earlier", "day_before", "weekday"),
    [
        (WEEK[0], D(2026, 11, 22), D(2026, 11, 15), D(2026, 11, 21), "Sunday"),
        (WEEK[1], D(2026, 11, 23), D(2026, 11, 16), D(2026, 11, 22), "Monday"),
        (WEEK[2], D(2026, 11, 24), D(2026, 11, 17), D(2026, 11, 23), "Tuesday"),
        (WEEK[3], D(2026, 11, 25), D(2026, 11, 18), D(2026, 11, 24), "Wednesday"),
        (WEEK[4], D(2026, 11, 26), D(2026, 11, 19), D(2026, 11, 25), "Thursday"),
        (WEEK[5], D(2026, 11, 27), D(2026, 11, 20), D(2026, 11, 26), "Friday"),
        (WEEK[6], D(2026, 11, 28), D(2026, 11, 21), D(2026, 11, 27), "Saturday"),
    ],
    ids=WEEKDAY_IDS,
)
def test_daily_report_covers_yesterday_against_a_week_earlier_then_the_day_before(
    today: date, yesterday: date, week_earlier: date, day_before: date, weekday: str
) -> None:
    """Daily = yesterday; reference = same weekday a week earlier; then the previous day."""
    period = report_period(PeriodKind.DAILY, today)
    assert period.kind is PeriodKind.DAILY
    assert _one_day_windows(period) == [yesterday, week_earlier, day_before]
    assert _labels(period) == [f"vs previous {weekday}", "vs previous day"]


@pytest.mark.parametrize(
    ("today", "yesterday", "week_earlier", "day_before"),
    [
        (D(2027, 1, 1), D(2026, 12, 31), D(2026, 12, 24), D(2026, 12, 30)),
        (D(2027, 1, 2), D(2027, 1, 1), D(2026, 12, 25), D(2026, 12, 31)),
        (D(2028, 3, 1), D(2028, 2, 29), D(2028, 2, 22), D(2028, 2, 28)),
        (D(2028, 2, 29), D(2028, 2, 28), D(2028, 2, 21), D(2028, 2, 27)),
        (D(2026, 3, 1), D(2026, 2, 28), D(2026, 2, 21), D(2026, 2, 27)),
        (D(2026, 3, 30), D(2026, 3, 29), D(2026, 3, 22), D(2026, 3, 28)),
        (D(2026, 10, 26), D(2026, 10, 25), D(2026, 10, 18), D(2026, 10, 24)),
    ],
    ids=[
        "new-year-day-covers-31-dec",
        "2-jan-covers-new-year-day",
        "1-mar-2028-covers-leap-day",
        "leap-day-covers-28-feb",
        "1-mar-2026-covers-28-feb",
        "after-the-23-hour-day",
        "after-the-25-hour-day",
    ],
)
def test_daily_report_crosses_year_month_leap_and_dst_boundaries_by_calendar_day(
    today: date, yesterday: date, week_earlier: date, day_before: date
) -> None:
    """Daily windows are calendar days, whatever the year, month, leap day or DST change."""
    period = report_period(PeriodKind.DAILY, today)
    assert _one_day_windows(period) == [yesterday, week_earlier, day_before]


# ----------------------------------------------------------------------------- weekly


@pytest.mark.parametrize("today", WEEK, ids=WEEKDAY_IDS)
def test_weekly_report_covers_the_previous_monday_to_sunday_on_any_weekday(today: date) -> None:
    """Weekly = the previous Monday-Sunday, compared with the week before, whatever today is."""
    period = report_period(PeriodKind.WEEKLY, today)
    assert period.kind is PeriodKind.WEEKLY
    assert _windows(period) == [
        (D(2026, 11, 16), D(2026, 11, 22)),
        (D(2026, 11, 9), D(2026, 11, 15)),
    ]
    assert _labels(period) == ["vs previous week"]


@pytest.mark.parametrize(
    ("today", "current", "previous", "zone", "hours"),
    [
        (
            D(2026, 3, 30),
            (D(2026, 3, 23), D(2026, 3, 29)),
            (D(2026, 3, 16), D(2026, 3, 22)),
            LONDON,
            167,
        ),
        (
            D(2026, 10, 26),
            (D(2026, 10, 19), D(2026, 10, 25)),
            (D(2026, 10, 12), D(2026, 10, 18)),
            LONDON,
            169,
        ),
        (
            D(2026, 3, 9),
            (D(2026, 3, 2), D(2026, 3, 8)),
            (D(2026, 2, 23), D(2026, 3, 1)),
            NEW_YORK,
            167,
        ),
        (
            D(2026, 11, 2),
            (D(2026, 10, 26), D(2026, 11, 1)),
            (D(2026, 10, 19), D(2026, 10, 25)),
            NEW_YORK,
            169,
        ),
    ],
    ids=[
        "london-spring-forward",
        "london-fall-back",
        "new-york-spring-forward",
        "new-york-fall-back",
    ],
)
def test_a_week_holding_a_dst_change_is_still_seven_whole_days(
    today: date,
    current: tuple[date, date],
    previous: tuple[date, date],
    zone: ZoneInfo,
    hours: int,
) -> None:
    """A DST week is 167 or 169 hours long but still the 7 calendar days Monday-Sunday."""
    period = report_period(PeriodKind.WEEKLY, today)
    assert _windows(period) == [current, previous]
    assert period.current.days == 7
    assert period.comparisons[0].window.days == 7
    first = datetime.combine(period.current.start, time(0), tzinfo=zone)
    after = datetime.combine(period.current.end + timedelta(days=1), time(0), tzinfo=zone)
    assert (after.timestamp() - first.timestamp()) / 3600 == hours


@pytest.mark.parametrize(
    ("today", "current", "previous"),
    [
        (D(2027, 1, 1), (D(2026, 12, 21), D(2026, 12, 27)), (D(2026, 12, 14), D(2026, 12, 20))),
        (D(2027, 1, 4), (D(2026, 12, 28), D(2027, 1, 3)), (D(2026, 12, 21), D(2026, 12, 27))),
        (D(2028, 3, 6), (D(2028, 2, 28), D(2028, 3, 5)), (D(2028, 2, 21), D(2028, 2, 27))),
    ],
    ids=["friday-1-jan-2027", "monday-4-jan-2027-spans-the-new-year", "week-with-leap-day"],
)
def test_weekly_report_across_the_new_year_and_a_leap_day(
    today: date, current: tuple[date, date], previous: tuple[date, date]
) -> None:
    """The weekly window is Monday-Sunday even when it straddles a year end or holds 29 Feb."""
    period = report_period(PeriodKind.WEEKLY, today)
    assert _windows(period) == [current, previous]
    assert period.current.days == 7


# -------------------------------------------------------------------------- bi-weekly


@pytest.mark.parametrize("today", WEEK, ids=WEEKDAY_IDS)
def test_biweekly_report_covers_the_two_full_weeks_before_this_weeks_monday(today: date) -> None:
    """Bi-weekly = the two Monday-Sunday weeks before today's week, vs the 14 days before."""
    period = report_period(PeriodKind.BIWEEKLY, today)
    assert period.kind is PeriodKind.BIWEEKLY
    assert _windows(period) == [
        (D(2026, 11, 9), D(2026, 11, 22)),
        (D(2026, 10, 26), D(2026, 11, 8)),
    ]
    assert _labels(period) == ["vs previous two weeks"]


@pytest.mark.parametrize(
    ("today", "current", "previous"),
    [
        (D(2027, 1, 4), (D(2026, 12, 21), D(2027, 1, 3)), (D(2026, 12, 7), D(2026, 12, 20))),
        (D(2026, 12, 21), (D(2026, 12, 7), D(2026, 12, 20)), (D(2026, 11, 23), D(2026, 12, 6))),
        (D(2026, 4, 6), (D(2026, 3, 23), D(2026, 4, 5)), (D(2026, 3, 9), D(2026, 3, 22))),
        (D(2028, 3, 13), (D(2028, 2, 28), D(2028, 3, 12)), (D(2028, 2, 14), D(2028, 2, 27))),
    ],
    ids=["spans-the-new-year", "before-christmas", "holds-the-london-dst-change", "holds-leap-day"],
)
def test_biweekly_windows_are_fourteen_whole_days_across_boundaries(
    today: date, current: tuple[date, date], previous: tuple[date, date]
) -> None:
    """Both bi-weekly windows are 14 calendar days, Monday to Sunday, whatever they straddle."""
    period = report_period(PeriodKind.BIWEEKLY, today)
    assert _windows(period) == [current, previous]
    assert (period.current.days, period.comparisons[0].window.days) == (14, 14)


# ---------------------------------------------------------------------------- monthly


@pytest.mark.parametrize(
    ("today", "current", "previous"),
    [
        (D(2026, 3, 1), (D(2026, 2, 1), D(2026, 2, 28)), (D(2026, 1, 1), D(2026, 1, 31))),
        (D(2026, 3, 31), (D(2026, 2, 1), D(2026, 2, 28)), (D(2026, 1, 1), D(2026, 1, 31))),
        (D(2026, 5, 31), (D(2026, 4, 1), D(2026, 4, 30)), (D(2026, 3, 1), D(2026, 3, 31))),
        (D(2026, 1, 31), (D(2025, 12, 1), D(2025, 12, 31)), (D(2025, 11, 1), D(2025, 11, 30))),
        (D(2027, 1, 1), (D(2026, 12, 1), D(2026, 12, 31)), (D(2026, 11, 1), D(2026, 11, 30))),
        (D(2027, 2, 1), (D(2027, 1, 1), D(2027, 1, 31)), (D(2026, 12, 1), D(2026, 12, 31))),
        (D(2028, 3, 15), (D(2028, 2, 1), D(2028, 2, 29)), (D(2028, 1, 1), D(2028, 1, 31))),
        (D(2028, 4, 1), (D(2028, 3, 1), D(2028, 3, 31)), (D(2028, 2, 1), D(2028, 2, 29))),
    ],
    ids=[
        "1-mar-2026-is-february",
        "31-mar-2026-is-february",
        "31-may-is-april",
        "31-jan-2026-is-december-2025",
        "1-jan-2027-is-december-2026",
        "1-feb-2027-is-january-vs-december",
        "march-2028-is-leap-february",
        "april-2028-compares-with-leap-february",
    ],
)
def test_monthly_report_covers_the_previous_calendar_month_against_the_month_before(
    today: date, current: tuple[date, date], previous: tuple[date, date]
) -> None:
    """Monthly = the previous calendar month (28, 29, 30 or 31 days), vs the month before."""
    period = report_period(PeriodKind.MONTHLY, today)
    assert period.kind is PeriodKind.MONTHLY
    assert _windows(period) == [current, previous]
    assert _labels(period) == ["vs previous month"]


def test_monthly_report_in_march_2028_covers_a_29_day_february() -> None:
    """Leap February 2028 has 29 days, and the January baseline 31."""
    period = report_period(PeriodKind.MONTHLY, D(2028, 3, 10))
    assert (period.current.days, period.comparisons[0].window.days) == (29, 31)


# ----------------------------------------------------------------------------- custom


@pytest.mark.parametrize(
    ("start", "end", "previous", "label"),
    [
        (D(2026, 11, 24), D(2026, 11, 24), (D(2026, 11, 23), D(2026, 11, 23)), "vs previous day"),
        (
            D(2026, 11, 1),
            D(2026, 11, 10),
            (D(2026, 10, 22), D(2026, 10, 31)),
            "vs previous 10 days",
        ),
        (D(2027, 1, 1), D(2027, 1, 3), (D(2026, 12, 29), D(2026, 12, 31)), "vs previous 3 days"),
        (D(2028, 2, 1), D(2028, 2, 29), (D(2028, 1, 3), D(2028, 1, 31)), "vs previous 29 days"),
        (D(2028, 3, 1), D(2028, 3, 2), (D(2028, 2, 28), D(2028, 2, 29)), "vs previous 2 days"),
    ],
    ids=["one-day", "ten-days", "across-new-year", "leap-february", "baseline-holds-leap-day"],
)
def test_custom_period_is_compared_with_the_equal_length_just_before_it(
    start: date, end: date, previous: tuple[date, date], label: str
) -> None:
    """Custom from..to is compared with as many days ending the day before it starts."""
    period = custom_period(start, end)
    assert period.kind is PeriodKind.CUSTOM
    assert _windows(period) == [(start, end), previous]
    assert _labels(period) == [label]
    baseline = period.comparisons[0].window
    assert baseline.days == period.current.days
    assert baseline.end == period.current.start - timedelta(days=1)


def test_custom_period_rejects_a_start_after_its_end() -> None:
    """from after to is an error, never an empty or swapped window."""
    with pytest.raises(ValueError, match=r"^window starts after it ends: 2026-11-25 > 2026-11-24$"):
        custom_period(D(2026, 11, 25), D(2026, 11, 24))


def test_report_period_refuses_custom_without_dates() -> None:
    """A custom period needs its dates: report_period(CUSTOM, ...) says to use custom_period()."""
    with pytest.raises(ValueError, match=r"use custom_period\(\)"):
        report_period(PeriodKind.CUSTOM, D(2026, 11, 24))


# ------------------------------------------------------------------ every day, any kind

SWEEP = [D(2025, 12, 1) + timedelta(days=i) for i in range(3 * 366 + 120)]


@pytest.mark.parametrize(
    "kind",
    [PeriodKind.DAILY, PeriodKind.WEEKLY, PeriodKind.BIWEEKLY, PeriodKind.MONTHLY],
    ids=["daily", "weekly", "biweekly", "monthly"],
)
def test_every_window_ends_no_later_than_yesterday_and_baselines_never_overlap_it(
    kind: PeriodKind,
) -> None:
    """On every day from Dec 2025 to 2029, no window holds today and no baseline overlaps."""
    for today in SWEEP:
        period = report_period(kind, today)
        for window in period.windows:
            assert window.end <= today - timedelta(days=1), (kind, today, window)
        for comparison in period.comparisons:
            assert comparison.window.end < period.current.start, (kind, today, comparison)
        if kind is PeriodKind.DAILY:
            assert period.current == Window(today - timedelta(days=1), today - timedelta(days=1))
        if kind in (PeriodKind.WEEKLY, PeriodKind.BIWEEKLY):
            assert period.current.start.weekday() == 0
            assert period.current.end.weekday() == 6
            assert period.current.end == monday_of(today) - timedelta(days=1)
        if kind is PeriodKind.MONTHLY:
            assert period.current.start.day == 1
            assert (period.current.end + timedelta(days=1)).day == 1
            assert (period.current.end + timedelta(days=1)).month == today.month


# ----------------------------------------------------------------------------- Window


@pytest.mark.parametrize(
    ("window", "label"),
    [
        (Window(D(2026, 11, 24), D(2026, 11, 24)), "Tue 24 Nov 2026"),
        (Window(D(2026, 12, 1), D(2026, 12, 1)), "Tue 01 Dec 2026"),
        (Window(D(2026, 11, 16), D(2026, 11, 22)), "16 Nov - 22 Nov 2026"),
        (Window(D(2026, 2, 1), D(2026, 2, 28)), "01 Feb - 28 Feb 2026"),
        (Window(D(2026, 12, 21), D(2027, 1, 3)), "21 Dec 2026 - 03 Jan 2027"),
        (Window(D(2028, 2, 29), D(2028, 2, 29)), "Tue 29 Feb 2028"),
    ],
    ids=["one-day", "one-day-first-of-month", "a-week", "a-month", "across-years", "leap-day"],
)
def test_window_label_formats(window: Window, label: str) -> None:
    """One day reads 'Tue 24 Nov 2026'; a run '16 Nov - 22 Nov 2026'; across years both years."""
    assert window.label() == label


@pytest.mark.parametrize(
    ("start", "end", "days"),
    [
        (D(2026, 11, 24), D(2026, 11, 24), 1),
        (D(2026, 11, 16), D(2026, 11, 22), 7),
        (D(2028, 2, 1), D(2028, 2, 29), 29),
        (D(2026, 12, 31), D(2027, 1, 1), 2),
    ],
    ids=["one", "seven", "leap-february", "across-years"],
)
def test_window_counts_and_lists_its_days_inclusively(start: date, end: date, days: int) -> None:
    """A window holds both ends: `days`, `dates()` and `in` agree."""
    window = Window(start, end)
    dates = list(window.dates())
    assert window.days == days
    assert dates == [start + timedelta(days=i) for i in range(days)]
    assert start in window
    assert end in window
    assert start - timedelta(days=1) not in window
    assert end + timedelta(days=1) not in window
    assert "2026-11-24" not in window


def test_window_rejects_a_start_after_its_end() -> None:
    """Window(start > end) raises, naming both dates."""
    with pytest.raises(ValueError, match=r"^window starts after it ends: 2026-11-24 > 2026-11-23$"):
        Window(D(2026, 11, 24), D(2026, 11, 23))


@pytest.mark.parametrize(
    ("period", "span"),
    [
        (report_period(PeriodKind.DAILY, D(2026, 11, 25)), (D(2026, 11, 17), D(2026, 11, 24))),
        (report_period(PeriodKind.WEEKLY, D(2026, 11, 25)), (D(2026, 11, 9), D(2026, 11, 22))),
        (report_period(PeriodKind.BIWEEKLY, D(2026, 11, 25)), (D(2026, 10, 26), D(2026, 11, 22))),
        (report_period(PeriodKind.MONTHLY, D(2026, 3, 31)), (D(2026, 1, 1), D(2026, 2, 28))),
        (custom_period(D(2026, 11, 1), D(2026, 11, 10)), (D(2026, 10, 22), D(2026, 11, 10))),
    ],
    ids=["daily", "weekly", "biweekly", "monthly", "custom"],
)
def test_span_is_the_smallest_window_holding_the_current_window_and_every_baseline(
    period: ReportPeriod, span: tuple[date, date]
) -> None:
    """ReportPeriod.span runs from the earliest baseline start to the current window's end."""
    assert (period.span.start, period.span.end) == span


def test_windows_lists_the_current_window_then_each_baseline() -> None:
    """ReportPeriod.windows is current first, then the baselines in order."""
    period = report_period(PeriodKind.DAILY, D(2026, 11, 25))
    assert period.windows == (
        Window(D(2026, 11, 24), D(2026, 11, 24)),
        Window(D(2026, 11, 17), D(2026, 11, 17)),
        Window(D(2026, 11, 23), D(2026, 11, 23)),
    )


def test_windows_drops_a_baseline_that_repeats_a_window() -> None:
    """A baseline equal to the current window or an earlier baseline is listed once."""
    day = Window(D(2026, 11, 24), D(2026, 11, 24))
    before = Window(D(2026, 11, 23), D(2026, 11, 23))
    period = ReportPeriod(
        PeriodKind.CUSTOM,
        day,
        (Comparison("a", before), Comparison("b", day), Comparison("c", before)),
    )
    assert period.windows == (day, before)


@pytest.mark.parametrize(
    ("day", "monday"),
    [
        (D(2026, 11, 23), D(2026, 11, 23)),
        (D(2026, 11, 29), D(2026, 11, 23)),
        (D(2027, 1, 1), D(2026, 12, 28)),
        (D(2027, 1, 3), D(2026, 12, 28)),
    ],
    ids=["monday", "sunday", "friday-new-year", "sunday-new-year"],
)
def test_monday_of_is_the_monday_of_the_iso_week(day: date, monday: date) -> None:
    """monday_of(day) goes back to that week's Monday, across a year end if need be."""
    assert monday_of(day) == monday
