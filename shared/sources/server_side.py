"""Unique users from Mixpanel's own aggregation, for exports too large to stream.

Only exact answers are taken, each checked against the window it must answer:
- per-event uniques for a window that is exactly one of Mixpanel's buckets (a day, a week that
  starts on the project's first weekday, a calendar month): `/events?type=unique&unit=...` over
  exactly that window must answer one bucket keyed by the window's first day;
- anything else (a union over events, active users, unaligned windows) from a saved Insights
  report named for that metric in MIXPANEL_INSIGHTS_REPORTS, whose date range is the window and
  whose series is one number.
Every other figure is missing, with a one-line reason that says how to get it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Protocol

from shared.errors import MixpanelError
from shared.report.facts import UniqueCounts
from shared.schedule.periods import Window
from shared.sources.port import InsightsAnswer

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
EXPORT_METHOD = "export"
INSIGHTS_SETTING = "MIXPANEL_INSIGHTS_REPORTS"


class Aggregates(Protocol):
    """The Query API questions server-side aggregation asks (MixpanelClient)."""

    def unique_buckets(
        self, events: Sequence[str], *, unit: str, from_date: date, to_date: date
    ) -> dict[str, dict[str, int]]: ...

    def insights_report(self, bookmark_id: str) -> InsightsAnswer: ...


def aligned_unit(window: Window, week_start: int) -> str | None:
    """The Mixpanel bucket unit that is exactly `window`, if any: day, week or month."""
    if window.days == 1:
        return "day"
    if window.days == 7 and window.start.weekday() == week_start:
        return "week"
    after = window.end + timedelta(days=1)
    if window.start.day == 1 and after.day == 1 and window.start.month == window.end.month:
        return "month"
    return None


def unique_method(unit: str) -> str:
    """How a figure taken from /events buckets is described in the report."""
    return f"/events type=unique unit={unit}"


def server_side_uniques(
    windows: Sequence[Window],
    groups: Mapping[str, frozenset[str] | None],
    *,
    why: str,
    query: Aggregates | None,
    week_start: int = 0,
    insights: Sequence[tuple[str, str]] = (),
) -> UniqueCounts:
    """Each (window, group) figure Mixpanel itself answers exactly; the rest missing with reasons.

    `why` says why the export was not used; `query` is None on a plan without the Query API.
    """
    users: dict[Window, dict[str, int]] = {w: {} for w in windows}
    missing: dict[tuple[Window, str], str] = {}
    methods: dict[str, list[str]] = {key: [] for key in groups}

    def answer(window: Window, key: str, value: int, method: str) -> None:
        users[window][key] = value
        if method not in methods[key]:
            methods[key].append(method)

    if query is None:
        for window in windows:
            for key in groups:
                missing[(window, key)] = (
                    f"{why}; this plan has no Query API to count it: raise EXPORT_MAX_EVENTS"
                )
        return UniqueCounts(users, frozenset(), 0, missing, {})

    by_insights, insights_trouble = _insights_answers(query, insights, groups)
    single = {key: min(m) for key, m in groups.items() if m is not None and len(m) == 1}
    bucketed = _bucket_answers(query, windows, sorted(set(single.values())), week_start)
    for window in windows:
        unit = aligned_unit(window, week_start)
        for key, members in groups.items():
            report = by_insights.get((key, window))
            if report is not None:
                answer(window, key, report[0], f"insights report {report[1]}")
                continue
            hint = insights_trouble.get(
                key, f"name a saved Insights report for {key!r} in {INSIGHTS_SETTING}"
            )
            if key in single:
                got = bucketed.get((single[key], window))
                if isinstance(got, int) and unit is not None:
                    answer(window, key, got, unique_method(unit))
                    continue
                if isinstance(got, str):
                    missing[(window, key)] = f"{why}; {got}"
                    continue
                missing[(window, key)] = (
                    f"{why}; {window.label()} is not a Mixpanel day, week (from "
                    f"{WEEKDAY_NAMES[week_start]}) or month: {hint} or raise EXPORT_MAX_EVENTS"
                )
                continue
            what = "users of any event" if members is None else f"users of {len(members)} events"
            missing[(window, key)] = (
                f"{why}; /events cannot count the {what} as one set: "
                f"{hint} or raise EXPORT_MAX_EVENTS"
            )
    return UniqueCounts(
        users, frozenset(), 0, missing, {k: " + ".join(v) for k, v in methods.items() if v}
    )


def _bucket_answers(
    query: Aggregates, windows: Sequence[Window], events: list[str], week_start: int
) -> dict[tuple[str, Window], int | str]:
    """(event, window) -> Mixpanel's unique count, or why it could not be read exactly."""
    answers: dict[tuple[str, Window], int | str] = {}
    if not events:
        return answers
    days = [w for w in windows if aligned_unit(w, week_start) == "day"]
    asks: list[tuple[str, Window, list[Window]]] = []
    if days:  # one call answers every single-day window: its buckets are the days themselves
        asks.append(("day", Window(min(d.start for d in days), max(d.end for d in days)), days))
    for window in windows:
        unit = aligned_unit(window, week_start)
        if unit in ("week", "month"):  # exactly the window: one bucket keyed by its start
            asks.append((unit, window, [window]))
    for unit, span, targets in asks:
        try:
            values = query.unique_buckets(events, unit=unit, from_date=span.start, to_date=span.end)
        except MixpanelError as exc:
            for event in events:
                for window in targets:
                    answers[(event, window)] = f"Mixpanel's /events unit={unit} failed ({exc})"
            continue
        for event in events:
            buckets = values[event]
            for window in targets:
                key = window.start.isoformat()
                wanted = {key} if unit != "day" else None
                if key in buckets and (wanted is None or set(buckets) == wanted):
                    answers[(event, window)] = buckets[key]
                else:
                    answers[(event, window)] = (
                        f"Mixpanel's {unit} buckets {sorted(buckets)} do not match "
                        f"{window.label()}: set MIXPANEL_WEEK_START to the project's first "
                        "weekday"
                    )
    return answers


def _insights_answers(
    query: Aggregates,
    insights: Sequence[tuple[str, str]],
    groups: Mapping[str, frozenset[str] | None],
) -> tuple[dict[tuple[str, Window], tuple[int, str]], dict[str, str]]:
    """(metric key, window) -> (the saved report's one number, its id) for exactly that window.

    Also, per metric key, why its reports answered nothing usable.
    """
    answers: dict[tuple[str, Window], tuple[int, str]] = {}
    trouble: dict[str, str] = {}
    for key, bookmark in insights:
        if key not in groups:
            continue
        try:
            report = query.insights_report(bookmark)
        except MixpanelError as exc:
            trouble[key] = f"the saved Insights report {bookmark} failed ({exc})"
            continue
        values = [v for series in report.series.values() for v in series.values()]
        window = Window(report.from_date, report.to_date)
        if len(values) == 1:
            answers[(key, window)] = (values[0], bookmark)
        else:
            trouble[key] = (
                f"the saved Insights report {bookmark} shows {len(values)} numbers, not one "
                "(make it a bar chart of unique users)"
            )
        trouble.setdefault(
            key,
            f"the saved Insights report {bookmark} covers {window.label()}, not this window",
        )
    return answers, trouble
