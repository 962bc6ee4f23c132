"""A metric's values day by day (or span by span) over the window and its reference; pure.

The charts and sparklines plot these values, so they are report figures like any other: each is
the metric's own count over one day or span (a distinct-user count over a span is the users of
that span, never a sum of daily counts), and each equals a recount from the raw events.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from shared.report.figures import Number
from shared.schedule.periods import ReportPeriod, Window

# Slack's data_visualization block takes at most 20 points per series (shared.render.charts
# uses this constant): a longer window is split into at most this many spans of whole days.
MAX_POINTS = 20
SPAN_DAYS = 7  # a long window is plotted by weeks, or spans as near a week as fit


@dataclass(frozen=True, slots=True)
class Point:
    """One plotted figure: the metric's value over one day or span of days."""

    window: Window
    value: Number


@dataclass(frozen=True, slots=True)
class Trend:
    """A metric's daily values, and the points charted against the reference window.

    `points` and `reference` have the same length: point i of the reference window is drawn in
    the same category as point i of the window. Every day of both windows is in exactly one
    point; none is dropped.
    """

    days: tuple[Point, ...]
    points: tuple[Point, ...]
    reference: tuple[Point, ...]
    reference_label: str

    @property
    def bucketed(self) -> bool:
        """True when the points are spans of several days rather than single days."""
        return any(p.window.days > 1 for p in (*self.points, *self.reference))


def split(window: Window, parts: int) -> tuple[Window, ...]:
    """`window` as `parts` consecutive spans of whole days, as equal as can be (longer last)."""
    if not 1 <= parts <= window.days:
        raise ValueError(f"cannot split {window.days} days into {parts} spans")
    bounds = [window.days * i // parts for i in range(parts + 1)]
    return tuple(
        Window(
            window.start + timedelta(days=bounds[i]),
            window.start + timedelta(days=bounds[i + 1] - 1),
        )
        for i in range(parts)
    )


def point_count(current: Window, reference: Window) -> int:
    """How many points each series gets: one a day when both fit, else spans of about a week."""
    if current.days == reference.days and current.days <= MAX_POINTS:
        return current.days
    weeks = -(-max(current.days, reference.days) // SPAN_DAYS)
    return max(1, min(weeks, MAX_POINTS, current.days, reference.days))


def chart_windows(period: ReportPeriod) -> tuple[tuple[Window, ...], tuple[Window, ...]]:
    """The windows of the window's points and of the reference window's points (same count)."""
    current = period.current
    reference = period.comparisons[0].window if period.comparisons else current
    n = point_count(current, reference)
    return split(current, n), split(reference, n)


def trend_windows(period: ReportPeriod) -> tuple[Window, ...]:
    """Every day and span a trend needs a figure for (for the distinct-user tally), no repeats."""
    points, reference = chart_windows(period)
    days = tuple(Window(d, d) for d in period.current.dates())
    return tuple(dict.fromkeys((*days, *points, *reference)))


def build_trend(period: ReportPeriod, value_of: Callable[[Window], Number | None]) -> Trend | None:
    """The trend from `value_of` (a window's figure, None if unavailable); None if any is."""
    points_w, reference_w = chart_windows(period)
    days_w = tuple(Window(d, d) for d in period.current.dates())
    values: dict[Window, Number] = {}
    for window in dict.fromkeys((*days_w, *points_w, *reference_w)):
        value = value_of(window)
        if value is None:
            return None
        values[window] = value
    label = period.comparisons[0].label if period.comparisons else ""
    return Trend(
        days=tuple(Point(w, values[w]) for w in days_w),
        points=tuple(Point(w, values[w]) for w in points_w),
        reference=tuple(Point(w, values[w]) for w in reference_w) if period.comparisons else (),
        reference_label=label,
    )
