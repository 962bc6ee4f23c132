"""End to end: [[report]]s with email_to, through WeeklyReport's main(), each delivered once.

Three weekly reports: growth to Slack only, exec to Slack and by email, board by email only;
against the Slack stand-ins, a real SMTP server on the loopback and the ledger on Azurite.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

import WeeklyReport
from devtools.slack_standin import SlackStandIn, slack_rejection
from devtools.smtp_standin import Received, SmtpStandIn
from shared.errors import ReportsFailed
from shared.schedule.periods import PeriodKind
from tests.e2e import WEBHOOK_TOKEN, Invocation, Stack
from tests.email_fixtures import SENDER, numbers, parts, slack_visible, visible_text
from tests.race import run_together
from tests.test_reports_e2e import EXEC_TOKEN, GROWTH_TOKEN, TWO_REPORTS, last_slot, timer

pytestmark = pytest.mark.azurite

EXEC_TO = ("ana@example.com", "cfo@example.com")
BOARD_TO = ("board@example.com",)
REPORTS = (
    TWO_REPORTS.replace('cadence = "daily"', 'cadence = "weekly"').replace(
        'destination = "SLACK_WEBHOOK_EXEC"',
        'destination = "SLACK_WEBHOOK_EXEC"\n'
        'email_to = ["Ána Lima <ana@example.com>", "CFO <cfo@example.com>"]',
    )
    + """
[[report]]
name = "board"
title = "Board"
cadence = "weekly"
metrics = ["new_signups", "basket_value"]
email_to = ["Board <board@example.com>"]
"""
)


def fire() -> None:
    WeeklyReport.main(timer(last_slot(PeriodKind.WEEKLY)), Invocation())


def received_by(server: SmtpStandIn, recipients: tuple[str, ...]) -> list[Received]:
    return [r for r in server.received if r.rcpt_tos == recipients]


@pytest.fixture
def setup(
    stack: Stack,
    tmp_path: Path,
    azurite_connection_string: str,
    ledger_table_name: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[SlackStandIn, SlackStandIn, SmtpStandIn]]:
    """Growth and exec Slack stand-ins, the SMTP stand-in, the reports file and the ledger."""
    growth = SlackStandIn(path=f"/services/T0/B1/{GROWTH_TOKEN}")
    execs = SlackStandIn(path=f"/services/T0/B2/{EXEC_TOKEN}")
    path = tmp_path / "reports.toml"
    path.write_text(REPORTS, encoding="utf-8")
    with SmtpStandIn() as server:
        settings = {
            "SLACK_WEBHOOK_GROWTH": growth.start(),
            "SLACK_WEBHOOK_EXEC": execs.start(),
            "METRICS_FILE": str(path),
            "AzureWebJobsStorage": azurite_connection_string,
            "DELIVERY_TABLE": ledger_table_name,
            "SMTP_HOST": server.host,
            "SMTP_PORT": str(server.port),
            "SMTP_SECURITY": "none",
            "SMTP_SENDER": SENDER,
        }
        for name, value in settings.items():
            monkeypatch.setenv(name, value)
        try:
            yield growth, execs, server
        finally:
            growth.stop()
            execs.stop()


def test_each_report_reaches_its_slack_and_its_recipients_once_under_duplicate_fires(
    stack: Stack, setup
):
    """Four concurrent fires and a replay: one Slack post per channel, one email per list."""
    growth, execs, server = setup
    run_together(4, fire)  # raises if any of the four raised
    fire()  # the host replaying the slot later
    assert len(growth.posts) == 1
    assert len(execs.posts) == 1
    assert stack.slack.posts == []  # the settings' own webhook gets nothing
    assert len(server.received) == 2
    [exec_mail] = received_by(server, EXEC_TO)
    [board_mail] = received_by(server, BOARD_TO)
    assert slack_rejection(execs.posts[0]) is None
    assert "Growth weekly report" in growth.posts[0]["text"]
    # The exec email is the exec report: its subject, its metrics, the Slack post's numbers.
    exec_message = exec_mail.message()
    assert "Exec weekly report" in exec_message["Subject"]
    assert exec_message["To"] == "Ána Lima <ana@example.com>, CFO <cfo@example.com>"
    exec_html = visible_text(parts(exec_message)["text/html"])
    assert "Basket value" in exec_html
    assert "iOS signups" not in exec_html
    assert numbers(exec_html) == numbers(slack_visible(execs.posts[0]))
    # The board report has no Slack destination: email only, its own metrics.
    board_message = board_mail.message()
    assert "Board weekly report" in board_message["Subject"]
    board_text = parts(board_message)["text/plain"]
    assert "New signups" in board_text
    assert "Active users" not in board_text
    assert "Board" not in json.dumps(growth.posts + execs.posts, ensure_ascii=False)


def test_a_refused_email_is_announced_in_its_reports_slack_or_logged_and_retried_alone(
    stack: Stack, setup, caplog: pytest.LogCaptureFixture
):
    """Exec's list refused: exec's Slack hears it. Board's refused: logged (no Slack).

    Growth and exec's Slack post go out once; the host's retry sends each email once."""
    growth, execs, server = setup
    server.refuse.update(EXEC_TO + BOARD_TO)
    with (
        caplog.at_level(logging.ERROR, logger="analytics_reporter"),
        pytest.raises(ReportsFailed, match=r"2 report\(s\) failed: exec: .*; board: "),
    ):
        fire()
    assert len(growth.posts) == 1
    report, notice = execs.posts
    assert "Exec weekly report" in report["text"]
    notice_text = json.dumps(notice, ensure_ascii=False)
    assert "email report failed" in notice_text
    assert "cfo@example.com" in notice_text
    assert "board@example.com" not in notice_text
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "Board weekly email failed (no Slack destination for the notice)" in logged
    assert "board@example.com" in logged
    assert server.received == []
    server.refuse.clear()
    fire()  # the host's retry
    assert len(received_by(server, EXEC_TO)) == 1
    assert len(received_by(server, BOARD_TO)) == 1
    assert len(growth.posts) == 1
    assert len(execs.posts) == 2  # the exec report was not posted again


def test_no_secret_reaches_an_email_a_post_or_a_log(
    stack: Stack, setup, caplog: pytest.LogCaptureFixture
):
    """The webhook tokens of every destination stay out of what the app sends and logs."""
    growth, execs, server = setup
    with caplog.at_level(logging.DEBUG):
        fire()
    seen = (
        b"".join(r.data for r in server.received).decode()
        + json.dumps(growth.posts + execs.posts)
        + caplog.text
    )
    assert len(server.received) == 2
    for token in (GROWTH_TOKEN, EXEC_TOKEN, WEBHOOK_TOKEN):
        assert token not in seen
