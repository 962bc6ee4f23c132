"""Specs for /api/AlertBacktest: strict parameters, 400 JSON naming the field, the dry run."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import azure.functions as func
import pytest

import AlertBacktest
from devtools.mixpanel_standin import MixpanelStandIn
from devtools.sample_data import OUTAGE_DAY, OUTAGE_EVENT, sample_project
from shared.alerts.http import handle_alert_backtest
from shared.sources.mixpanel_client import PROCESS_NAMES_CACHE

SECRET = "MPSECRET-backtest-31aa"
ENV = {
    "MIXPANEL_USERNAME": "svc",
    "MIXPANEL_SECRET": SECRET,
    "MIXPANEL_PROJECT_ID": "9",
    "SLACK_WEBHOOK_URL": "https://example.invalid/hook",
}
NOW = datetime(2026, 7, 17, 0, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("params", "field", "code"),
    [
        ({"days": "0"}, "days", "invalid_parameter"),
        ({"days": "31"}, "days", "invalid_parameter"),
        ({"days": "7.5"}, "days", "invalid_parameter"),
        ({"dry_run": "false"}, "dry_run", "invalid_parameter"),
        ({"rule": ""}, "rule", "invalid_parameter"),
        ({"rule": "a,,b"}, "rule", "invalid_parameter"),
        ({"rule": "no-such-rule"}, "rule", "unknown_rule"),
        ({"since": "2026-01-01"}, "since", "unknown_parameter"),
    ],
    ids=[
        "zero-days",
        "too-many-days",
        "fractional-days",
        "not-a-dry-run",
        "empty-rule",
        "empty-rule-in-list",
        "unknown-rule",
        "unknown-parameter",
    ],
)
def test_bad_parameters_are_a_400_naming_the_field(params, field, code):
    """No Mixpanel request is made for a bad request; the error names the field."""
    result = handle_alert_backtest("GET", params, environ=ENV, now=NOW)
    assert result.status == 400
    error = result.json()["error"]
    assert (error["field"], error["code"]) == (field, code)


def test_only_get_is_allowed():
    """POST: 405 with Allow: GET."""
    result = handle_alert_backtest("POST", {}, environ=ENV, now=NOW)
    assert result.status == 405
    assert result.headers["Allow"] == "GET"


def test_broken_settings_are_a_500_without_details():
    """Missing settings: server_misconfigured, nothing about the values."""
    result = handle_alert_backtest("GET", {}, environ={}, now=NOW)
    assert result.status == 500
    assert result.json()["error"]["code"] == "server_misconfigured"


def test_the_backtest_lists_the_outage_alert_and_its_resolution(monkeypatch):
    """GET ?rule=watch:Receipt Uploaded&days=5 through main(): the alert and the resolved post."""
    events = sample_project(end=OUTAGE_DAY + timedelta(days=1), days=40, users=4000)
    with MixpanelStandIn(
        events, username="svc", secret=SECRET, project_id="9", today=OUTAGE_DAY + timedelta(days=2)
    ) as standin:
        for name, value in {**ENV, "MIXPANEL_API_URL": standin.origin}.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setattr("shared.alerts.http.utc_now", lambda: NOW)
        PROCESS_NAMES_CACHE.clear()
        response = AlertBacktest.main(
            func.HttpRequest(
                method="GET",
                url="/api/AlertBacktest",
                params={"rule": f"watch:{OUTAGE_EVENT}", "days": "5"},
                body=b"",
            )
        )
    assert response.status_code == 200
    body = json.loads(response.get_body())
    assert body["alerts"] == 1
    assert [p["kind"] for p in body["would_post"]] == ["alert", "resolved"]
    assert body["would_post"][0]["at"].startswith("2026-07-15T15:00")
    assert SECRET not in response.get_body().decode()
