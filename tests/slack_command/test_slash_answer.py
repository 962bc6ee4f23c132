"""What the command says back: short, escaped, within Slack's limits, never a secret."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from devtools.slack_standin import slack_rejection
from shared.errors import MixpanelAuthError, MixpanelRateLimited
from shared.report.metrics import load_metrics
from shared.schedule.periods import PeriodKind, report_period
from shared.settings import DEFAULT_METRICS_FILE
from shared.slack_command.answer import (
    Reply,
    ack_text,
    error_text,
    help_message,
    status_message,
    text_message,
)
from shared.slack_command.history import Delivery
from shared.slack_command.parse import ReportAsk

TODAY = date(2026, 11, 25)
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
SAMPLE_REPORTS = Path(__file__).parents[2] / "devtools" / "sample_reports.toml"


def test_the_ack_names_the_window_and_who_will_see_the_answer():
    """Private by default; `share` says it goes to the channel."""
    week = report_period(PeriodKind.WEEKLY, TODAY)
    assert ack_text(ReportAsk(week, None, share=False)) == (
        ":hourglass_flowing_sand: Building the report for 16 Nov - 22 Nov 2026; "
        "it will be shown here, only to you in a few seconds."
    )
    assert "posted to this channel" in ack_text(ReportAsk(week, "a<b", share=True))
    assert "*a&lt;b* report" in ack_text(ReportAsk(week, "a<b", share=True))


def test_help_lists_periods_reports_date_ranges_and_each_reports_metrics():
    """Every word the command takes, with this week's windows, within Slack's limits."""
    config = load_metrics(SAMPLE_REPORTS)
    message = help_message(config, today=TODAY)
    text = str(message.payload())
    for word in ("`daily`", "`weekly`", "`biweekly`", "`monthly`", "share", "status"):
        assert word in text
    for spec in config.reports:
        assert f"`{spec.name}` ({spec.cadence})" in text
        for metric in config.report(spec.name).metrics:
            assert metric.label.replace("&", "&amp;") in text
    assert "16 Nov - 22 Nov 2026" in text
    assert "`/analytics 2026-11-18 2026-11-24`" in text
    assert slack_rejection(message.payload()) is None


def test_help_without_reports_says_so():
    """The single-report deployment has no names to list."""
    message = help_message(load_metrics(DEFAULT_METRICS_FILE), today=TODAY)
    assert "none defined" in str(message.payload())


def test_status_groups_failed_delivered_and_in_progress_with_setting_names():
    """One line per delivery: report, window, setting, time, attempts, last error."""
    deliveries = [
        Delivery(
            "growth",
            date(2026, 11, 16),
            date(2026, 11, 22),
            "GROWTH_WEBHOOK",
            "failed",
            None,
            NOW,
            3,
            "Slack webhook answered HTTP 404: no_service",
        ),
        Delivery(
            "daily",
            date(2026, 11, 24),
            date(2026, 11, 24),
            "SLACK_WEBHOOK_URL",
            "sent",
            NOW,
            NOW,
            1,
            None,
        ),
    ]
    message = status_message(deliveries)
    assert message.text == "Last 7 days: 1 delivered, 1 failed"
    sections = [b["text"]["text"] for b in message.blocks if b["type"] == "section"]
    assert sections == [
        "*Failed* (1)\n• *growth* 2026-11-16 to 2026-11-22 → GROWTH_WEBHOOK, failed Wed 25 Nov "
        "10:00, 3 attempts: Slack webhook answered HTTP 404: no_service",
        "*Delivered* (1)\n• *daily* 2026-11-24 → SLACK_WEBHOOK_URL, delivered Wed 25 Nov 10:00, "
        "1 attempt",
    ]
    assert slack_rejection(message.payload()) is None


def test_status_of_an_empty_history_says_nothing_happened():
    """No rows: one plain line, still a valid message."""
    message = status_message([])
    assert "Nothing was delivered or attempted." in str(message.payload())


def test_status_of_many_deliveries_stays_within_the_limits():
    """A busy week is cut with '… and N more', never refused by Slack."""
    many = [
        Delivery(
            f"r{n}",
            date(2026, 11, 24),
            date(2026, 11, 24),
            "X" * 60,
            "failed",
            None,
            NOW,
            1,
            "e" * 200,
        )
        for n in range(300)
    ]
    message = status_message(many)
    assert "more" in str(message.payload())
    assert slack_rejection(message.payload()) is None


def test_a_spent_mixpanel_budget_says_when_to_try_again():
    """MixpanelRateLimited with retry_after: minutes, and the UTC time."""
    error = MixpanelRateLimited("budget spent", endpoint="segmentation", retry_after=125)
    assert error_text(error, now=NOW) == (
        ":warning: Mixpanel's query budget for this project is spent. "
        "Try again in about 3 minutes (after 10:02 UTC)."
    )


def test_other_failures_are_one_line_and_a_bug_shows_no_internals():
    """A ReporterError's own text; anything else only its type name."""
    auth = MixpanelAuthError("bad credentials", endpoint="segmentation", status=401)
    assert error_text(auth, now=NOW).startswith(":warning: The report could not be built: Mixpanel")
    assert error_text(KeyError("secret-ish"), now=NOW) == (
        ":warning: The report could not be built: internal error (KeyError); see the function logs"
    )


def test_a_reply_carries_its_response_type_beside_text_and_blocks():
    """The JSON Slack takes at a response_url; it never replaces the asker's message."""
    payload = Reply(text_message("hi"), "in_channel").payload()
    assert payload["response_type"] == "in_channel"
    assert payload["replace_original"] is False
    assert payload["text"] == "hi"
    assert payload["blocks"][0]["type"] == "section"
