"""History from the ledger as people read it: setting names, never URLs; the last N days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from email.headerregistry import Address

from shared.addresses import fingerprint
from shared.delivery.ledger import DeliveryKey, DeliveryRecord, DeliveryStatus
from shared.report.reports import ReportSpec
from shared.schedule.periods import PeriodKind
from shared.settings import Secret, Settings
from shared.slack_command.history import (
    UNKNOWN_DESTINATION,
    Delivery,
    destination_names,
    recent_deliveries,
    report_label,
)

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
WEBHOOK = "https://hooks.slack.com/services/T1/B1/HISTORYSECRET"
GROWTH_HOOK = "https://hooks.slack.com/services/T1/B2/GROWTHSECRET"
ENV = {
    "MIXPANEL_USERNAME": "u",
    "MIXPANEL_SECRET": "s",
    "MIXPANEL_PROJECT_ID": "1",
    "SLACK_WEBHOOK_URL": WEBHOOK,
}


def record(report, destination, status, *, hours_ago=1, attempt=1, detail=""):
    at = NOW - timedelta(hours=hours_ago)
    key = DeliveryKey(report, date(2026, 11, 23), date(2026, 11, 29), destination)
    return DeliveryRecord(key, status, attempt, at, at, detail)


def test_each_configured_destination_is_named_by_its_setting():
    """SLACK_WEBHOOK_URL, a [[report]]'s destination setting, EMAIL_TO lists: by fingerprint."""
    settings = Settings.from_env(ENV)
    team = (Address("Team", addr_spec="team@example.com"),)
    specs = (
        ReportSpec("growth", PeriodKind.WEEKLY, ("a",), "GROWTH_WEBHOOK"),
        ReportSpec("money", PeriodKind.MONTHLY, ("a",), None, email_to=team),
    )
    names = destination_names(settings, specs, {"growth": Secret(GROWTH_HOOK)})
    assert names == {
        Secret(WEBHOOK).fingerprint(): "SLACK_WEBHOOK_URL",
        Secret(GROWTH_HOOK).fingerprint(): "GROWTH_WEBHOOK",
        fingerprint(team): "email_to of report money",
    }


def test_a_bot_token_destination_is_named_by_its_settings():
    """The bot token and channel, fingerprinted as the bot poster keys them."""
    from shared.delivery.slack_bot import SlackBotPoster

    settings = Settings.from_env({**ENV, "SLACK_BOT_TOKEN": "xoxb-fake-1", "SLACK_CHANNEL": "C1"})
    bot = SlackBotPoster(Secret("xoxb-fake-1"), "C1").destination
    assert destination_names(settings, (), {})[bot] == "SLACK_BOT_TOKEN + SLACK_CHANNEL"


def test_recent_deliveries_say_report_window_setting_time_attempts_and_error():
    """Sent and failed rows of the last 7 days, newest first; command answers left out."""
    hook = Secret(WEBHOOK).fingerprint()
    records = [
        record("weekly", hook, DeliveryStatus.SENT, hours_ago=3),
        record(
            "report:growth",
            "0123abcd0123",
            DeliveryStatus.FAILED,
            attempt=2,
            detail="Slack webhook answered HTTP 404: no_service\nmore",
        ),
        record("weekly", hook, DeliveryStatus.SENT, hours_ago=24 * 8),
        record("slash:abc", "slash-C1", DeliveryStatus.SENT),
        record("alerts", f"{hook}|signups|open|1", DeliveryStatus.CLAIMED, hours_ago=2),
    ]
    shown = recent_deliveries(records, names={hook: "SLACK_WEBHOOK_URL"}, now=NOW)
    assert [(d.report, d.destination, d.status, d.attempts, d.last_error) for d in shown] == [
        (
            "growth",
            UNKNOWN_DESTINATION,
            "failed",
            2,
            "Slack webhook answered HTTP 404: no_service more",
        ),
        ("alerts", "SLACK_WEBHOOK_URL", "in progress", 1, None),
        ("weekly", "SLACK_WEBHOOK_URL", "sent", 1, None),
    ]
    assert shown[2].delivered_at == NOW - timedelta(hours=3)
    assert shown[0].delivered_at is None


def test_an_uncertain_post_shows_its_reason():
    """A post marked sent because Slack may have taken it says so."""
    [shown] = recent_deliveries(
        [record("daily", "x", DeliveryStatus.SENT, detail="uncertain: no answer from Slack")],
        names={},
        now=NOW,
    )
    assert shown.last_error == "uncertain: no answer from Slack"


def test_the_days_bound_the_history():
    """days=1 keeps only the last 24 hours."""
    records = [record("daily", "x", DeliveryStatus.SENT, hours_ago=h) for h in (1, 23, 25)]
    assert len(recent_deliveries(records, names={}, now=NOW, days=1)) == 2


def test_report_keys_read_as_report_names():
    """The ledger's keys: 'report:NAME', on-demand posts, and the timers' kinds."""
    assert report_label("report:growth") == "growth"
    assert report_label("ondemand:abc:123") == "CustomReport (on demand)"
    assert report_label("custom:key-1") == "CustomReport (idempotency key)"
    assert report_label("weekly") == "weekly"


def test_a_delivery_as_json_has_the_documented_keys():
    """DeliveryHistory's item: window, setting name, times in UTC with their offset."""
    delivery = Delivery(
        "weekly",
        date(2026, 11, 23),
        date(2026, 11, 29),
        "SLACK_WEBHOOK_URL",
        "sent",
        NOW,
        NOW,
        1,
        None,
    )
    assert delivery.as_json() == {
        "report": "weekly",
        "window": {"from": "2026-11-23", "to": "2026-11-29"},
        "destination": "SLACK_WEBHOOK_URL",
        "status": "sent",
        "delivered_at": "2026-11-30T12:00:00+00:00",
        "updated_at": "2026-11-30T12:00:00+00:00",
        "attempts": 1,
        "last_error": None,
    }
