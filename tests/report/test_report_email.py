"""Specs for a [[report]]'s email_to: parsed by EMAIL_TO's rules, wired to the report's poster."""

from __future__ import annotations

import logging
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from shared.addresses import fingerprint, parse_mailboxes
from shared.errors import ConfigError, MetricsFileError
from shared.jobs.custom_report import handle_custom_report
from shared.report.metrics import parse_metrics
from shared.report.reports import resolve_destinations
from shared.root import App
from shared.schedule.periods import PeriodKind

METRICS = [{"key": "signups", "label": "Signups", "events": ["Sign Up"]}]
WEBHOOK = "https://hooks.example.test/services/T/B/WEBHOOKSECRET-email-2f1c"
SMTP = {"SMTP_HOST": "127.0.0.1", "SMTP_SECURITY": "none", "SMTP_SENDER": "R <r@example.com>"}
BASE = {
    "MIXPANEL_USERNAME": "u",
    "MIXPANEL_SECRET": "s",
    "MIXPANEL_PROJECT_ID": "1",
    "SLACK_WEBHOOK_URL": "https://hooks.example.test/default",
}


def report(**fields: Any) -> dict[str, Any]:
    return {"name": "exec", "cadence": "weekly", "metrics": ["signups"], **fields}


def reports(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"metric": METRICS, "report": list(entries)}


def test_a_report_can_have_slack_email_or_both() -> None:
    """email_to beside a destination, instead of one, or absent; names and Unicode kept."""
    config = parse_metrics(
        reports(
            report(name="both", destination="SLACK_WEBHOOK_EXEC",
                   email_to=["Ána Lima <ana@example.com>", "cfo@example.com"]),
            report(name="mail", email_to=["東京 チーム <tokyo@example.com>"]),
            report(name="slack", destination="SLACK_WEBHOOK_GROWTH"),
        ),
        source="r.toml",
    )  # fmt: skip
    both, mail, slack = config.reports
    assert both.destination == "SLACK_WEBHOOK_EXEC"
    assert [(a.display_name, a.addr_spec) for a in both.email_to] == [
        ("Ána Lima", "ana@example.com"),
        ("", "cfo@example.com"),
    ]
    assert mail.destination is None
    assert [a.display_name for a in mail.email_to] == ["東京 チーム"]
    assert slack.email_to == ()


def test_every_email_to_problem_is_listed_at_once_naming_the_file_report_and_key() -> None:
    """Header injection, repeats, a list in one item, a bad address, too many, none, no list."""
    many = [f"u{i}@example.com" for i in range(51)]
    raw = reports(
        report(name="a", destination="X", email_to=[
            "Ana <ana@example.com>\nBcc: all@evil.example",
            "bo@example.com", "BO@example.com",
            "cy@example.com, di@example.com",
            "not an address",
        ]),
        report(name="b", email_to=many),
        report(name="c", email_to=[]),
        report(name="d", email_to="ana@example.com"),
        report(name="e"),
    )  # fmt: skip
    with pytest.raises(MetricsFileError) as caught:
        parse_metrics(raw, source="r.toml")
    assert caught.value.problems == [
        "r.toml: report 'a' email_to item 1 contains a control character (a newline?); "
        "header injection refused",
        "r.toml: report 'a' email_to lists BO@example.com twice",
        "r.toml: report 'a' email_to item 4 must be a single address",
        "r.toml: report 'a' email_to item 5 is not a list of addresses like "
        "Ana <ana@example.com> ('not an address')",
        "r.toml: report 'b' email_to holds 51 addresses; at most 50 allowed",
        "r.toml: report 'c' email_to holds no address",
        "r.toml: report 'd' email_to must be a list of addresses like [\"Ana <ana@example.com>\"]",
        "r.toml: report 'e' needs a destination (the setting holding its Slack webhook URL), "
        "email_to (a list of recipients), or both",
    ]


def test_email_to_needs_the_global_smtp_settings_named_with_the_report() -> None:
    """SMTP_HOST and SMTP_SENDER are the deployment's settings; the error names both and the
    report, beside any webhook problem, all at once."""
    config = parse_metrics(
        reports(
            report(name="exec", destination="SLACK_WEBHOOK_EXEC", email_to=["a@example.com"]),
            report(name="board", email_to=["b@example.com"]),
            report(name="growth", destination="SLACK_WEBHOOK_GROWTH"),
        ),
        source="r.toml",
    )
    with pytest.raises(ConfigError) as caught:
        resolve_destinations(config.reports, {"SLACK_WEBHOOK_EXEC": WEBHOOK}, source="r.toml")
    assert caught.value.problems == [
        "r.toml: report 'exec': email_to needs the SMTP settings SMTP_HOST and SMTP_SENDER, "
        "which are not set",
        "r.toml: report 'board': email_to needs the SMTP settings SMTP_HOST and SMTP_SENDER, "
        "which are not set",
        "r.toml: report 'growth': destination setting SLACK_WEBHOOK_GROWTH is not set",
    ]
    found = resolve_destinations(
        config.reports, {**SMTP, "SLACK_WEBHOOK_EXEC": WEBHOOK, "SLACK_WEBHOOK_GROWTH": WEBHOOK},
        source="r.toml",
    )  # fmt: skip
    assert set(found) == {"exec", "growth"}  # the email-only report has no webhook


TOML = """
[[metric]]
key = "signups"
label = "Signups"
events = ["Sign Up"]

[[report]]
name = "growth"
cadence = "weekly"
metrics = ["signups"]
destination = "SLACK_WEBHOOK_GROWTH"

[[report]]
name = "exec"
cadence = "weekly"
metrics = ["signups"]
destination = "SLACK_WEBHOOK_EXEC"
email_to = ["Ana Lima <ana@example.com>", "cfo@example.com"]

[[report]]
name = "board"
cadence = "weekly"
metrics = ["signups"]
email_to = ["board@example.com"]
"""


@pytest.fixture
def environ(tmp_path: Path) -> dict[str, str]:
    path = tmp_path / "reports.toml"
    path.write_text(TOML, encoding="utf-8")
    return {
        **BASE,
        **SMTP,
        "METRICS_FILE": str(path),
        "SLACK_WEBHOOK_GROWTH": WEBHOOK + "g",
        "SLACK_WEBHOOK_EXEC": WEBHOOK + "e",
    }


def test_each_scheduled_report_gets_its_own_slack_and_email_posters(environ) -> None:
    """Slack only, Slack + email, email only: the email destination is the recipient list's."""
    app = App.from_environ(environ)
    jobs = {job.name: job for job in app.scheduled_reports(PeriodKind.WEEKLY)}
    assert jobs["growth"].slack is not None
    assert jobs["growth"].email is None
    assert jobs["exec"].slack is not None
    assert jobs["exec"].email is not None
    assert jobs["exec"].email.destination == fingerprint(
        parse_mailboxes("ana@example.com, cfo@example.com")
    )
    assert jobs["board"].slack is None
    assert jobs["board"].email is not None
    assert jobs["board"].email.destination == fingerprint(parse_mailboxes("board@example.com"))
    assert app.scheduled_reports(PeriodKind.DAILY) == []


def test_a_report_with_email_to_and_no_smtp_settings_stops_the_app_at_start(environ) -> None:
    """The whole configuration is refused, naming the file, both reports and the settings."""
    for name in SMTP:
        del environ[name]
    with pytest.raises(ConfigError) as caught:
        App.from_environ(environ)
    text = str(caught.value)
    assert "report 'exec': email_to needs the SMTP settings SMTP_HOST and SMTP_SENDER" in text
    assert "report 'board': email_to needs the SMTP settings" in text
    assert environ["METRICS_FILE"] in text
    assert "WEBHOOKSECRET" not in text


def test_an_email_only_report_has_no_slack_poster(environ) -> None:
    """Asking for its Slack poster is a ConfigError naming the report, never a KeyError."""
    app = App.from_environ(environ)
    with pytest.raises(ConfigError, match="report 'board' has no Slack destination"):
        app.slack("board")


def test_custom_report_refuses_to_post_an_email_only_report_to_slack(environ) -> None:
    """report=board with send_slack (the default): a 400 naming send_slack, before Mixpanel."""
    result = handle_custom_report("GET", {"report": "board"}, b"", environ=environ)
    assert result.status == 400
    assert result.json()["error"] == {
        "code": "conflicting_parameters",
        "message": "this report has no Slack destination (it is emailed only); "
        "send send_slack=false",
        "field": "send_slack",
    }


def test_the_readmes_email_to_examples_parse() -> None:
    """Every TOML example in the README that has email_to is a valid [[report]]."""
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```toml\n(.*?)```", readme, re.S) if "email_to" in b]
    assert len(blocks) >= 2
    for block in blocks:
        raw = tomllib.loads(block)["report"]
        keys = {key for entry in raw for key in entry["metrics"]}
        metrics = [{"key": k, "label": k, "events": ["E"]} for k in sorted(keys)]
        [spec] = parse_metrics({"metric": metrics, "report": raw}).reports
        assert spec.email_to


def test_email_to_of_the_settings_is_not_used_with_reports_and_the_log_says_so(
    environ, caplog: pytest.LogCaptureFixture
) -> None:
    """Each [[report]] has its own recipients; a leftover EMAIL_TO emails no one, loudly."""
    app = App.from_environ({**environ, "EMAIL_TO": "old@example.com"})
    with caplog.at_level(logging.WARNING, logger="analytics_reporter"):
        jobs = app.scheduled_reports(PeriodKind.WEEKLY)
    assert "EMAIL_TO is not used with [[report]]s" in caplog.text
    assert [job.email.destination for job in jobs if job.email is not None] == [
        fingerprint(parse_mailboxes("ana@example.com, cfo@example.com")),
        fingerprint(parse_mailboxes("board@example.com")),
    ]
