"""End to end on Azurite: an hour-long outage (Slack, Mixpanel or SMTP) across the host's
retries loses no report. The real timer entry runs at 09:00 and its three retries, then every
15 minutes until 10:15 against the loopback stand-ins; the outage ends at 10:00, and exactly
one delivery reaches each destination, saying it is late and why."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from azure.functions.timer import TimerRequest

from devtools.smtp_standin import SmtpStandIn
from shared.delivery.email_client import SmtpEmail
from shared.jobs.scheduled_reports import run_timer
from shared.schedule.periods import PeriodKind
from shared.schedule.slots import ScheduleRules, latest_slot
from tests.e2e import LONDON, Invocation, Stack
from tests.email_fixtures import RECIPIENTS, SENDER, visible_text

pytestmark = pytest.mark.azurite

BACK_AT = timedelta(hours=1)  # the outage lasts from 09:00 to 09:59


def monday_nine() -> datetime:
    """The latest weekly slot (a Monday, 09:00 London): the sample data covers its window."""
    slot = latest_slot(PeriodKind.WEEKLY, datetime.now(UTC), ScheduleRules(LONDON))
    assert slot is not None
    return slot


def the_morning(slot: datetime, outage_over: Callable[[], None]) -> list[BaseException]:
    """Fire WeeklyReport as the host would; end the outage at 10:00; the failed runs' errors."""
    fires = [(slot + timedelta(minutes=m), slot, n) for n, m in enumerate((0, 1, 3, 8))]
    fires += [
        (slot + timedelta(minutes=15 * k), slot + timedelta(minutes=15 * k), 0) for k in range(1, 6)
    ]
    errors: list[BaseException] = []
    over = False
    for now, intended, retry in fires:
        if not over and now - slot >= BACK_AT:
            outage_over()
            over = True
        timer = TimerRequest(past_due=False, schedule_status={"Next": intended.isoformat()})
        try:
            run_timer(
                PeriodKind.WEEKLY, timer, Invocation(retry, 3), now=now + timedelta(seconds=5)
            )
        except Exception as exc:  # noqa: BLE001 - a failed run, as the host records it
            errors.append(exc)
    return errors


def reports(stack: Stack) -> list[dict]:
    return [p for p in stack.slack.posts if "Acme weekly report" in p["text"]]


@pytest.fixture
def ledger_on_azurite(stack: Stack, azurite_connection_string, ledger_table_name, monkeypatch):
    monkeypatch.setenv("AzureWebJobsStorage", azurite_connection_string)
    monkeypatch.setenv("DELIVERY_TABLE", ledger_table_name)


def test_slack_down_from_nine_to_ten_posts_the_weekly_report_once_at_ten(
    stack: Stack, ledger_on_azurite
):
    """Slack answers 503 for an hour: the 10:00 fire posts the report, once, marked late."""
    stack.slack.fail_next(503, times=10_000, body="service_unavailable")
    errors = the_morning(monday_nine(), stack.slack.clear_failures)
    assert len(errors) == 7  # 09:00, its 3 retries, 09:15, 09:30, 09:45
    [report] = reports(stack)
    text = json.dumps(report, ensure_ascii=False)
    assert "Posted late, at 10:00 instead of 09:00" in text
    assert "delayed since 09:00: Slack webhook answered HTTP 503" in text
    assert len(stack.slack.posts) == 1  # a notice about Slack cannot reach Slack


def test_mixpanel_down_from_nine_to_ten_posts_one_notice_and_the_report_once_at_ten(
    stack: Stack, ledger_on_azurite
):
    """Mixpanel 503 for an hour: one failure notice, the report at 10:00, one recovered line."""
    stack.mixpanel.fail_next(503, times=100_000, retry_after="0")
    errors = the_morning(monday_nine(), stack.mixpanel.clear_failures)
    assert len(errors) == 7
    texts = [p["text"] for p in stack.slack.posts]
    assert len(texts) == 3, texts
    assert texts[0].startswith("Weekly report failed")
    assert "Acme weekly report" in texts[1]
    report = json.dumps(stack.slack.posts[1], ensure_ascii=False)
    assert "Posted late, at 10:00 instead of 09:00" in report
    assert "delayed since 09:00: Mixpanel" in report
    assert "recovered" in texts[2]


@pytest.fixture
def mail(stack: Stack, ledger_on_azurite, monkeypatch) -> Iterator[SmtpStandIn]:
    """An SMTP stand-in and EMAIL_TO; the email poster's waits between tries are recorded,
    not slept (they are the transport's own bounded retries, not the outage)."""
    waits: list[float] = []
    monkeypatch.setitem(SmtpEmail.__init__.__kwdefaults__, "sleep", waits.append)
    with SmtpStandIn() as server:
        for name, value in {
            "SMTP_HOST": server.host,
            "SMTP_PORT": str(server.port),
            "SMTP_SECURITY": "none",
            "SMTP_SENDER": SENDER,
            "EMAIL_TO": RECIPIENTS,
        }.items():
            monkeypatch.setenv(name, value)
        yield server


def test_smtp_down_from_nine_to_ten_sends_the_email_once_at_ten(stack: Stack, mail: SmtpStandIn):
    """The mail server answers 421 for an hour: Slack has the report at 09:00 and one notice;
    the email goes once, at 10:00, saying it is late and why."""
    mail.fail_next("421 4.3.2 service not available", times=10_000)
    errors = the_morning(monday_nine(), mail.clear_failures)
    assert len(errors) == 7
    [received] = mail.received
    body = visible_text(
        next(
            p.get_content()
            for p in received.message().walk()
            if p.get_content_type() == "text/html"
        )
    )
    assert "Posted late, at 10:00 instead of 09:00" in body
    assert "SMTP server answered 421" in body
    texts = [p["text"] for p in stack.slack.posts]
    assert len(reports(stack)) == 1
    assert sum("Weekly email report failed" in t for t in texts) == 1
