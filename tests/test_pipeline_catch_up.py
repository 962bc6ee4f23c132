"""Spec of catch-up: a scheduled delivery whose attempt failed is completed by the next timer
fires, exactly once, within CATCH_UP_HOURS and before the next slot; the late post says so."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.delivery.ledger import DeliveryStatus, InMemoryLedger
from shared.delivery.port import Postable
from shared.errors import MixpanelUnavailable, SlackError
from shared.pipeline import late_note, run_scheduled
from shared.schedule.periods import PeriodKind
from shared.schedule.slots import Run, ScheduleRules, Skip, catch_up
from tests.fakes import FakeMixpanel
from tests.test_pipeline import CTX, LONDON, MONDAY_9, RULES, project

FIFTEEN = timedelta(minutes=15)


@dataclass
class Slack:
    """A Slack that answers 503 while `down`, and records what it took."""

    destination: str = "fake-webhook"
    down: bool = False
    posts: list[dict[str, Any]] = field(default_factory=list)
    refused: int = 0

    def post(self, message: Postable) -> None:
        if self.down:
            self.refused += 1
            raise SlackError("Slack is unavailable", status=503, body="service_unavailable")
        self.posts.append(message.payload())


def fire(slack: Slack, ledger: InMemoryLedger, mixpanel: FakeMixpanel, at: datetime, **kw: Any):
    """One timer fire at `at` (its own schedule time), as the host runs it; errors returned."""
    try:
        return run_scheduled(
            PeriodKind.WEEKLY,
            CTX,
            RULES,
            scheduled_for=kw.pop("scheduled_for", at),
            past_due=False,
            now=at + timedelta(seconds=2),
            mixpanel=mixpanel,
            slack=slack,
            ledger=ledger,
            **kw,
        )
    except Exception as exc:  # noqa: BLE001 - the host records a failed run; so does the test
        return exc


def morning(slack: Slack, ledger: InMemoryLedger, mixpanel: FakeMixpanel, *, back: datetime):
    """09:00 and the host's three retries, then a fire every 15 minutes until 10:15; the
    outage (Slack's or Mixpanel's) ends at `back`."""
    times = [MONDAY_9 + timedelta(minutes=m) for m in (0, 1, 3, 8)]
    times += [MONDAY_9 + FIFTEEN * n for n in range(1, 6)]
    for at in sorted(times):
        if at >= back:
            slack.down = False
            mixpanel.fail.clear()
        retry_of_slot = at < MONDAY_9 + FIFTEEN
        fire(slack, ledger, mixpanel, at, scheduled_for=MONDAY_9 if retry_of_slot else at)


def reports(slack: Slack) -> list[dict[str, Any]]:
    return [p for p in slack.posts if "weekly report" in p["text"].lower()]


def test_slack_down_for_an_hour_posts_the_report_once_when_it_returns_saying_it_is_late():
    """Slack 503 from 09:00 to 09:59: the 10:00 fire posts the report, once, marked late."""
    slack, ledger = Slack(down=True), InMemoryLedger()
    mixpanel = FakeMixpanel(project(), LONDON)
    morning(slack, ledger, mixpanel, back=MONDAY_9 + timedelta(hours=1))
    [report] = reports(slack)
    text = json.dumps(report, ensure_ascii=False)
    assert (
        "Posted late, at 10:00 instead of 09:00 GMT; delayed since 09:00: "
        "Slack webhook answered HTTP 503: Slack is unavailable: service_unavailable."
    ) in text
    [row] = ledger.history(report="weekly")
    assert row.status is DeliveryStatus.SENT
    # A notice about Slack cannot go to Slack: the late report is the only post.
    assert len(slack.posts) == 1
    assert slack.refused == 7  # 09:00, its 3 retries, 09:15, 09:30, 09:45: one try each


def test_mixpanel_down_for_an_hour_posts_one_notice_then_the_report_once_when_it_returns():
    """Mixpanel 503 until 09:59: one notice for the streak, the report at 10:00, one
    recovered line; the fires after it ask Mixpanel nothing."""
    slack, ledger = Slack(), InMemoryLedger()
    down = MixpanelUnavailable("server error", endpoint="/events", status=503)
    mixpanel = FakeMixpanel(project(), LONDON, fail={"unique_users": down, "daily_counts": down})
    morning(slack, ledger, mixpanel, back=MONDAY_9 + timedelta(hours=1))
    texts = [p["text"] for p in slack.posts]
    assert len(texts) == 3
    assert texts[0].startswith("Weekly report failed")
    assert "Acme weekly report" in texts[1]
    assert "delayed since 09:00: Mixpanel /events answered HTTP 503: server error." in json.dumps(
        slack.posts[1]
    )
    assert "recovered" in texts[2]


def test_a_report_posted_at_its_slot_is_not_caught_up_and_costs_no_mixpanel_request():
    """Catch-up only completes failed deliveries: later fires read the ledger, nothing else."""
    slack, ledger = Slack(), InMemoryLedger()
    mixpanel = FakeMixpanel(project(), LONDON)
    morning(slack, ledger, mixpanel, back=MONDAY_9)
    assert len(slack.posts) == 1
    calls = len(mixpanel.calls)
    for n in range(1, 20):
        assert isinstance(fire(slack, ledger, mixpanel, MONDAY_9 + FIFTEEN * n), Skip)
    assert len(mixpanel.calls) == calls
    assert len(slack.posts) == 1


def test_a_post_that_may_have_landed_is_never_caught_up():
    """maybe_posted is sent ("uncertain"): catch-up never sends a second copy."""
    ledger, mixpanel = InMemoryLedger(), FakeMixpanel(project(), LONDON)

    class Timeout(Slack):
        def post(self, message: Postable) -> None:
            raise SlackError("no answer from Slack", maybe_posted=True)

    fire(Timeout(), ledger, mixpanel, MONDAY_9)
    slack = Slack()
    for n in range(1, 8):
        fire(slack, ledger, mixpanel, MONDAY_9 + FIFTEEN * n)
    assert slack.posts == []


@pytest.mark.parametrize(
    ("hours", "back_after", "posted"),
    [
        (6, timedelta(hours=5, minutes=45), True),
        (6, timedelta(hours=6), False),
        (0, timedelta(minutes=15), False),
    ],
    ids=["inside the horizon", "at the horizon", "catch-up off"],
)
def test_catch_up_stops_at_the_horizon(hours, back_after, posted):
    """Slack back after `back_after`: posted only if that is inside CATCH_UP_HOURS."""
    slack, ledger = Slack(down=True), InMemoryLedger()
    mixpanel = FakeMixpanel(project(), LONDON)
    horizon = timedelta(hours=hours)
    fire(slack, ledger, mixpanel, MONDAY_9, catch_up=horizon)
    slack.down = False
    fire(slack, ledger, mixpanel, MONDAY_9 + back_after, catch_up=horizon)
    assert len(reports(slack)) == (1 if posted else 0)


MON = datetime(2026, 11, 23, 9, tzinfo=UTC)  # a Monday, 09:00 London (GMT)


@pytest.mark.parametrize(
    ("kind", "now", "hours", "slot"),
    [
        (PeriodKind.WEEKLY, MON + timedelta(minutes=15), 6, MON),
        (PeriodKind.WEEKLY, MON + timedelta(hours=5, minutes=59), 6, MON),
        (PeriodKind.WEEKLY, MON + timedelta(hours=6), 6, None),
        (PeriodKind.WEEKLY, MON - timedelta(minutes=1), 6, None),
        (PeriodKind.DAILY, MON + timedelta(hours=23, minutes=45), 24, MON),
        (PeriodKind.DAILY, MON + timedelta(hours=24, minutes=15), 168, MON + timedelta(days=1)),
        (PeriodKind.DAILY, MON + timedelta(minutes=30), 0, None),
    ],
    ids=[
        "a quarter after the slot",
        "a minute inside the horizon",
        "at the horizon",
        "before the slot: last week's is past the horizon",
        "a daily a day later",
        "never past the next slot",
        "off",
    ],
)
def test_the_catch_up_decision_is_the_latest_slot_within_the_horizon(kind, now, hours, slot):
    """Pure: the latest slot before now, if within the horizon (so before the next slot)."""
    decision = catch_up(kind, now=now, rules=ScheduleRules(LONDON), horizon=timedelta(hours=hours))
    if slot is None:
        assert isinstance(decision, Skip)
    else:
        assert isinstance(decision, Run)
        assert decision.slot == slot.astimezone(LONDON)


def test_a_late_note_names_when_it_was_due_since_when_and_why():
    """The late post's line, from the ledger row of the first attempt."""
    ledger = InMemoryLedger()
    slack = Slack(down=True)
    fire(slack, ledger, FakeMixpanel(project(), LONDON), MONDAY_9)
    [row] = ledger.history()
    run = catch_up(PeriodKind.WEEKLY, now=MONDAY_9 + FIFTEEN, rules=RULES, horizon=FIFTEEN * 4)
    assert isinstance(run, Run)
    assert late_note(row, run, MONDAY_9 + timedelta(minutes=47)) == (
        "Posted late, at 09:47 instead of 09:00 GMT; delayed since 09:00: "
        "Slack webhook answered HTTP 503: Slack is unavailable: service_unavailable."
    )
