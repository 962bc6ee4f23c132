"""Report windows: whole local days, inclusive, never today; pure, no clock."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum


class PeriodKind(StrEnum):
    """What a report covers."""

    DAILY = "daily"
    WEEKLY = "weekly"
    BIWEEKLY = "biweekly"
    MONTHLY = "monthly"
    CUSTOM = "custom"


@dataclass(frozen=True, slots=True, order=True)
class Window:
    """An inclusive run of local calendar days; a 23- or 25-hour DST day is still one day."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.start > self.end:
            raise ValueError(f"window starts after it ends: {self.start} > {self.end}")

    @property
    def days(self) -> int:
        """Number of calendar days in the window."""
        return (self.end - self.start).days + 1

    def dates(self) -> Iterator[date]:
        """Each day of the window, in order."""
        for offset in range(self.days):
            yield self.start + timedelta(days=offset)

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end

    def label(self) -> str:
        """A short human label: 'Tue 24 Nov 2026' or '16 Nov - 22 Nov 2026'."""
        if self.start == self.end:
            return self.start.strftime("%a %d %b %Y")
        if self.start.year == self.end.year:
            return f"{self.start:%d %b} - {self.end:%d %b %Y}"
        return f"{self.start:%d %b %Y} - {self.end:%d %b %Y}"


@dataclass(frozen=True, slots=True)
class Comparison:
    """A baseline window and how to say it ('vs previous week')."""

    label: str
    window: Window


@dataclass(frozen=True, slots=True)
class ReportPeriod:
    """The window a report covers and its baselines (the first is the reference one)."""

    kind: PeriodKind
    current: Window
    comparisons: tuple[Comparison, ...]

    @property
    def span(self) -> Window:
        """The smallest window holding the current window and every baseline."""
        starts = [self.current.start, *(c.window.start for c in self.comparisons)]
        ends = [self.current.end, *(c.window.end for c in self.comparisons)]
        return Window(min(starts), max(ends))

    @property
    def windows(self) -> tuple[Window, ...]:
        """The current window then each baseline, without repeats."""
        seen: list[Window] = [self.current]
        for c in self.comparisons:
            if c.window not in seen:
                seen.append(c.window)
        return tuple(seen)


def monday_of(day: date) -> date:
    """The Monday of the ISO week holding `day`."""
    return day - timedelta(days=day.weekday())


def _previous_month(day: date) -> Window:
    first_of_this = day.replace(day=1)
    last_of_prev = first_of_this - timedelta(days=1)
    return Window(last_of_prev.replace(day=1), last_of_prev)


def _before(window: Window) -> Window:
    """The window of equal length that ends the day before `window` starts."""
    end = window.start - timedelta(days=1)
    return Window(end - timedelta(days=window.days - 1), end)


def report_period(kind: PeriodKind, today: date) -> ReportPeriod:
    """The period a `kind` report covers when run on local date `today` (never including today)."""
    if kind is PeriodKind.DAILY:
        yesterday = today - timedelta(days=1)
        current = Window(yesterday, yesterday)
        week_ago = yesterday - timedelta(days=7)
        return ReportPeriod(
            kind,
            current,
            # Mondays are not Sundays: the same weekday a week earlier is the reference.
            (
                Comparison(f"vs previous {yesterday:%A}", Window(week_ago, week_ago)),
                Comparison("vs previous day", _before(current)),
            ),
        )
    if kind is PeriodKind.WEEKLY:
        start = monday_of(today) - timedelta(days=7)
        current = Window(start, start + timedelta(days=6))
        return ReportPeriod(kind, current, (Comparison("vs previous week", _before(current)),))
    if kind is PeriodKind.BIWEEKLY:
        start = monday_of(today) - timedelta(days=14)
        current = Window(start, start + timedelta(days=13))
        return ReportPeriod(kind, current, (Comparison("vs previous two weeks", _before(current)),))
    if kind is PeriodKind.MONTHLY:
        current = _previous_month(today)
        return ReportPeriod(
            kind, current, (Comparison("vs previous month", _previous_month(current.start)),)
        )
    raise ValueError("a custom period needs explicit dates: use custom_period()")


def month_to_date(day: date) -> tuple[Comparison, Comparison]:
    """This month from the 1st to `day`, and the same days of last month (cut at its end)."""
    now = Window(day.replace(day=1), day)
    previous = _previous_month(day)
    last = min(previous.start.replace(day=1) + timedelta(days=day.day - 1), previous.end)
    return (
        Comparison(f"{now.start:%B} to date", now),
        Comparison(f"vs same days of {previous.start:%B}", Window(previous.start, last)),
    )


def custom_period(start: date, end: date) -> ReportPeriod:
    """A caller-chosen window, compared with the window of equal length just before it."""
    current = Window(start, end)
    label = "vs previous day" if current.days == 1 else f"vs previous {current.days} days"
    return ReportPeriod(PeriodKind.CUSTOM, current, (Comparison(label, _before(current)),))
