"""openapi.yaml's SlackCommand and DeliveryHistory say what the code does."""

from __future__ import annotations

import re

import pytest

from shared.jobs.delivery_history import handle_delivery_history
from shared.slack_command.history import MAX_DAYS
from tests.openapi_check import load_openapi, validate_against_openapi

ENV: dict[str, str] = {}  # no settings: parameter rules are checked before the app is built


def operation(path: str, method: str) -> dict:
    return load_openapi()["paths"][path][method]


def test_the_slash_command_takes_post_only_without_a_function_key():
    """Slack cannot send a function key: security is empty, the signature headers required."""
    paths = load_openapi()["paths"]
    assert set(paths["/api/SlackCommand"]) == {"post"}
    post = operation("/api/SlackCommand", "post")
    assert post["security"] == []
    required = {p["name"] for p in post["parameters"] if p.get("required")}
    assert required == {"X-Slack-Request-Timestamp", "X-Slack-Signature"}
    assert set(post["responses"]) == {"200", "400", "401", "405", "500"}
    assert "application/x-www-form-urlencoded" in post["requestBody"]["content"]


def test_delivery_history_takes_get_with_the_function_key():
    """GET only, global security (the function key), every status it answers."""
    paths = load_openapi()["paths"]
    assert set(paths["/api/DeliveryHistory"]) == {"get"}
    get = operation("/api/DeliveryHistory", "get")
    assert "security" not in get
    assert set(get["responses"]) == {"200", "400", "401", "405", "500", "503"}


@pytest.mark.parametrize("days", ["0", "1", "9", "10", "89", "90", "91", "007", "+1", "1.0", "٣"])
def test_the_days_pattern_accepts_exactly_what_the_code_accepts(days):
    """The spec's pattern and the handler agree on every boundary."""
    [parameter] = operation("/api/DeliveryHistory", "get")["parameters"]
    spec_ok = re.fullmatch(parameter["schema"]["pattern"].strip("^$"), days) is not None
    answer = handle_delivery_history("GET", {"days": days}, environ=ENV, query_string=None)
    code_ok = answer.status != 400
    assert spec_ok is code_ok
    if not code_ok:
        validate_against_openapi("Error", answer.json())
        assert (
            answer.json()["error"]["message"] == f"days must be a whole number from 1 to {MAX_DAYS}"
        )
