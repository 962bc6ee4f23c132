"""Specs for once-per-breach: one alert when a rule starts firing, one resolved post when it stops.

Run against an in-memory ledger and against real Azure Table storage (Azurite), with repeated,
duplicated and concurrent fires from separate ledger instances (separate hosts).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from shared.alerts.check import AlertContext, decide_and_apply
from shared.alerts.rules import AlertsConfig, WatchSettings
from shared.delivery.breach import Outcome
from shared.delivery.ledger import DeliveryLedger, InMemoryLedger, TableDeliveryLedger
from shared.errors import SlackError
from shared.render.alert_message import render_alert, render_resolved
from shared.report.metrics import MetricsConfig, MetricSpec
from shared.schedule.hours import LocalHour, days_between, hours_of_day
from tests.fakes import FakeSlack
from tests.race import race

LONDON = ZoneInfo("Europe/London")
EVENT = "Receipt Uploaded"
OUTAGE_START = datetime(2026, 7, 15, 10, tzinfo=LONDON)
OUTAGE_END = datetime(2026, 7, 15, 17, tzinfo=LONDON)
CTX = AlertContext(
    AlertsConfig(WatchSettings(min_interval_hours=2)),
    MetricsConfig((MetricSpec("receipts", "Receipts", ":receipt:", (EVENT,)),)),
    LONDON,
    "Acme",
    render_alert,
    render_resolved,
)
LedgerFactory = Callable[[], DeliveryLedger]


def steady_counts(silent: tuple[datetime, datetime] | None) -> dict[str, dict[LocalHour, int]]:
    """10 an hour every hour for five weeks up to 16 Jul, none while `silent`."""
    counts: dict[LocalHour, int] = {}
    for day in days_between(date(2026, 6, 10), date(2026, 7, 16)):
        for bucket in hours_of_day(day, LONDON):
            start = datetime(day.year, day.month, day.day, bucket.hour, tzinfo=LONDON)
            quiet = silent is not None and silent[0] <= start < silent[1]
            counts[bucket] = 0 if quiet else 10
    return {EVENT: counts}


def at(hour: int, minute: int = 15) -> datetime:
    return datetime(2026, 7, 15, hour, minute, tzinfo=LONDON).astimezone(UTC)


@pytest.fixture(params=["memory", pytest.param("table", marks=pytest.mark.azurite)])
def make_ledger(request: pytest.FixtureRequest, ledger_table_name: str) -> LedgerFactory:
    """Ledgers sharing one store: one table on Azurite (a new client per call), or memory."""
    if request.param == "memory":
        shared = InMemoryLedger()
        return lambda: shared
    conn = request.getfixturevalue("azurite_connection_string")
    return lambda: TableDeliveryLedger(conn, table_name=ledger_table_name)


def fire(slack: FakeSlack, ledger: DeliveryLedger, now: datetime, counts=None) -> Outcome:
    result = decide_and_apply(
        CTX,
        counts or steady_counts((OUTAGE_START, OUTAGE_END)),
        [EVENT],
        now=now,
        poster=slack,
        ledger=ledger,
    )
    return result.outcomes[f"watch:{EVENT}"]


def test_an_outage_posts_one_alert_and_one_resolved_over_any_number_of_fires(
    make_ledger: LedgerFactory,
) -> None:
    """Hourly fires, each repeated three times from fresh instances: exactly two posts."""
    slack = FakeSlack()
    outcomes = []
    for hour in range(8, 24):
        for _ in range(3):
            outcomes.append(fire(slack, make_ledger(), at(hour)))
    texts = [p["text"] for p in slack.posts]
    assert len(texts) == 2
    assert texts[0].startswith(f"Alert: {EVENT}: no events since Wed 15 Jul 10:00")
    assert "expected about" in texts[0]
    assert texts[1] == f"Resolved: {EVENT}: events are back to their usual volume"
    assert outcomes.count(Outcome.OPENED) == 1
    assert outcomes.count(Outcome.RESOLVED) == 1
    first_alert = outcomes.index(Outcome.OPENED) // 3 + 8
    assert 11 <= first_alert <= 13  # within a few hours of the 10:00 start


def test_concurrent_fires_of_one_check_post_the_alert_once(make_ledger: LedgerFactory) -> None:
    """Ten hosts run the 12:15 check at the same instant: one alert, nine silent."""
    slack = FakeSlack()
    for hour in (8, 9, 10):
        fire(slack, make_ledger(), at(hour))
    ledgers = [make_ledger() for _ in range(10)]

    def firer(ledger: DeliveryLedger) -> Callable[[], Outcome]:
        return lambda: fire(slack, ledger, at(13))

    outcomes = race([firer(ledger) for ledger in ledgers])  # raises if any fire raised
    assert outcomes.count(Outcome.OPENED) == 1
    assert set(outcomes) <= {Outcome.OPENED, Outcome.BUSY, Outcome.ONGOING}
    assert len(slack.posts) == 1


def test_no_outage_posts_nothing(make_ledger: LedgerFactory) -> None:
    """A steady event: every fire is clear."""
    slack = FakeSlack()
    ledger = make_ledger()
    for hour in range(0, 24):
        assert fire(slack, ledger, at(hour), steady_counts(None)) is Outcome.CLEAR
    assert slack.posts == []


def test_a_refused_alert_is_posted_by_the_next_fire_and_only_once(
    make_ledger: LedgerFactory,
) -> None:
    """Slack refusing the alert leaves the breach unannounced; the next fire posts it."""
    slack = FakeSlack(fail_with=[SlackError("rollup_error", status=500)])
    ledger = make_ledger()
    outcomes = []
    for hour in range(10, 16):
        try:
            outcomes.append(fire(slack, ledger, at(hour)))
        except SlackError:
            outcomes.append(None)
    assert None in outcomes
    assert outcomes.count(Outcome.OPENED) == 1
    assert len(slack.posts) == 1


def test_a_flapping_event_posts_at_most_once_per_interval() -> None:
    """Silent, back, silent, back every other stretch: the interval holds extra posts back."""
    slack, ledger = FakeSlack(), InMemoryLedger()
    flaps = steady_counts(None)
    for start in (10, 14, 18):  # three 3-hour outages an hour apart
        for hour in range(start, start + 3):
            flaps[EVENT][LocalHour(date(2026, 7, 15), hour)] = 0
    posted_at: list[datetime] = []
    for hour in range(8, 24):
        before = len(slack.posts)
        fire(slack, ledger, at(hour), flaps)
        posted_at += [at(hour)] * (len(slack.posts) - before)
    assert posted_at, "the first outage must alert"
    gaps = [b - a for a, b in pairwise(posted_at)]
    assert all(gap >= timedelta(hours=2) for gap in gaps)


class DownSlack(FakeSlack):
    """A Slack that answers 503 while `down`."""

    down: bool = True

    def post(self, message) -> None:  # type: ignore[no-untyped-def]
        if self.down:
            raise SlackError("service_unavailable", status=503)
        super().post(message)


def test_an_alert_that_could_not_be_posted_lapses_if_it_resolved_before_slack_returned(
    make_ledger: LedgerFactory,
) -> None:
    """Slack down for the whole outage: when it returns the event is back, so neither the
    stale alert nor an all-clear for an alert nobody saw is posted."""
    slack = DownSlack()
    ledger = make_ledger()
    for hour in range(8, 18):
        with contextlib.suppress(SlackError):
            fire(slack, ledger, at(hour))
    slack.down = False
    outcomes = [fire(slack, ledger, at(hour)) for hour in range(18, 24)]
    assert slack.posts == []
    assert set(outcomes) == {Outcome.CLEAR}


def test_an_alert_that_could_not_be_posted_is_posted_when_slack_returns_while_it_lasts(
    make_ledger: LedgerFactory,
) -> None:
    """Slack down from 10:00 to 13:59 of a 10:00-17:00 outage: the alert at 14:15, once,
    then one resolved post."""
    slack = DownSlack()
    ledger = make_ledger()
    for hour in range(8, 24):
        slack.down = hour < 14
        with contextlib.suppress(SlackError):
            fire(slack, ledger, at(hour))
    texts = [p["text"] for p in slack.posts]
    assert len(texts) == 2
    assert texts[0].startswith(f"Alert: {EVENT}: no events since Wed 15 Jul 10:00")
    assert texts[1].startswith("Resolved:")
