"""Settings for Slack delivery: webhook or bot token and channel, and whether to send charts."""

from __future__ import annotations

import pytest

from shared.errors import ConfigError
from shared.settings import ChartsMode, Settings
from tests.test_settings import VALID

TOKEN = "xoxb-1234-5678-SECRETbottoken"
BOT = {"SLACK_BOT_TOKEN": TOKEN, "SLACK_CHANNEL": "C0123ABC"}
NO_WEBHOOK = {k: v for k, v in VALID.items() if k != "SLACK_WEBHOOK_URL"}


def problems(environ: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(environ)
    assert TOKEN not in str(caught.value)
    assert "SECRETbottoken" not in str(caught.value)
    return caught.value.problems


def test_a_bot_token_and_channel_replace_the_webhook() -> None:
    """SLACK_WEBHOOK_URL is not required when SLACK_BOT_TOKEN and SLACK_CHANNEL are set."""
    settings = Settings.from_env({**NO_WEBHOOK, **BOT})
    assert settings.slack_bot_token is not None
    assert settings.slack_bot_token.reveal() == TOKEN
    assert settings.slack_channel == "C0123ABC"
    assert TOKEN not in repr(settings)


def test_without_a_bot_token_the_webhook_is_still_required() -> None:
    """The existing contract holds."""
    assert "SLACK_WEBHOOK_URL is required" in problems(NO_WEBHOOK)


def test_a_bot_token_needs_a_channel_and_the_form_of_a_token() -> None:
    """Both problems at once; the token's value is never shown."""
    assert problems({**NO_WEBHOOK, "SLACK_BOT_TOKEN": "SECRETbottoken oops"}) == [
        "SLACK_BOT_TOKEN must be a Slack token like xoxb-... (value not shown)",
        "SLACK_CHANNEL is required with SLACK_BOT_TOKEN (a channel id or name)",
    ]


@pytest.mark.parametrize(
    ("raw", "mode"),
    [
        ("", ChartsMode.AUTO),
        ("auto", ChartsMode.AUTO),
        ("ON", ChartsMode.ON),
        ("off", ChartsMode.OFF),
    ],
)
def test_slack_charts_is_auto_on_or_off(raw: str, mode: ChartsMode) -> None:
    """auto (default): charts unless the destination refused them lately; on; off."""
    assert Settings.from_env({**VALID, "SLACK_CHARTS": raw}).slack_charts is mode


def test_slack_charts_retry_days_and_api_url_are_checked() -> None:
    """Whole days from 1; an origin like MIXPANEL_API_URL's."""
    settings = Settings.from_env(
        {**VALID, "SLACK_CHARTS_RETRY_DAYS": "7", "SLACK_API_URL": "http://127.0.0.1:8124"}
    )
    assert settings.slack_charts_retry_days == 7
    assert settings.slack_api_url == "http://127.0.0.1:8124"
    assert problems(
        {**VALID, "SLACK_CHARTS": "maybe", "SLACK_CHARTS_RETRY_DAYS": "0", "SLACK_API_URL": "x"}
    ) == [
        "SLACK_API_URL must be an origin like http://127.0.0.1:8124, got 'x'",
        "SLACK_CHARTS must be one of auto, on, off, got 'maybe'",
        "SLACK_CHARTS_RETRY_DAYS must be a whole number of days from 1, got '0'",
    ]
