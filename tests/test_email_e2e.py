"""End to end: a timer's main() emails the report through a real SMTP server, exactly once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from azure.functions.timer import TimerRequest

import WeeklyReport
from devtools.smtp_standin import SmtpStandIn
from shared.errors import EmailError
from shared.schedule.periods import PeriodKind
from shared.schedule.slots import ScheduleRules, latest_slot
from tests.e2e import LONDON, Invocation, Stack
from tests.email_fixtures import RECIPIENTS, SENDER, numbers, parts, slack_visible, visible_text
from tests.race import run_together

pytestmark = pytest.mark.azurite


def weekly_timer() -> TimerRequest:
    slot = latest_slot(PeriodKind.WEEKLY, datetime.now(UTC), ScheduleRules(LONDON))
    assert slot is not None
    return TimerRequest(past_due=False, schedule_status={"Next": slot.isoformat()})


@pytest.fixture
def mail(
    stack: Stack, azurite_connection_string, ledger_table_name, monkeypatch
) -> Iterator[SmtpStandIn]:
    """The stack plus an SMTP stand-in, EMAIL_TO set and the ledger on Azurite."""
    with SmtpStandIn() as server:
        settings = {
            "AzureWebJobsStorage": azurite_connection_string,
            "DELIVERY_TABLE": ledger_table_name,
            "SMTP_HOST": server.host,
            "SMTP_PORT": str(server.port),
            "SMTP_SECURITY": "none",
            "SMTP_SENDER": SENDER,
            "EMAIL_TO": RECIPIENTS,
            "EMAIL_PDF": "true",
        }
        for name, value in settings.items():
            monkeypatch.setenv(name, value)
        yield server


def test_ten_concurrent_fires_send_one_email_and_one_slack_post(stack: Stack, mail: SmtpStandIn):
    """Ten instances at the same slot: one Slack message, one email, with the same figures."""
    run_together(10, lambda: WeeklyReport.main(weekly_timer(), Invocation()))  # raises if any do
    assert len(stack.slack.posts) == 1
    [received] = mail.received
    assert received.rcpt_tos == ("ana@example.com", "tokyo@example.com", "bo@example.com")
    found = parts(received.message())
    assert set(found) == {"text/plain", "text/html", "application/pdf"}
    slack_numbers = numbers(slack_visible(stack.slack.posts[0]))
    assert numbers(visible_text(found["text/html"])) == slack_numbers
    # A later replay of the slot sends nothing more anywhere.
    WeeklyReport.main(weekly_timer(), Invocation())
    assert len(stack.slack.posts) == 1
    assert len(mail.received) == 1


def test_a_refused_email_is_announced_in_slack_and_retried_alone(stack: Stack, mail: SmtpStandIn):
    """All recipients refused: the run fails, Slack hears which; the retry emails once."""
    mail.refuse.update({"ana@example.com", "tokyo@example.com", "bo@example.com"})
    with pytest.raises(EmailError, match="every recipient was refused"):
        WeeklyReport.main(weekly_timer(), Invocation())
    report, notice = stack.slack.posts
    assert "Acme weekly report" in report["text"]
    notice_text = json.dumps(notice, ensure_ascii=False)
    assert "Weekly email report failed" in notice_text
    assert "tokyo@example.com" in notice_text
    assert mail.received == []
    mail.refuse.clear()
    WeeklyReport.main(weekly_timer(), Invocation())  # the host's retry
    assert len(mail.received) == 1
    assert len(stack.slack.posts) == 2  # the report was not posted again


def test_an_email_that_may_have_been_delivered_is_never_sent_again(stack: Stack, mail: SmtpStandIn):
    """Connection lost after the data: recorded as sent (uncertain), so no retry sends a copy."""
    mail.drop_next()
    with pytest.raises(EmailError, match="may or may not have been delivered"):
        WeeklyReport.main(weekly_timer(), Invocation())
    WeeklyReport.main(weekly_timer(), Invocation())
    assert mail.received == []
    assert len(mail.dropped) == 1
