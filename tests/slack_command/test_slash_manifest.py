"""slack/manifest.yml creates the app in one step: the command, its URL, the one scope."""

from __future__ import annotations

from pathlib import Path

import yaml

from shared.web.custom_request import PERIODS

MANIFEST = Path(__file__).parents[2] / "slack" / "manifest.yml"


def manifest() -> dict:
    return yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))


def test_the_manifest_declares_analytics_at_the_slack_command_function():
    """/analytics posts to /api/SlackCommand on the Function App (a placeholder to replace)."""
    [command] = manifest()["features"]["slash_commands"]
    assert command["command"] == "/analytics"
    assert command["url"] == "https://YOUR-FUNCTION-APP.azurewebsites.net/api/SlackCommand"
    assert "code=" not in command["url"]  # the signature, not a function key
    assert command["should_escape"] is False


def test_the_usage_hint_names_the_words_the_command_takes():
    """Every period word, a report, a date range, status, help and share."""
    hint = manifest()["features"]["slash_commands"][0]["usage_hint"]
    for word in [*PERIODS, "<report>", "status", "help", "share"]:
        assert word in hint


def test_the_app_asks_for_the_commands_scope_only():
    """Answers go to response_url, which needs no scope; no Socket Mode (HTTP Request URL)."""
    data = manifest()
    assert data["oauth_config"]["scopes"] == {"bot": ["commands"]}
    assert data["settings"]["socket_mode_enabled"] is False
