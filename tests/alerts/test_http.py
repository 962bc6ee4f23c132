"""Specs for /api/AlertBacktest: strict parameters, 400 JSON naming the field, the dry run."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode

import azure.functions as func
import pytest

import AlertBacktest
from devtools.mixpanel_standin import MixpanelStandIn
from devtools.sample_data import OUTAGE_DAY, OUTAGE_EVENT, sample_project
from shared.jobs.backtest import handle_alert_backtest
from shared.sources.mixpanel_client import PROCESS_NAMES_CACHE
from tests.e2e import Stack
from tests.openapi_check import validate_against_openapi

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
        monkeypatch.setattr("shared.jobs.backtest.utc_now", lambda: NOW)
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


# -- issue 23 item 9: held to CustomReport's contract -----------------------------------------


def backtest_main(query: str, method: str = "GET", body: bytes = b"") -> func.HttpResponse:
    """AlertBacktest.main as the host calls it: the URL carries the raw query string."""
    return AlertBacktest.main(
        func.HttpRequest(
            method=method,
            url=f"/api/AlertBacktest?{query}" if query else "/api/AlertBacktest",
            params=dict(parse_qsl(query, keep_blank_values=True)),
            body=body,
        )
    )


def error_of(response: func.HttpResponse) -> dict[str, object]:
    data = json.loads(response.get_body())
    validate_against_openapi("Error", data)
    error: dict[str, object] = data["error"]
    return error


@pytest.mark.parametrize("length", [200, 500, 3000])
def test_a_long_rule_name_is_never_echoed_in_full(length: int):
    """A 3,000-character rule name: 400 naming `rule`, the message short, the name clipped."""
    name = "r" * length
    result = handle_alert_backtest("GET", {"rule": name}, environ=ENV, now=NOW)
    assert result.status == 400
    error = result.json()["error"]
    validate_against_openapi("Error", result.json())
    assert error["field"] == "rule"
    assert name not in error["message"]
    assert len(result.body) < 600


@pytest.mark.parametrize("name", ["days", "rule", "dry_run"])
def test_a_repeated_parameter_is_a_400_duplicate_parameter(name: str):
    """days=1&days=30 is refused through main(), not folded into one value."""
    values = {"days": ("1", "30"), "rule": ("a", "b"), "dry_run": ("true", "1")}[name]
    response = backtest_main(f"{name}={values[0]}&{name}={values[1]}")
    assert response.status_code == 400
    error = error_of(response)
    assert (error["code"], error["field"]) == ("duplicate_parameter", name)
    assert error["message"] == (
        f"parameter {name!r} is given more than once in the query string; give each parameter once"
    )


@pytest.mark.parametrize(
    "days",
    ["\u00b2", "\u0663", "\uff13", "3\u200b", "+3", "-3", "03", " 3", "3 ", "1e1", "inf", "nan",
     "30.0", "99999999999999999999", ""],
    ids=repr,
)  # fmt: skip
def test_days_takes_ascii_digits_only_in_range(days: str):
    """'²' (was a 500), '٣' (was taken as 3) and every other non-number: 400 naming days."""
    result = handle_alert_backtest("GET", {"days": days}, environ=ENV, now=NOW)
    assert result.status == 400
    assert (result.json()["error"]["field"], result.json()["error"]["code"]) == (
        "days",
        "invalid_parameter",
    )


@pytest.mark.parametrize("name", ["rule", "days", "dry_run"])
@pytest.mark.parametrize("ch", ["\u202e", "\u200b", "\ufeff"], ids=["RLO", "ZWSP", "BOM"])
def test_a_format_character_in_any_backtest_parameter_is_refused_naming_the_field(
    name: str, ch: str
):
    """Issue 23 item 2, for AlertBacktest: Unicode format characters (Cf) are a 400."""
    value = {"rule": "watch:Sign Up", "days": "7", "dry_run": "true"}[name]
    result = handle_alert_backtest("GET", {name: ch + value}, environ=ENV, now=NOW)
    assert result.status == 400
    error = result.json()["error"]
    assert (error["field"], error["code"]) == (name, "invalid_parameter")
    assert f"is U+{ord(ch):04X}" in error["message"]


def test_a_body_is_refused():
    """GET only, and without a body, as CustomReport's GET."""
    response = backtest_main("days=7", body=b"{}")
    assert response.status_code == 400
    assert (error_of(response)["field"], error_of(response)["code"]) == ("body", "invalid_body")


def test_other_methods_are_405_with_allow_get_and_a_clipped_token():
    """Any token but GET, clipped in the message like CustomReport's."""
    method = "X" * 300
    result = handle_alert_backtest(method, {}, environ=ENV, now=NOW)
    assert (result.status, result.headers["Allow"]) == (405, "GET")
    assert method not in result.json()["error"]["message"]


def test_a_watch_on_an_event_the_project_lacks_is_a_400_with_did_you_mean(stack: Stack):
    """watch:No Such Event used to answer 200 "would never fire"; now it names the field."""
    response = backtest_main(urlencode({"rule": "watch:Receipt Uplaoded", "days": "2"}))
    assert response.status_code == 400
    error = error_of(response)
    assert (error["code"], error["field"]) == ("unknown_event", "rule")
    assert error["message"] == (
        "unknown Mixpanel event in rule: 'Receipt Uplaoded' "
        "(did you mean 'Receipt Uploaded', 'Receipt Failed'?)"
    )
    # Only the event names were asked for: no backtest request for a refused rule.
    assert {r.path for r in stack.mixpanel.requests} == {"/api/query/events/names"}


def test_a_watch_on_a_known_event_answers_the_documented_shape(stack: Stack):
    """A valid backtest through main(): 200, and the answer fits AlertBacktestResult."""
    response = backtest_main(urlencode({"rule": "watch:Sign Up, watch:Sign Up", "days": "3"}))
    assert response.status_code == 200
    data = json.loads(response.get_body())
    validate_against_openapi("AlertBacktestResult", data)
    assert (data["days"], data["rules"]) == (3, ["watch:Sign Up"])


def test_an_unknown_configured_rule_suggests_the_closest(tmp_path, monkeypatch):
    """unknown_rule says which rules exist, with did-you-mean, each name clipped."""
    alerts = tmp_path / "alerts.toml"
    alerts.write_text(
        '[[alert]]\nname = "signups-crash"\nmetric = "new_signups"\nwhen = "below"\n'
        'value = 1\ngranularity = "day"\n',
        encoding="utf-8",
    )
    env = {**ENV, "ALERTS_FILE": str(alerts)}
    result = handle_alert_backtest("GET", {"rule": "signup-crash"}, environ=env, now=NOW)
    assert result.status == 400, result.json()
    error = result.json()["error"]
    assert (error["code"], error["field"]) == ("unknown_rule", "rule")
    assert "did you mean 'signups-crash'?" in error["message"]
