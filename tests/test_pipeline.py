"""Spec of the shell: gather (3 requests), decide, apply once; failures are loud, never zero."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from shared.delivery.ledger import DeliveryStatus, InMemoryLedger
from shared.errors import (
    LedgerError,
    MixpanelAuthError,
    MixpanelUnavailable,
    SlackError,
    UnknownEventsError,
)
from shared.pipeline import ReportContext, produce_report, run_scheduled
from shared.report.metrics import load_metrics
from shared.schedule.periods import PeriodKind, report_period
from shared.schedule.slots import ScheduleRules, Skip
from shared.settings import DEFAULT_METRICS_FILE
from tests.fakes import FakeEvent, FakeMixpanel, FakeSlack

LONDON = ZoneInfo("Europe/London")
CONFIG = load_metrics(DEFAULT_METRICS_FILE)
CTX = ReportContext(CONFIG, "Acme", LONDON, "https://eu.mixpanel.com/project/1")
RULES = ScheduleRules(LONDON)
MONDAY_9 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 09:00 GMT = 09:00 London
WEEKLY = report_period(PeriodKind.WEEKLY, date(2026, 11, 23))  # 16-22 Nov vs 9-15 Nov
METRIC_EVENTS = [
    "Sign Up",
    "User Onboarded",
    "Receipt Uploaded",
    "PlanetPoints Added",
    "Voucher Redeemed",
]


def at(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=LONDON)


def project() -> list[FakeEvent]:
    """Two weeks of events with users active on several days and events at local midnight."""
    events = []
    for offset in range(14):
        day = date(2026, 11, 9) + timedelta(days=offset)
        for n, user in enumerate(("ana", "ben", "cy")):
            if (offset + n) % 3:
                events.append(FakeEvent("Receipt Uploaded", user, at(day, 10 + n)))
            events.append(FakeEvent("App Opened", user, at(day, 8)))
        events.append(FakeEvent("$identify", f"anon-{offset}", at(day, 12)))
        for name in METRIC_EVENTS:
            events.append(FakeEvent(name, "dee", at(day, 13)))
    # Just before and just after local midnight at the week boundary (Sun 22 -> Mon 23 Nov).
    events.append(FakeEvent("Sign Up", "eve", at(date(2026, 11, 22), 23, 59, 59)))
    events.append(FakeEvent("Sign Up", "fay", at(date(2026, 11, 23), 0, 0, 0)))
    events.append(FakeEvent("Sign Up", "gus", at(date(2026, 11, 16), 0, 0, 0)))
    events.append(FakeEvent("Sign Up", "hal", at(date(2026, 11, 15), 23, 59, 59)))
    return events


def brute_force(events: list[FakeEvent], start: date, end: date) -> tuple[dict[str, int], int]:
    """Totals per event and distinct non-$ users, straight from the raw events."""
    totals: dict[str, int] = {}
    users = set()
    for e in events:
        if start <= e.at.astimezone(LONDON).date() <= end:
            totals[e.name] = totals.get(e.name, 0) + 1
            if not e.name.startswith("$"):
                users.add(e.user)
    return totals, len(users)


def test_every_figure_equals_the_one_computed_from_the_raw_events():
    """Counts, active users, top events and baselines match a brute-force count by local day."""
    events = project()
    mixpanel = FakeMixpanel(events, LONDON)
    report = produce_report(WEEKLY, CTX, mixpanel=mixpanel, now=MONDAY_9)
    now_totals, now_users = brute_force(events, date(2026, 11, 16), date(2026, 11, 22))
    was_totals, was_users = brute_force(events, date(2026, 11, 9), date(2026, 11, 15))
    values = {m.spec.key: (m.value, m.changes[0].baseline) for m in report.metrics}
    assert values["active_users"] == (now_users, was_users)
    assert values["active_users"] == (6, 5)  # eve, gus this week; hal last week; fay neither
    assert values["new_signups"] == (now_totals["Sign Up"], was_totals["Sign Up"])
    assert values["new_signups"] == (9, 8)
    assert values["receipts_uploaded"] == (
        now_totals["Receipt Uploaded"],
        was_totals["Receipt Uploaded"],
    )
    expected_top = sorted(
        ((n, c) for n, c in now_totals.items() if not n.startswith("$")),
        key=lambda t: (-t[1], t[0]),
    )[:5]
    assert [(e.name, e.count) for e in report.top_events or ()] == expected_top


def test_a_report_costs_three_mixpanel_requests_whatever_the_metrics():
    """Names and export first, then one counts call naming every event."""
    mixpanel = FakeMixpanel(project(), LONDON)
    produce_report(WEEKLY, CTX, mixpanel=mixpanel, now=MONDAY_9)
    assert sorted(name for name, _ in mixpanel.calls) == [
        "daily_counts",
        "event_names",
        "unique_users",
    ]
    counted, window = next(args for name, args in mixpanel.calls if name == "daily_counts")
    assert window == WEEKLY.span
    assert set(METRIC_EVENTS) <= set(counted)
    assert "$identify" in counted  # every event of the project, for an uncapped top list


def test_the_export_is_widened_by_a_utc_day_and_clamped_to_today():
    """UTC export dates cover every local day of the span, never a day after today (UTC)."""
    mixpanel = FakeMixpanel(project(), LONDON)
    produce_report(WEEKLY, CTX, mixpanel=mixpanel, now=MONDAY_9)
    args = next(a for n, a in mixpanel.calls if n == "unique_users")
    assert args == (date(2026, 11, 8), date(2026, 11, 23), None)


def test_a_metric_event_the_project_lacks_is_an_error_with_a_did_you_mean():
    """A typo in the metrics file never becomes a silent zero."""
    ctx = ReportContext(CONFIG.with_events(["Receipt Uplodaed"]), "Acme", LONDON, "https://x")
    with pytest.raises(UnknownEventsError) as caught:
        produce_report(WEEKLY, ctx, mixpanel=FakeMixpanel(project(), LONDON), now=MONDAY_9)
    assert str(caught.value) == (
        "unknown Mixpanel event in metrics file: 'Receipt Uplodaed' "
        "(did you mean 'Receipt Uploaded'?)"
    )


def test_a_failed_export_leaves_unique_figures_unavailable_and_the_rest_reported():
    """One failed query marks its figures unavailable; the others are still reported."""
    mixpanel = FakeMixpanel(
        project(),
        LONDON,
        fail={"unique_users": MixpanelUnavailable("server error", endpoint="/export", status=503)},
    )
    report = produce_report(WEEKLY, CTX, mixpanel=mixpanel, now=MONDAY_9)
    assert report.metrics[0].value is None
    assert report.metrics[0].unavailable == "Mixpanel /export answered HTTP 503: server error"
    assert report.metrics[1].value == 9


def test_when_nothing_can_be_read_the_error_is_raised_not_a_report_of_gaps():
    """Counts and uniques both failing raises, so a failure notice is posted instead."""
    down = MixpanelUnavailable("server error", endpoint="/events", status=503)
    mixpanel = FakeMixpanel(project(), LONDON, fail={"unique_users": down, "daily_counts": down})
    with pytest.raises(MixpanelUnavailable):
        produce_report(WEEKLY, CTX, mixpanel=mixpanel, now=MONDAY_9)


def test_bad_credentials_are_raised_at_once():
    """A 401 is a configuration problem, not an unavailable figure."""
    denied = MixpanelAuthError("check credentials", endpoint="/events/names", status=401)
    mixpanel = FakeMixpanel(project(), LONDON, fail={"event_names": denied})
    with pytest.raises(MixpanelAuthError):
        produce_report(WEEKLY, CTX, mixpanel=mixpanel, now=MONDAY_9)


def scheduled(
    slack: FakeSlack, ledger: InMemoryLedger, mixpanel: FakeMixpanel | None = None, **kw: object
):
    options: dict[str, object] = {
        "scheduled_for": MONDAY_9,
        "past_due": False,
        "now": MONDAY_9 + timedelta(seconds=3),
    }
    options.update(kw)
    return run_scheduled(
        PeriodKind.WEEKLY,
        CTX,
        RULES,
        mixpanel=mixpanel or FakeMixpanel(project(), LONDON),
        slack=slack,
        ledger=ledger,
        **options,  # type: ignore[arg-type]
    )


def test_a_scheduled_report_posts_once_and_records_the_delivery():
    """The slot's report is posted and the ledger says sent, with a summary."""
    slack, ledger = FakeSlack(), InMemoryLedger()
    outcome = scheduled(slack, ledger)
    assert not isinstance(outcome, Skip)
    assert outcome.posted
    assert len(slack.posts) == 1
    [record] = ledger.history()
    assert record.status is DeliveryStatus.SENT
    assert record.detail.startswith("weekly 16 Nov - 22 Nov 2026: Active users=6")


def test_a_second_fire_for_the_same_window_posts_nothing():
    """Duplicate fires (scale-out, restart) find the delivery claimed and stop."""
    slack, ledger = FakeSlack(), InMemoryLedger()
    scheduled(slack, ledger)
    outcome = scheduled(slack, ledger)
    assert not isinstance(outcome, Skip)
    assert not outcome.posted
    assert len(slack.posts) == 1


def test_a_fire_that_is_not_the_slot_does_nothing():
    """The 09:15 fire skips without touching Mixpanel, Slack or storage."""
    slack, ledger = FakeSlack(), InMemoryLedger()
    mixpanel = FakeMixpanel(project(), LONDON)
    outcome = scheduled(slack, ledger, mixpanel, scheduled_for=MONDAY_9 + timedelta(minutes=15))
    assert isinstance(outcome, Skip)
    assert mixpanel.calls == []
    assert ledger.history() == []


def test_a_failed_run_posts_a_notice_records_why_raises_and_its_retry_posts_once():
    """Mixpanel down: failure notice, FAILED record, error raised; the retry then delivers."""
    slack, ledger = FakeSlack(), InMemoryLedger()
    down = MixpanelUnavailable("server error", endpoint="/events", status=503)
    broken = FakeMixpanel(project(), LONDON, fail={"unique_users": down, "daily_counts": down})
    with pytest.raises(MixpanelUnavailable):
        scheduled(slack, ledger, broken)
    assert len(slack.posts) == 1
    assert "failed" in slack.posts[0]["text"].lower()
    assert ledger.history(report="weekly")[0].status is DeliveryStatus.FAILED
    scheduled(slack, ledger)
    scheduled(slack, ledger)
    assert len(slack.posts) == 3  # the notice, the report, one "recovered" line
    assert "recovered" in slack.posts[2]["text"]
    assert ledger.history(report="weekly")[0].status is DeliveryStatus.SENT
    assert ledger.history(report="weekly")[0].attempt == 2


def test_a_post_that_may_have_reached_slack_is_never_posted_again():
    """After an uncertain post (read timeout) the delivery is recorded and not retried."""
    slack, ledger = FakeSlack(), InMemoryLedger()
    slack.fail_with.append(SlackError("no answer from Slack", maybe_posted=True))
    with pytest.raises(SlackError):
        scheduled(slack, ledger)
    scheduled(slack, ledger)
    assert slack.posts == []
    assert ledger.history()[0].detail.startswith("uncertain:")


def test_a_refused_post_is_recorded_failed_so_a_retry_can_deliver():
    """Slack refusing (nothing posted) leaves the delivery open for the retry."""
    slack, ledger = FakeSlack(), InMemoryLedger()
    slack.fail_with.append(SlackError("refused", status=500, body="rollup_error"))
    with pytest.raises(SlackError):
        scheduled(slack, ledger)
    scheduled(slack, ledger)
    assert len(slack.posts) == 1


def test_a_past_due_catch_up_posts_the_missed_window_once():
    """The host back at 11:40 posts the 09:00 slot's window; a later catch-up posts nothing."""
    slack, ledger = FakeSlack(), InMemoryLedger()
    late = MONDAY_9 + timedelta(hours=2, minutes=40)
    scheduled(slack, ledger, scheduled_for=MONDAY_9 - timedelta(hours=3), past_due=True, now=late)
    scheduled(slack, ledger, scheduled_for=late, past_due=True, now=late + timedelta(hours=1))
    assert len(slack.posts) == 1
    assert ledger.history()[0].key.start == date(2026, 11, 16)


class BrokenLedger(InMemoryLedger):
    """A ledger whose storage is down."""

    def claim(self, key, *, now):  # type: ignore[no-untyped-def]
        raise LedgerError("table storage claim failed (ServiceRequestError)")


def test_storage_down_posts_no_report_but_a_notice_and_raises():
    """Without the ledger the report cannot be promised once: nothing posted but the notice."""
    slack = FakeSlack()
    with pytest.raises(LedgerError):
        scheduled(slack, BrokenLedger())
    assert len(slack.posts) == 1
    assert "table storage claim failed" in json.dumps(slack.posts[0])


def test_when_names_cannot_be_checked_the_report_says_a_typo_would_read_zero():
    """Without /events/names a misspelt event cannot be caught, so the report says so."""
    down = MixpanelUnavailable("server error", endpoint="/events/names", status=503)
    mixpanel = FakeMixpanel(project(), LONDON, fail={"event_names": down})
    report = produce_report(WEEKLY, CTX, mixpanel=mixpanel, now=MONDAY_9)
    assert report.notes == (
        "The event names in the metrics file could not be checked against the project "
        "(Mixpanel /events/names answered HTTP 503: server error): a misspelt event would "
        "show as 0.",
    )


def test_a_totals_only_report_without_names_withholds_top_events():
    """No unique metric means no export: if the names fail too, nothing lists every event."""
    ctx = ReportContext(CONFIG.with_events(["Sign Up"]), "Acme", LONDON, "https://x")
    down = MixpanelUnavailable("server error", endpoint="/events/names", status=503)
    mixpanel = FakeMixpanel(project(), LONDON, fail={"event_names": down})
    report = produce_report(WEEKLY, ctx, mixpanel=mixpanel, now=MONDAY_9)
    assert [name for name, _ in mixpanel.calls].count("unique_users") == 0
    assert report.metrics[0].value == 9
    assert report.top_events is None
    assert report.notes[-1].startswith(
        "Top events and notable changes: the full list of events in this window is unknown"
    )
