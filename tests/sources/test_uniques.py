"""Exact distinct users per window: a user counts once, events fall on their LOCAL day."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from shared.report.facts import is_automatic
from shared.schedule.periods import PeriodKind, Window, report_period
from shared.sources.uniques import UniqueTally, local_day

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
ALL = "active_users"
RECEIPTS = "receipt_users"
GROUPS: dict[str, frozenset[str] | None] = {
    ALL: None,
    RECEIPTS: frozenset({"Receipt Uploaded", "$receipt_scan"}),
}


def qualifying(event: str) -> bool:
    return not is_automatic(event)


def tally(
    windows: Sequence[Window],
    groups: Mapping[str, frozenset[str] | None] = GROUPS,
    zone: ZoneInfo = LONDON,
) -> UniqueTally:
    return UniqueTally(windows, groups, timezone=zone, qualifying=qualifying)


def ts(
    zone: ZoneInfo,
    year: int,
    month: int,
    day: int,
    hour: int = 0,
    minute: int = 0,
    second: int = 0,
    *,
    fold: int = 0,
) -> float:
    """The epoch time of a local wall-clock time in `zone`."""
    return datetime(year, month, day, hour, minute, second, tzinfo=zone, fold=fold).timestamp()


def day(d: date) -> Window:
    return Window(d, d)


# ------------------------------------------------------------------------ counting once


def test_a_user_counts_once_per_window_however_many_events_and_days() -> None:
    """Ten events over seven days by one user are one active user in the week."""
    week = Window(date(2026, 11, 16), date(2026, 11, 22))
    t = tally([week])
    for offset in range(7):
        for hour in (8, 12, 20):
            t.add("App Opened", "ana", ts(LONDON, 2026, 11, 16 + offset, hour))
    t.add("Receipt Uploaded", "ana", ts(LONDON, 2026, 11, 18, 9))
    result = t.result()
    assert result.users == {week: {ALL: 1, RECEIPTS: 1}}
    assert result.lines == 22


def test_each_window_counts_its_own_users() -> None:
    """The current day and its baselines are counted separately; a user may be in several."""
    period = report_period(PeriodKind.DAILY, date(2026, 11, 25))
    yesterday, week_ago, day_before = period.windows
    t = tally(period.windows)
    t.add("App Opened", "ana", ts(LONDON, 2026, 11, 24, 10))
    t.add("App Opened", "ben", ts(LONDON, 2026, 11, 24, 11))
    t.add("App Opened", "ana", ts(LONDON, 2026, 11, 17, 10))
    t.add("Receipt Uploaded", "cy", ts(LONDON, 2026, 11, 23, 10))
    assert t.result().users == {
        yesterday: {ALL: 2, RECEIPTS: 0},
        week_ago: {ALL: 1, RECEIPTS: 0},
        day_before: {ALL: 1, RECEIPTS: 1},
    }


def test_overlapping_windows_each_count_an_event_in_both() -> None:
    """A day inside two windows counts its users in both."""
    week = Window(date(2026, 11, 16), date(2026, 11, 22))
    sunday = day(date(2026, 11, 22))
    t = tally([week, sunday])
    t.add("App Opened", "ana", ts(LONDON, 2026, 11, 22, 10))
    t.add("App Opened", "ben", ts(LONDON, 2026, 11, 16, 10))
    assert t.result().users == {week: {ALL: 2, RECEIPTS: 0}, sunday: {ALL: 1, RECEIPTS: 0}}


def test_a_repeated_window_is_counted_once() -> None:
    """Passing the same window twice yields one entry."""
    sunday = day(date(2026, 11, 22))
    t = tally([sunday, sunday])
    t.add("App Opened", "ana", ts(LONDON, 2026, 11, 22, 10))
    assert t.result().users == {sunday: {ALL: 1, RECEIPTS: 0}}


# -------------------------------------------------------------------- groups and events


@pytest.mark.parametrize(
    ("event", "all_users", "receipt_users"),
    [
        ("App Opened", 1, 0),
        ("Receipt Uploaded", 1, 1),
        ("$identify", 0, 0),
        ("$ae_session", 0, 0),
        ("$receipt_scan", 0, 1),
    ],
    ids=["plain-event", "event-in-the-group", "identify", "ae-session", "listed-dollar-event"],
)
def test_groups_count_qualifying_or_listed_events(
    event: str, all_users: int, receipt_users: int
) -> None:
    """None = every qualifying event (no $-events); an explicit set counts exactly its events."""
    sunday = day(date(2026, 11, 22))
    t = tally([sunday])
    t.add(event, "ana", ts(LONDON, 2026, 11, 22, 10))
    assert t.result().users == {sunday: {ALL: all_users, RECEIPTS: receipt_users}}


def test_the_qualifying_predicate_is_the_callers_choice() -> None:
    """With ACTIVE_USER_EVENTS, only the chosen events make a user active."""
    sunday = day(date(2026, 11, 22))
    chosen = frozenset({"Receipt Uploaded"})
    t = UniqueTally([sunday], {ALL: None}, timezone=LONDON, qualifying=chosen.__contains__)
    t.add("App Opened", "ana", ts(LONDON, 2026, 11, 22, 10))
    t.add("Receipt Uploaded", "ben", ts(LONDON, 2026, 11, 22, 10))
    assert t.result().users == {sunday: {ALL: 1}}


@pytest.mark.parametrize(
    ("event", "expected"),
    [("$identify", True), ("$mp_web_page_view", True), ("App Opened", False), ("a$b", False)],
    ids=["identify", "page-view", "plain", "dollar-inside"],
)
def test_automatic_events_are_those_starting_with_a_dollar(event: str, expected: bool) -> None:
    """is_automatic: Mixpanel's own events start with '$'."""
    assert is_automatic(event) is expected


def test_seen_events_are_the_names_inside_the_windows_including_dollar_events() -> None:
    """seen_events lists every event name met inside a window, counted or not."""
    sunday = day(date(2026, 11, 22))
    t = tally([sunday])
    t.add("App Opened", "ana", ts(LONDON, 2026, 11, 22, 10))
    t.add("$identify", "ana", ts(LONDON, 2026, 11, 22, 10))
    t.add("Sign Up", "", ts(LONDON, 2026, 11, 22, 11))
    t.add("Old Event", "ben", ts(LONDON, 2026, 11, 20, 11))
    result = t.result()
    assert result.seen_events == frozenset({"App Opened", "$identify", "Sign Up"})
    assert result.users == {sunday: {ALL: 1, RECEIPTS: 0}}


def test_events_outside_every_window_are_ignored_but_counted_as_lines() -> None:
    """Before the first window, after the last, or in a gap between windows: not counted."""
    period = report_period(PeriodKind.DAILY, date(2026, 11, 25))  # 24th, 17th and 23rd
    t = tally(period.windows)
    t.add("App Opened", "early", ts(LONDON, 2026, 11, 16, 23, 59, 59))
    t.add("App Opened", "gap", ts(LONDON, 2026, 11, 20, 12))
    t.add("App Opened", "late", ts(LONDON, 2026, 11, 25, 0, 0, 0))
    t.add("App Opened", "far", ts(LONDON, 2027, 5, 1, 12))
    t.add("App Opened", "epoch", 0.0)
    result = t.result()
    assert result.users == {w: {ALL: 0, RECEIPTS: 0} for w in period.windows}
    assert result.seen_events == frozenset()
    assert result.lines == 5


def test_an_event_without_a_user_counts_no_one() -> None:
    """An empty distinct_id is seen but not a user."""
    sunday = day(date(2026, 11, 22))
    t = tally([sunday])
    t.add("App Opened", "", ts(LONDON, 2026, 11, 22, 10))
    result = t.result()
    assert result.users == {sunday: {ALL: 0, RECEIPTS: 0}}
    assert result.lines == 1


# ----------------------------------------------------------------------- local days


@pytest.mark.parametrize(
    ("zone", "last_second", "first_second", "before", "after"),
    [
        (
            LONDON,
            datetime(2026, 11, 22, 23, 59, 59, tzinfo=UTC),
            datetime(2026, 11, 23, 0, 0, 0, tzinfo=UTC),
            date(2026, 11, 22),
            date(2026, 11, 23),
        ),
        (
            LONDON,
            datetime(2026, 7, 19, 22, 59, 59, tzinfo=UTC),
            datetime(2026, 7, 19, 23, 0, 0, tzinfo=UTC),
            date(2026, 7, 19),
            date(2026, 7, 20),
        ),
        (
            LONDON,
            datetime(2026, 3, 29, 22, 59, 59, tzinfo=UTC),
            datetime(2026, 3, 29, 23, 0, 0, tzinfo=UTC),
            date(2026, 3, 29),
            date(2026, 3, 30),
        ),
        (
            LONDON,
            datetime(2026, 10, 24, 22, 59, 59, tzinfo=UTC),
            datetime(2026, 10, 24, 23, 0, 0, tzinfo=UTC),
            date(2026, 10, 24),
            date(2026, 10, 25),
        ),
        (
            LONDON,
            datetime(2026, 10, 25, 23, 59, 59, tzinfo=UTC),
            datetime(2026, 10, 26, 0, 0, 0, tzinfo=UTC),
            date(2026, 10, 25),
            date(2026, 10, 26),
        ),
        (
            NEW_YORK,
            datetime(2026, 11, 2, 4, 59, 59, tzinfo=UTC),
            datetime(2026, 11, 2, 5, 0, 0, tzinfo=UTC),
            date(2026, 11, 1),
            date(2026, 11, 2),
        ),
    ],
    ids=[
        "london-winter-midnight-is-0000Z",
        "london-summer-midnight-is-2300Z",
        "end-of-the-23-hour-day",
        "start-of-the-25-hour-day",
        "end-of-the-25-hour-day",
        "new-york-end-of-the-25-hour-day",
    ],
)
def test_events_are_bucketed_by_local_day_on_either_side_of_local_midnight(
    zone: ZoneInfo, last_second: datetime, first_second: datetime, before: date, after: date
) -> None:
    """23:59:59 local and 00:00:00 local the next day fall on different days, DST or not."""
    assert local_day(last_second.timestamp(), zone) == before
    assert local_day(first_second.timestamp(), zone) == after
    assert first_second - last_second == timedelta(seconds=1)
    t = tally([day(before), day(after)], zone=zone)
    t.add("App Opened", "late-owl", last_second.timestamp())
    t.add("App Opened", "early-bird", first_second.timestamp())
    t.add("App Opened", "both", last_second.timestamp())
    t.add("App Opened", "both", first_second.timestamp())
    assert t.result().users == {
        day(before): {ALL: 2, RECEIPTS: 0},
        day(after): {ALL: 2, RECEIPTS: 0},
    }


def test_every_hour_of_the_25_hour_day_is_that_day() -> None:
    """London's 2026-10-25 has 25 hours; an event in each of them lands on the 25th."""
    sunday = day(date(2026, 10, 25))
    t = tally([sunday])
    start = datetime(2026, 10, 24, 23, 0, tzinfo=UTC)
    for hour in range(25):
        t.add("App Opened", f"user-{hour}", (start + timedelta(hours=hour)).timestamp())
    t.add("App Opened", "next-day", (start + timedelta(hours=25)).timestamp())
    assert t.result().users == {sunday: {ALL: 25, RECEIPTS: 0}}


def test_the_repeated_hour_counts_on_the_same_day_both_times() -> None:
    """01:30 BST and 01:30 GMT on 2026-10-25 are both that day."""
    sunday = day(date(2026, 10, 25))
    t = tally([sunday])
    t.add("App Opened", "first", ts(LONDON, 2026, 10, 25, 1, 30, fold=0))
    t.add("App Opened", "second", ts(LONDON, 2026, 10, 25, 1, 30, fold=1))
    assert t.result().users == {sunday: {ALL: 2, RECEIPTS: 0}}


# ---------------------------------------------------------------- brute-force reference

EVENTS = ["App Opened", "Receipt Uploaded", "Sign Up", "$identify", "$receipt_scan", "$ae_session"]
USERS = [f"user-{n}" for n in range(40)] + [""]


def _random_events(
    rng: random.Random, first: datetime, last: datetime, n: int
) -> list[tuple[str, str, float]]:
    span = last.timestamp() - first.timestamp()
    return [
        (rng.choice(EVENTS), rng.choice(USERS), first.timestamp() + rng.random() * span)
        for _ in range(n)
    ]


def _brute_force(
    events: list[tuple[str, str, float]], windows: Sequence[Window], zone: ZoneInfo
) -> dict[Window, dict[str, int]]:
    out: dict[Window, dict[str, int]] = {}
    for window in windows:
        sets: dict[str, set[str]] = {name: set() for name in GROUPS}
        for event, user, when in events:
            if not user or local_day(when, zone) not in window:
                continue
            for name, members in GROUPS.items():
                if qualifying(event) if members is None else event in members:
                    sets[name].add(user)
        out[window] = {name: len(users) for name, users in sets.items()}
    return out


@pytest.mark.parametrize(
    ("zone", "kind", "today"),
    [
        (LONDON, PeriodKind.WEEKLY, date(2026, 3, 30)),
        (LONDON, PeriodKind.WEEKLY, date(2026, 10, 26)),
        (LONDON, PeriodKind.DAILY, date(2026, 3, 30)),
        (LONDON, PeriodKind.DAILY, date(2026, 10, 26)),
        (LONDON, PeriodKind.BIWEEKLY, date(2027, 1, 4)),
        (NEW_YORK, PeriodKind.WEEKLY, date(2026, 3, 9)),
        (NEW_YORK, PeriodKind.MONTHLY, date(2026, 12, 1)),
    ],
    ids=[
        "london-spring-week",
        "london-autumn-week",
        "london-23-hour-day",
        "london-25-hour-day",
        "london-new-year-fortnight",
        "new-york-spring-week",
        "new-york-november",
    ],
)
def test_tally_matches_a_brute_force_count_by_local_day(
    zone: ZoneInfo, kind: PeriodKind, today: date
) -> None:
    """Random events around a period's windows give the same counts as a per-event local_day."""
    period = report_period(kind, today)
    span = period.span
    # A day either side of the span in UTC, as the widened export delivers.
    first = datetime(span.start.year, span.start.month, span.start.day, tzinfo=UTC) - timedelta(
        days=1
    )
    last = datetime(span.end.year, span.end.month, span.end.day, tzinfo=UTC) + timedelta(days=2)
    rng = random.Random(f"{zone.key}-{kind}-{today}")
    events = _random_events(rng, first, last, 3000)
    # Plus events on both sides of every local midnight in range.
    midnight = datetime(span.start.year, span.start.month, span.start.day, tzinfo=zone)
    for offset in range(span.days + 1):
        local_midnight = (midnight + timedelta(days=offset)).timestamp()
        events.append(("App Opened", f"midnight-{offset}-before", local_midnight - 1))
        events.append(("Receipt Uploaded", f"midnight-{offset}-after", local_midnight))
    t = tally(period.windows, zone=zone)
    for event, user, when in events:
        t.add(event, user, when)
    result = t.result()
    assert result.users == _brute_force(events, period.windows, zone)
    assert result.lines == len(events)
    assert result.seen_events == {
        event
        for event, _, when in events
        if any(local_day(when, zone) in w for w in period.windows)
    }
