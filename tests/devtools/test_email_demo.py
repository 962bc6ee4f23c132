"""`make demo` writes the sample report's email; `make serve` keeps emails from its stand-in."""

from __future__ import annotations

import json
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest

from devtools import demo, serve
from devtools.smtp_standin import SmtpStandIn
from shared.delivery.email_client import SmtpEmail
from shared.pipeline import render_report_email
from shared.settings import Settings
from shared.sources.mixpanel_client import PROCESS_NAMES_CACHE
from tests.email_fixtures import numbers, parts, slack_visible, visible_text
from tests.render.reports import golden_report


@pytest.fixture
def clean_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with no .env and no real settings in the environment."""
    monkeypatch.chdir(tmp_path)
    PROCESS_NAMES_CACHE.clear()
    for name in ("MIXPANEL_USERNAME", "MIXPANEL_SECRET", "SLACK_WEBHOOK_URL", "METRICS_FILE"):
        monkeypatch.delenv(name, raising=False)
    for name in ("SMTP_HOST", "SMTP_SENDER", "EMAIL_TO", "SMTP_PASSWORD", "SMTP_USERNAME"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def mail_of(email: SmtpEmail):
    """The golden report's email for this transport's recipients (rendered by the caller)."""
    return render_report_email(
        golden_report(), settings=email.settings, recipients=email.recipients
    )


def test_demo_writes_the_email_and_a_real_smtp_server_accepts_it(clean_dir, capsys):
    """out/email.eml (text, HTML, PDF) and out/email.html, with the Slack message's figures."""
    assert demo.main(["--period", "weekly", "--days", "40", "--users", "400"]) == 0
    out = capsys.readouterr().out
    assert "A real SMTP server on the loopback accepted it for 2 recipients." in out
    raw = (clean_dir / "out" / "email.eml").read_bytes()
    message = message_from_bytes(raw, policy=default)
    assert isinstance(message, EmailMessage)
    found = parts(message)
    assert set(found) == {"text/plain", "text/html", "application/pdf"}
    html = (clean_dir / "out" / "email.html").read_text(encoding="utf-8")
    assert html == found["text/html"].replace("\r\n", "\n")
    payload = json.loads((clean_dir / "out" / "slack-message-weekly.json").read_text())
    assert numbers(visible_text(html)) == numbers(slack_visible(payload))


def test_serve_points_email_at_a_loopback_server_that_keeps_each_message(clean_dir):
    """The serve stand-in's settings are valid, and what it receives lands in out/mail/."""
    with SmtpStandIn(save_to=clean_dir / "out" / "mail") as smtp:
        env = {
            "MIXPANEL_USERNAME": "u",
            "MIXPANEL_SECRET": "s",
            "MIXPANEL_PROJECT_ID": "1",
            "SLACK_WEBHOOK_URL": "http://127.0.0.1:9/hook",
            **serve.smtp_env(smtp.address),
        }
        settings = Settings.from_env(env).email
        assert settings is not None
        email = SmtpEmail(settings)
        email.post(mail_of(email))
        smtp.wait_for(1)
    saved = clean_dir / "out" / "mail" / "001.eml"
    assert message_from_bytes(saved.read_bytes(), policy=default)["To"] == "Team <team@example.com>"
