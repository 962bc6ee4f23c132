"""Everything checkable without Mixpanel is checked before any report runs, all at once."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.errors import ConfigError, MetricsFileError
from shared.jobs.scheduled_reports import run_timer
from shared.root import App
from shared.schedule.periods import PeriodKind

BASE = {
    "MIXPANEL_USERNAME": "svc",
    "MIXPANEL_SECRET": "s",
    "MIXPANEL_PROJECT_ID": "1",
    "SLACK_WEBHOOK_URL": "https://example.invalid/hook",
}
REPORTS = """
[[metric]]
key = "new_signups"
label = "New signups"
events = ["Sign Up"]

[[report]]
name = "growth"
cadence = "daily"
metrics = ["new_signups"]
destination = "SLACK_WEBHOOK_GROWTH"

[[report]]
name = "exec"
cadence = "daily"
metrics = ["new_signups"]
destination = "SLACK_WEBHOOK_EXEC"

[[report]]
name = "board"
cadence = "daily"
metrics = ["new_signups"]
email_to = ["board@example.com"]
"""


@pytest.fixture
def reports_file(tmp_path: Path) -> Path:
    path = tmp_path / "reports.toml"
    path.write_text(REPORTS, encoding="utf-8")
    return path


def test_settings_and_every_reports_destinations_are_reported_together(reports_file: Path):
    """A bad setting, a report's unset webhook and another's missing SMTP: one error, before
    any report is gathered or posted (the first report can no longer post and the next fail)."""
    environ = {
        **BASE,
        "TIMEZONE": "Mars/Base",
        "METRICS_FILE": str(reports_file),
        "SLACK_WEBHOOK_EXEC": "https://example.invalid/exec",
    }
    with pytest.raises(ConfigError) as caught:
        App.from_environ(environ)
    assert caught.value.problems == [
        "TIMEZONE must be an IANA time zone name like Europe/London, got 'Mars/Base'",
        f"{reports_file}: report 'growth': destination setting SLACK_WEBHOOK_GROWTH is not set",
        f"{reports_file}: report 'board': email_to needs the SMTP settings SMTP_HOST and "
        "SMTP_SENDER, which are not set",
    ]


def test_a_bad_setting_and_a_broken_metrics_file_are_reported_together(tmp_path: Path):
    """Settings problems no longer hide the metrics file's: both lists, in one error."""
    path = tmp_path / "m.toml"
    path.write_text('[[metric]]\nkey = "a"\nevents = ["A"]\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        App.from_environ({**BASE, "REPORT_HOUR": "²", "METRICS_FILE": str(path)})
    assert caught.value.problems == [
        "REPORT_HOUR must be an hour from 0 to 23, got '²'",
        f"{path}: metric 'a' needs a label",
    ]


def test_a_broken_metrics_file_alone_is_still_a_metrics_file_error(tmp_path: Path):
    """The error type callers know is kept when the file is the only problem."""
    with pytest.raises(MetricsFileError) as caught:
        App.from_environ({**BASE, "METRICS_FILE": str(tmp_path / "none.toml")})
    assert caught.value.problems == [f"metrics file {tmp_path / 'none.toml'} does not exist"]


def test_an_insights_report_for_an_undefined_metric_is_named_with_a_did_you_mean():
    """MIXPANEL_INSIGHTS_REPORTS naming no metric was silently unused."""
    with pytest.raises(ConfigError) as caught:
        App.from_environ({**BASE, "MIXPANEL_INSIGHTS_REPORTS": "active_user:901"})
    assert caught.value.problems[0].startswith(
        "MIXPANEL_INSIGHTS_REPORTS names metric 'active_user', which "
    )
    assert caught.value.problems[0].endswith("does not define (did you mean 'active_users'?)")


def test_a_superscript_report_hour_fails_the_timer_with_a_config_error_not_a_value_error():
    """The error path read REPORT_HOUR with isdigit() and int('²') raised ValueError there."""
    timer = type("Timer", (), {"past_due": False})()
    environ = {**BASE, "REPORT_HOUR": "²", "SLACK_WEBHOOK_URL": "not a url"}
    with pytest.raises(ConfigError) as caught:
        run_timer(
            PeriodKind.DAILY, timer, environ=environ, now=datetime(2026, 7, 15, 8, tzinfo=UTC)
        )
    assert "REPORT_HOUR must be an hour from 0 to 23, got '²'" in caught.value.problems


def test_a_report_webhook_hiding_a_format_character_is_named_without_its_value(
    reports_file: Path,
):
    """A destination setting of any name is checked like the app's own settings."""
    environ = {
        **BASE,
        "METRICS_FILE": str(reports_file),
        "SLACK_WEBHOOK_GROWTH": "https://example.invalid/gro\u200bwth",
        "SLACK_WEBHOOK_EXEC": "https://example.invalid/exec",
        "SMTP_HOST": "smtp.example.com",
        "SMTP_SENDER": "r@example.com",
    }
    with pytest.raises(ConfigError) as caught:
        App.from_environ(environ)
    assert caught.value.problems == [
        "SLACK_WEBHOOK_GROWTH contains an invisible Unicode format character "
        "(U+200B ZERO WIDTH SPACE)"
    ]


def test_a_report_webhook_of_any_name_hiding_a_format_character_is_named(reports_file: Path):
    """A destination setting outside the app's own prefixes is checked by the report."""
    text = reports_file.read_text(encoding="utf-8").replace("SLACK_WEBHOOK_GROWTH", "GROWTH_HOOK")
    reports_file.write_text(text, encoding="utf-8")
    environ = {
        **BASE,
        "METRICS_FILE": str(reports_file),
        "GROWTH_HOOK": "https://example.invalid/gro\u200bwth",
        "SLACK_WEBHOOK_EXEC": "https://example.invalid/exec",
        "SMTP_HOST": "smtp.example.com",
        "SMTP_SENDER": "r@example.com",
    }
    with pytest.raises(ConfigError) as caught:
        App.from_environ(environ)
    assert caught.value.problems == [
        f"{reports_file}: report 'growth': destination setting GROWTH_HOOK contains an invisible "
        "Unicode format character (U+200B ZERO WIDTH SPACE)"
    ]
