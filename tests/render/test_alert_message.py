"""Specs for the alert posts: what broke, since when, expected against seen; escaped."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from devtools.slack_standin import slack_rejection
from shared.alerts.evaluate import Finding
from shared.render.alert_message import render_alert, render_resolved

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 7, 15, 14, 15, tzinfo=UTC)


def test_an_alert_names_the_event_since_when_and_expected_against_seen():
    """Golden payload of the tracking watch's alert."""
    finding = Finding(
        "watch:Receipt Uploaded",
        "Receipt Uploaded: no events since Wed 15 Jul 10:00",
        "Wed 15 Jul 10:00",
        24.0,
        0,
        "expected about 24 from the same weekday and hour of the last 4 weeks, "
        "seen 0 from Wed 15 Jul 10:00 to 14:59",
    )
    payload = render_alert(finding, company="Acme", now=NOW, tz=LONDON).payload()
    assert payload["blocks"][0]["text"]["text"] == (
        ":rotating_light: *Receipt Uploaded: no events since Wed 15 Jul 10:00*\n"
        "expected about 24 from the same weekday and hour of the last 4 weeks, "
        "seen 0 from Wed 15 Jul 10:00 to 14:59"
    )
    assert payload["blocks"][1]["elements"][0]["text"].startswith(
        "Acme alert · checked Wed 15 Jul 15:15 BST"
    )
    assert slack_rejection(payload) is None


def test_event_names_are_escaped_in_mrkdwn():
    """<, > and & in an event name cannot become Slack markup."""
    finding = Finding("watch:<a&b>", "<a&b>: no events since x", "x", 1.0, 0, "d")
    text = render_alert(finding, company="Acme", now=NOW, tz=LONDON).payload()["blocks"][0]
    assert "&lt;a&amp;b&gt;" in text["text"]["text"]
    resolved = render_resolved("<a&b>: back", company="Acme", now=NOW, tz=LONDON).payload()
    assert "&lt;a&amp;b&gt;" in resolved["blocks"][0]["text"]["text"]
