"""The slash command's settings: optional for the app, typed, the signing secret never shown."""

from __future__ import annotations

import pytest

from shared.errors import ConfigError
from shared.settings import Settings

CHANNELS_RULE = (
    "SLACK_COMMAND_CHANNELS must list Slack channel ids like C0123ABCD separated by commas"
)
BASE = {
    "MIXPANEL_USERNAME": "u",
    "MIXPANEL_SECRET": "s",
    "MIXPANEL_PROJECT_ID": "1",
    "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/x",
}


def test_without_them_the_app_runs_and_the_command_is_off():
    """None of them is required by the timers or CustomReport."""
    settings = Settings.from_env(BASE)
    assert settings.slack_signing_secret is None
    assert settings.slack_team_id is None
    assert settings.slack_command_channels is None


def test_they_are_read_typed_and_the_secret_stays_hidden():
    """A Secret, a team id, a set of channel ids."""
    settings = Settings.from_env(
        {
            **BASE,
            "SLACK_SIGNING_SECRET": " sign-me ",
            "SLACK_TEAM_ID": "T0123ABCD",
            "SLACK_COMMAND_CHANNELS": "C0123, C0456,",
        }
    )
    assert settings.slack_signing_secret is not None
    assert settings.slack_signing_secret.reveal() == "sign-me"
    assert "sign-me" not in repr(settings)
    assert settings.slack_team_id == "T0123ABCD"
    assert settings.slack_command_channels == frozenset({"C0123", "C0456"})


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        (
            "SLACK_TEAM_ID",
            "acme",
            "SLACK_TEAM_ID must be a Slack workspace id like T0123ABCD, got 'acme'",
        ),
        (
            "SLACK_COMMAND_CHANNELS",
            "#general",
            f"{CHANNELS_RULE}, got '#general'",
        ),
        (
            "SLACK_COMMAND_CHANNELS",
            ",",
            f"{CHANNELS_RULE}, got ','",
        ),
    ],
)
def test_malformed_ids_are_reported_with_the_others(name, value, problem):
    """Named in the one ConfigError that lists every problem."""
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**BASE, name: value})
    assert problem in str(caught.value)
