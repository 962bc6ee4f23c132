"""Spec of run_scheduled with an email destination: claimed, sent and retried on its own."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from shared.delivery.ledger import DeliveryStatus, InMemoryLedger
from shared.errors import EmailError
from shared.pipeline import Delivered, EmailRoute, run_scheduled
from shared.render.wording import human_number
from shared.report.generator import Report
from shared.schedule.periods import PeriodKind
from tests.fakes import FakeMixpanel, FakeSlack
from tests.test_pipeline import CTX, LONDON, MONDAY_9, RULES, project


@dataclass
class FakeEmail:
    """An email transport that records each report (its `render` is the identity);
    `fail_with` makes the next posts raise."""

    destination: str = "email-0123456789ab"
    sent: list[Report] = field(default_factory=list)
    fail_with: list[EmailError] = field(default_factory=list)

    def render(self, report: Report) -> Report:
        return report

    def post(self, message: Any) -> None:
        if self.fail_with:
            raise self.fail_with.pop(0)
        self.sent.append(message)


def fire(slack: FakeSlack | None, email: FakeEmail | None, ledger: InMemoryLedger, **kw: Any):
    options: dict[str, Any] = {"scheduled_for": MONDAY_9, "past_due": False}
    options["now"] = MONDAY_9 + timedelta(seconds=3)
    options.update(kw)
    return run_scheduled(
        PeriodKind.WEEKLY,
        CTX,
        RULES,
        mixpanel=FakeMixpanel(project(), LONDON),
        slack=slack,
        ledger=ledger,
        email=None if email is None else EmailRoute(email, email.render),
        **options,
    )


def test_slack_and_email_each_get_the_report_once_and_are_recorded_apart():
    """Two destinations, two ledger rows; a second fire sends nothing to either."""
    slack, email, ledger = FakeSlack(), FakeEmail(), InMemoryLedger()
    outcome = fire(slack, email, ledger)
    assert isinstance(outcome, Delivered)
    assert outcome.posted
    fire(slack, email, ledger)
    assert len(slack.posts) == 1
    [report] = email.sent
    assert report is outcome.report
    destinations = sorted(r.key.destination for r in ledger.history())
    assert destinations == ["email-0123456789ab", "fake-webhook"]
    assert all(r.status is DeliveryStatus.SENT for r in ledger.history())


def test_the_email_carries_the_same_report_object_slack_was_rendered_from():
    """One report per run: the email's figures are the Slack message's by construction."""
    slack, email, ledger = FakeSlack(), FakeEmail(), InMemoryLedger()
    fire(slack, email, ledger)
    [report] = email.sent
    fields = json.dumps(slack.posts[0]["blocks"][1], ensure_ascii=False)
    for metric in report.metrics[:2]:
        assert metric.value is not None
        assert human_number(metric.value) in fields


def test_a_report_with_only_email_sends_it_and_logs_failures(caplog: pytest.LogCaptureFixture):
    """No Slack destination: the email goes; a failure notice is logged instead of posted."""
    email, ledger = FakeEmail(), InMemoryLedger()
    fire(None, email, ledger)
    assert len(email.sent) == 1
    other = FakeEmail(destination="email-ffffffffffff")
    other.fail_with.append(EmailError("every recipient was refused: a@example.com"))
    with caplog.at_level(logging.ERROR), pytest.raises(EmailError):
        fire(None, other, ledger)
    assert "no Slack destination for the notice" in caplog.text
    assert "a@example.com" in caplog.text


def test_a_refused_email_is_retried_alone_and_slack_hears_of_it():
    """Email refused (nothing delivered): Slack has the report and a notice; the retry emails."""
    slack, email, ledger = FakeSlack(), FakeEmail(), InMemoryLedger()
    email.fail_with.append(
        EmailError("every recipient was refused: cfo@example.com (550)", refused=("cfo",))
    )
    with pytest.raises(EmailError):
        fire(slack, email, ledger)
    report, notice = slack.posts
    assert "Acme weekly report" in report["text"]
    assert "cfo@example.com" in notice["text"]
    assert "Weekly email report failed" in notice["text"]
    fire(slack, email, ledger)
    assert len(email.sent) == 1
    assert len(slack.posts) == 2


def test_an_email_that_may_have_been_delivered_is_not_sent_again():
    """maybe_posted: recorded as sent (uncertain); the retry sends nothing."""
    slack, email, ledger = FakeSlack(), FakeEmail(), InMemoryLedger()
    email.fail_with.append(EmailError("connection lost while sending", maybe_posted=True))
    with pytest.raises(EmailError):
        fire(slack, email, ledger)
    fire(slack, email, ledger)
    assert email.sent == []
    [row] = [r for r in ledger.history() if r.key.destination.startswith("email-")]
    assert row.status is DeliveryStatus.SENT
    assert row.detail.startswith("uncertain:")


def test_a_slack_failure_does_not_stop_the_email():
    """Slack refusing the post leaves the email delivered; only Slack is retried."""
    from shared.errors import SlackError

    slack, email, ledger = FakeSlack(), FakeEmail(), InMemoryLedger()
    slack.fail_with.append(SlackError("refused", status=500, body="rollup_error"))
    with pytest.raises(SlackError):
        fire(slack, email, ledger)
    assert len(email.sent) == 1
    fire(slack, email, ledger)
    assert len(slack.posts) == 1
    assert len(email.sent) == 1


def test_a_report_needs_somewhere_to_go():
    """Neither Slack nor email: a programming error, raised before anything is claimed."""
    ledger = InMemoryLedger()
    with pytest.raises(ValueError, match="needs a Slack or an email destination"):
        fire(None, None, ledger)
    assert ledger.history() == []
