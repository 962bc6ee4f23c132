"""A simulated year of 15-minute timer fires: each report posts once per period, at 9:00 London.

Every fire from 2026-01-01 to 2027-01-31 (UTC) runs the real shell, `run_scheduled`, for the
daily, weekly and bi-weekly reports against fakes: the fires at 08:00Z and 09:00Z are
delivered twice (a duplicate invocation), and a few outages drop fires and end with one
past-due fire at restart, as the Functions host does.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from shared.delivery.ledger import InMemoryLedger
from shared.pipeline import Delivered, ReportContext, run_scheduled
from shared.report.facts import UniqueCounts
from shared.report.metrics import load_metrics
from shared.schedule.periods import PeriodKind, Window
from shared.schedule.slots import ScheduleRules, Skip
from shared.settings import DEFAULT_METRICS_FILE
from shared.sources.uniques import UniqueTally
from tests.fakes import FakeMixpanel, FakeSlack, events_every_day

LONDON = ZoneInfo("Europe/London")
CTX = ReportContext(
    load_metrics(DEFAULT_METRICS_FILE), "Acme", LONDON, "https://eu.mixpanel.com/project/1"
)
RULES = ScheduleRules(timezone=LONDON)
ANCHOR = date(2026, 1, 5)
FIRST_FIRE = datetime(2026, 1, 1, tzinfo=UTC)
END = datetime(2027, 2, 1, tzinfo=UTC)  # exclusive: the last fire is 2027-01-31 23:45Z
FIRE_EVERY = timedelta(minutes=15)
DUPLICATED_AT = (time(8, 0), time(9, 0))  # UTC fire times delivered twice
EVENTS = (
    "Sign Up",
    "User Onboarded",
    "Receipt Uploaded",
    "PlanetPoints Added",
    "Voucher Redeemed",
    "App Opened",
)
USERS = ("ana", "ben")
DAILY, WEEKLY, BIWEEKLY = PeriodKind.DAILY, PeriodKind.WEEKLY, PeriodKind.BIWEEKLY
KINDS = (DAILY, WEEKLY, BIWEEKLY)
WINDOW_DAYS = {DAILY: 1, WEEKLY: 7, BIWEEKLY: 14}


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Outage:
    """The host is down from `down` (the first missed fire) until `up`, when it replays one."""

    down: datetime
    up: datetime

    def __contains__(self, moment: object) -> bool:
        return isinstance(moment, datetime) and self.down <= moment < self.up


OUTAGES = (
    # Hours, on a winter Tuesday: the 09:00Z slot is missed; back at 11:40.
    Outage(utc(2026, 2, 10, 7, 30), utc(2026, 2, 10, 11, 40)),
    # Over the spring-forward night: the 08:00Z (09:00 BST) slot is missed.
    Outage(utc(2026, 3, 28, 22), utc(2026, 3, 29, 8, 30)),
    # Nothing missed: the replay finds every slot already delivered.
    Outage(utc(2026, 4, 1, 10), utc(2026, 4, 1, 12)),
    # Three days, Friday to a Monday that is also a bi-weekly day: only Monday is caught up.
    Outage(utc(2026, 6, 5, 6), utc(2026, 6, 8, 12, 10)),
    # Down over a bi-weekly Monday's slot, back before Tuesday's slot.
    Outage(utc(2026, 9, 14, 7), utc(2026, 9, 15, 5)),
    # Over New Year's Day.
    Outage(utc(2026, 12, 31, 22), utc(2027, 1, 2, 3)),
)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One invocation of the timer functions."""

    scheduled_for: datetime
    now: datetime
    past_due: bool


def deliveries() -> list[Delivery]:
    """Every invocation the host makes over the simulated 13 months, in the order it makes them."""
    out = []
    moment = FIRST_FIRE
    while moment < END:
        if not any(moment in outage for outage in OUTAGES):
            out.append(Delivery(moment, moment + timedelta(seconds=7), past_due=False))
            if moment.time() in DUPLICATED_AT:
                out.append(Delivery(moment, moment + timedelta(seconds=40), past_due=False))
        moment += FIRE_EVERY
    for outage in OUTAGES:
        out.append(Delivery(outage.down, outage.up + timedelta(seconds=3), past_due=True))
    return sorted(out, key=lambda d: d.now)


@dataclass
class EveryDayMixpanel:
    """An EventSource where both users do each event once a day at noon, built per request.

    Only the days a request asks about are generated, so a year of reports stays fast.
    """

    calls: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _days(self, name: str, first: date, last: date) -> FakeMixpanel:
        with self._lock:
            self.calls.append(name)
        days = Window(first, last).dates()
        return FakeMixpanel(events_every_day(EVENTS, USERS, days, LONDON), LONDON)

    def event_names(self, *, limit: int = 10_000) -> list[str]:
        return self._days("event_names", FIRST_FIRE.date(), FIRST_FIRE.date()).event_names(
            limit=limit
        )

    def daily_counts(self, events: Sequence[str], window: Window) -> dict[str, dict[date, int]]:
        fake = self._days("daily_counts", window.start, window.end)
        return fake.daily_counts(events, window)

    def unique_users(
        self,
        new_tally: Callable[[], UniqueTally],
        *,
        from_date: date,
        to_date: date,
        events: Sequence[str] | None = None,
    ) -> UniqueCounts:
        fake = self._days("unique_users", from_date, to_date)
        return fake.unique_users(new_tally, from_date=from_date, to_date=to_date, events=events)


@dataclass(frozen=True, slots=True)
class Post:
    """A report that reached Slack, and the invocation that posted it."""

    kind: PeriodKind
    window: Window
    delivery: Delivery
    figures: dict[str, int | None]


@dataclass
class Year:
    """What the simulated year produced."""

    posts: list[Post]
    already_delivered: dict[PeriodKind, int]
    slack: dict[PeriodKind, FakeSlack]
    mixpanel: EveryDayMixpanel
    invocations: int


@pytest.fixture(scope="module")
def year() -> Year:
    """Run every invocation of the year through `run_scheduled` for each scheduled report."""
    mixpanel = EveryDayMixpanel()
    slack = {kind: FakeSlack() for kind in KINDS}
    ledgers = {kind: InMemoryLedger() for kind in KINDS}
    posts: list[Post] = []
    already = dict.fromkeys(KINDS, 0)
    invocations = deliveries()
    for delivery in invocations:
        for kind in KINDS:
            result = run_scheduled(
                kind,
                CTX,
                RULES,
                scheduled_for=delivery.scheduled_for,
                past_due=delivery.past_due,
                now=delivery.now,
                mixpanel=mixpanel,
                slack=slack[kind],
                ledger=ledgers[kind],
            )
            if isinstance(result, Skip):
                continue
            assert isinstance(result, Delivered)
            if not result.posted:
                already[kind] += 1
                continue
            assert result.report is not None
            window = Window(result.key.start, result.key.end)
            figures = {m.spec.key: m.value for m in result.report.metrics}
            posts.append(Post(kind, window, delivery, figures))
    return Year(posts, already, slack, mixpanel, len(invocations))


# ------------------------------------------------------------ the expectation, by hand


def is_post_day(kind: PeriodKind, day: date) -> bool:
    """Daily: every day; weekly: Mondays; bi-weekly: the anchor Monday and every 14 days on."""
    if kind is DAILY:
        return True
    if kind is WEEKLY:
        return day.weekday() == 0
    return day.weekday() == 0 and (day - ANCHOR).days % 14 == 0


def nine_london(day: date) -> datetime:
    return datetime.combine(day, time(9), tzinfo=LONDON).astimezone(UTC)


SIM_DAYS = [FIRST_FIRE.date() + timedelta(days=i) for i in range((END - FIRST_FIRE).days)]


def expected_post_days(kind: PeriodKind) -> list[date]:
    """Days whose 9:00 slot fired, plus, per outage, the latest slot before the host came back."""
    days = {
        d
        for d in SIM_DAYS
        if is_post_day(kind, d) and not any(nine_london(d) in o for o in OUTAGES)
    }
    for outage in OUTAGES:
        days.add(max(d for d in SIM_DAYS if is_post_day(kind, d) and nine_london(d) <= outage.up))
    return sorted(days)


def window_for(kind: PeriodKind, post_day: date) -> Window:
    """The window a report posted on `post_day` covers: the days just before it."""
    return Window(post_day - timedelta(days=WINDOW_DAYS[kind]), post_day - timedelta(days=1))


def posts_of(year: Year, kind: PeriodKind) -> list[Post]:
    return [p for p in year.posts if p.kind is kind]


# ------------------------------------------------------------------------------- specs


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_each_report_posts_exactly_once_per_intended_period(year: Year, kind: PeriodKind) -> None:
    """The posted windows are exactly one per post day reached or caught up, in order."""
    posted = [p.window for p in posts_of(year, kind)]
    assert posted == [window_for(kind, d) for d in expected_post_days(kind)]


@pytest.mark.parametrize(
    ("kind", "count"),
    [(DAILY, 393), (WEEKLY, 56), (BIWEEKLY, 28)],
    ids=["daily", "weekly", "biweekly"],
)
def test_the_number_of_posts_over_the_year(year: Year, kind: PeriodKind, count: int) -> None:
    """396 days less 5-7 Jun (never caught up); 56 Mondays; 28 anchor Mondays; one post each."""
    assert len(posts_of(year, kind)) == count
    assert len(year.slack[kind].posts) == count


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_no_window_is_ever_posted_twice(year: Year, kind: PeriodKind) -> None:
    """Duplicate invocations and past-due replays never post a window again."""
    repeats = Counter(p.window for p in posts_of(year, kind))
    assert [w for w, n in repeats.items() if n > 1] == []
    assert year.already_delivered[kind] > 0


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_every_on_schedule_post_happens_at_nine_london_time(year: Year, kind: PeriodKind) -> None:
    """Posts from regular fires are at 09:00 Europe/London: 09:00Z in winter, 08:00Z in summer."""
    regular = [p for p in posts_of(year, kind) if not p.delivery.past_due]
    assert regular
    for post in regular:
        local = post.delivery.scheduled_for.astimezone(LONDON)
        assert (local.hour, local.minute) == (9, 0), post
        assert local.date() == post.window.end + timedelta(days=1)
        utc_hour = post.delivery.scheduled_for.hour
        assert utc_hour == (8 if local.utcoffset() == timedelta(hours=1) else 9)


@pytest.mark.parametrize(
    ("kind", "caught_up"),
    [
        (
            DAILY,
            [
                date(2026, 2, 10),
                date(2026, 3, 29),
                date(2026, 6, 8),
                date(2026, 9, 14),
                date(2027, 1, 1),
            ],
        ),
        (WEEKLY, [date(2026, 6, 8), date(2026, 9, 14)]),
        (BIWEEKLY, [date(2026, 6, 8), date(2026, 9, 14)]),
    ],
    ids=["daily", "weekly", "biweekly"],
)
def test_past_due_replays_post_only_the_latest_missed_slot(
    year: Year, kind: PeriodKind, caught_up: list[date]
) -> None:
    """Each restart posts the latest slot it missed, if any; earlier missed days stay missed."""
    replayed = [p for p in posts_of(year, kind) if p.delivery.past_due]
    assert [p.window for p in replayed] == [window_for(kind, d) for d in caught_up]
    if kind is DAILY:
        missed_for_good = {window_for(DAILY, date(2026, 6, d)) for d in (5, 6, 7)}
        assert missed_for_good.isdisjoint(p.window for p in posts_of(year, DAILY))


def test_weekly_posts_every_monday_of_the_year(year: Year) -> None:
    """One weekly report per Monday, 5 Jan 2026 to 25 Jan 2027, covering Monday-Sunday."""
    windows = [p.window for p in posts_of(year, WEEKLY)]
    mondays = [d for d in SIM_DAYS if d.weekday() == 0]
    assert windows == [window_for(WEEKLY, d) for d in mondays]
    assert all(w.start.weekday() == 0 and w.end.weekday() == 6 for w in windows)


def test_biweekly_posts_are_fourteen_days_apart_across_the_new_year(year: Year) -> None:
    """Bi-weekly posts are every 14 days from the anchor, including 21 Dec 2026 -> 4 Jan 2027."""
    days = [p.window.end + timedelta(days=1) for p in posts_of(year, BIWEEKLY)]
    assert days[0] == ANCHOR
    assert days[-1] == date(2027, 1, 18)
    assert {b - a for a, b in pairwise(days)} == {timedelta(days=14)}
    assert [d for d in days if date(2026, 12, 1) <= d <= date(2027, 1, 31)] == [
        date(2026, 12, 7),
        date(2026, 12, 21),
        date(2027, 1, 4),
        date(2027, 1, 18),
    ]


@pytest.mark.parametrize(
    ("kind", "total"),
    [(DAILY, 2), (WEEKLY, 14), (BIWEEKLY, 28)],
    ids=["daily", "weekly", "biweekly"],
)
def test_every_posted_report_counts_its_own_window(
    year: Year, kind: PeriodKind, total: int
) -> None:
    """Two users doing each event daily: 2 active users, and 2 per day of each metric event."""
    for post in posts_of(year, kind):
        assert post.figures == {
            "active_users": 2,
            "new_signups": total,
            "users_onboarded": total,
            "receipts_uploaded": total,
            "planetpoints_added": total,
            "vouchers_redeemed": total,
        }, post.window


def test_mixpanel_is_only_asked_when_a_report_is_posted(year: Year) -> None:
    """Skipped and already-delivered fires make no request: three requests per posted report."""
    assert len(year.mixpanel.calls) == 3 * len(year.posts)
    assert Counter(year.mixpanel.calls) == {
        "event_names": len(year.posts),
        "unique_users": len(year.posts),
        "daily_counts": len(year.posts),
    }


def test_the_simulation_covers_every_fire_duplicates_and_replays(year: Year) -> None:
    """Sanity: every 15-minute fire outside the outages, 08:00Z/09:00Z twice, one replay each."""
    grid = [FIRST_FIRE + i * FIRE_EVERY for i in range((END - FIRST_FIRE) // FIRE_EVERY)]
    served = [m for m in grid if not any(m in outage for outage in OUTAGES)]
    invocations = deliveries()
    regular = [d for d in invocations if not d.past_due]
    assert len(invocations) == year.invocations
    assert sorted({d.scheduled_for for d in regular}) == served
    assert len(regular) == len(served) + sum(m.time() in DUPLICATED_AT for m in served)
    assert [d.scheduled_for for d in invocations if d.past_due] == [o.down for o in OUTAGES]
