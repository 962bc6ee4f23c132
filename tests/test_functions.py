"""End to end: each function's main() with real azure.functions objects against stand-ins."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import azure.functions as func
import pytest
from azure.functions.timer import TimerRequest

import BiWeeklyReport
import CustomReport
import DailyReport
import WeeklyReport
from devtools.slack_standin import slack_rejection
from shared.errors import ConfigError
from shared.schedule.periods import PeriodKind
from shared.schedule.slots import ScheduleRules, latest_slot
from tests.e2e import LONDON, Invocation, Stack
from tests.openapi_check import validate_against_openapi
from tests.race import run_together


def get(**params: str) -> func.HttpResponse:
    request = func.HttpRequest(
        method="GET", url="/api/CustomReport", params={"code": "k", **params}, body=b""
    )
    return CustomReport.main(request)


def body(response: func.HttpResponse) -> dict:
    return json.loads(response.get_body())


def test_weekly_report_without_slack_returns_the_report_and_posts_nothing(stack: Stack):
    """period=weekly&send_slack=false: 200, application/json, the report, no Slack post."""
    response = get(period="weekly", send_slack="false")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    data = body(response)
    validate_against_openapi("ReportResponse", data)
    report = data["report"]
    assert report["period"] == "weekly"
    assert report["window"]["days"] == 7
    assert [m["key"] for m in report["metrics"]] == [
        "active_users",
        "new_signups",
        "users_onboarded",
        "receipts_uploaded",
        "planetpoints_added",
        "vouchers_redeemed",
    ]
    assert all(m["available"] and m["value"] is not None for m in report["metrics"])
    assert data["slack"] == {"posted": False, "error": None}
    assert stack.slack.posts == []
    assert len(stack.mixpanel.requests) == 3


def test_weekly_report_with_slack_posts_exactly_one_message_slack_accepts(stack: Stack):
    """send_slack=true: one post, accepted by the strict Block Kit stand-in."""
    response = get(period="weekly", send_slack="true")
    assert response.status_code == 200
    assert body(response)["slack"]["posted"] is True
    assert len(stack.slack.posts) == 1
    assert stack.slack.rejections == []
    assert slack_rejection(stack.slack.posts[0]) is None


def test_post_with_a_json_body_is_answered_like_get(stack: Stack):
    """POST JSON and GET query parameters follow the same rules."""
    request = func.HttpRequest(
        method="POST",
        url="/api/CustomReport",
        params={"code": "k"},
        body=json.dumps({"period": "daily", "send_slack": False}).encode(),
        headers={"Content-Type": "application/json"},
    )
    response = CustomReport.main(request)
    assert response.status_code == 200
    assert body(response)["report"]["period"] == "daily"


@pytest.mark.parametrize(
    ("fmt", "mimetype"),
    [("text", "text/plain"), ("blocks", "application/json")],
    ids=["text", "blocks"],
)
def test_format_text_and_blocks_preview_the_slack_message(stack: Stack, fmt, mimetype):
    """format=text is the terminal preview; format=blocks the Block Kit payload."""
    response = get(period="weekly", send_slack="false", format=fmt)
    assert response.status_code == 200
    assert response.mimetype == mimetype
    if fmt == "blocks":
        payload = body(response)
        validate_against_openapi("BlockKitPayload", payload)
        assert slack_rejection(payload) is None
    else:
        assert "Active users" in response.get_body().decode()


def test_custom_events_report_totals_of_the_named_events(stack: Stack):
    """events=A,B reports those events instead of the configured metrics."""
    data = body(get(events="Sign Up,Receipt Uploaded", send_slack="false"))
    assert [m["label"] for m in data["report"]["metrics"]] == ["Sign Up", "Receipt Uploaded"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"events": "<script>alert(1)</script>"}, "events"),
        ({"events": "<!channel> Receipt Uplaoded"}, "events"),
        ({"events": "x" * 1_000_000}, "events"),
        ({"from_date": "2026-02-30", "to_date": "2026-03-01"}, "from_date"),
        ({"send_slack": "maybe"}, "send_slack"),
        ({"period": "hourly"}, "period"),
        ({"colour": "blue"}, "colour"),
    ],
    ids=["script", "channel-mention", "1mb", "feb-30", "maybe", "period", "unknown"],
)
def test_hostile_requests_get_a_400_naming_the_field(stack: Stack, params, field):
    """Bad input is a 400 in the documented shape, never a 500, and nothing is posted."""
    response = get(**params)
    assert response.status_code == 400
    data = body(response)
    validate_against_openapi("Error", data)
    assert data["error"]["field"] == field
    assert stack.slack.posts == []


def test_an_unknown_event_gets_the_closest_existing_names(stack: Stack):
    """A typo in events is a 400 with a did-you-mean from the project's own names."""
    data = body(get(events="Receipt Uplaoded", send_slack="false"))
    assert data["error"]["code"] == "unknown_event"
    assert "did you mean 'Receipt Uploaded'" in data["error"]["message"]


def test_the_wrong_method_gets_405(stack: Stack):
    """Only GET and POST are served."""
    request = func.HttpRequest(method="DELETE", url="/api/CustomReport", params={}, body=b"")
    response = CustomReport.main(request)
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, POST"
    validate_against_openapi("Error", body(response))


def test_mixpanel_down_is_a_503_that_says_which_side_failed(stack: Stack):
    """Every Mixpanel request failing gives 503 from the mixpanel side, with Retry-After."""
    stack.mixpanel.fail_next(503, times=100, retry_after="0")
    response = get(period="weekly", send_slack="false")
    assert response.status_code == 503
    data = body(response)
    validate_against_openapi("Error", data)
    assert data["error"]["side"] == "mixpanel"
    assert "Retry-After" in response.headers


def test_a_spent_query_budget_is_a_429_with_retry_after(stack: Stack):
    """Mixpanel's 429 beyond the report's time budget gives 429 and when to come back."""
    stack.mixpanel.fail_next(429, times=100, retry_after="3600")
    response = get(period="weekly", send_slack="false")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3600"
    assert body(response)["error"]["code"] == "mixpanel_rate_limited"


def test_a_report_survives_first_answers_of_429_and_503(stack: Stack):
    """Rate limits and server errors on the first requests are retried to a correct report."""
    stack.mixpanel.fail_next(429, times=1, retry_after="0")
    stack.mixpanel.fail_next(503, times=1, retry_after="0")
    response = get(period="weekly", send_slack="true")
    assert response.status_code == 200
    assert len(stack.slack.posts) == 1


def test_slack_failing_still_returns_the_report_and_says_posting_failed(stack: Stack):
    """The report was built: the 502 response carries it and names Slack as the failed side."""
    # A webhook that is gone refuses the post with charts and the one without them alike.
    stack.slack.fail_next(404, body="no_service", times=2)
    response = get(period="weekly")
    assert response.status_code == 502
    data = body(response)
    assert data["error"]["side"] == "slack"
    assert data["slack"]["posted"] is False
    assert data["report"]["period"] == "weekly"
    validate_against_openapi("ReportNotPosted", data)


def timer(slot: datetime, past_due: bool = False) -> TimerRequest:
    return TimerRequest(past_due=past_due, schedule_status={"Next": slot.isoformat()})


def last_slot(kind: PeriodKind) -> datetime:
    slot = latest_slot(kind, datetime.now(UTC), ScheduleRules(LONDON))
    assert slot is not None
    return slot


@pytest.mark.azurite
@pytest.mark.parametrize(
    ("module", "kind"),
    [
        (DailyReport, PeriodKind.DAILY),
        (WeeklyReport, PeriodKind.WEEKLY),
        (BiWeeklyReport, PeriodKind.BIWEEKLY),
    ],
    ids=["daily", "weekly", "biweekly"],
)
def test_ten_concurrent_fires_of_a_timer_post_one_message(
    stack: Stack, azurite_connection_string, ledger_table_name, monkeypatch, module, kind
):
    """Ten instances firing the same slot at once (Azurite ledger) give one Slack post."""
    monkeypatch.setenv("AzureWebJobsStorage", azurite_connection_string)
    monkeypatch.setenv("DELIVERY_TABLE", ledger_table_name)
    slot = last_slot(kind)
    run_together(10, lambda: module.main(timer(slot), Invocation()))  # raises if any raised
    assert len(stack.slack.posts) == 1
    assert slack_rejection(stack.slack.posts[0]) is None
    # A later past-due replay of the same slot posts nothing more.
    module.main(timer(slot - timedelta(hours=1), past_due=True), Invocation())
    assert len(stack.slack.posts) == 1


@pytest.mark.azurite
def test_a_timer_fire_outside_the_slot_does_nothing(
    stack: Stack, azurite_connection_string, ledger_table_name, monkeypatch
):
    """The 15-minute fires that are not 09:00 local return without any request."""
    monkeypatch.setenv("AzureWebJobsStorage", azurite_connection_string)
    monkeypatch.setenv("DELIVERY_TABLE", ledger_table_name)
    DailyReport.main(timer(last_slot(PeriodKind.DAILY) + timedelta(minutes=15)), Invocation())
    assert stack.mixpanel.requests == []
    assert stack.slack.posts == []


@pytest.mark.azurite
def test_a_failed_scheduled_run_posts_a_notice_and_fails_the_function(
    stack: Stack, azurite_connection_string, ledger_table_name, monkeypatch
):
    """Mixpanel down at 09:00: a short failure notice reaches Slack and main() raises."""
    monkeypatch.setenv("AzureWebJobsStorage", azurite_connection_string)
    monkeypatch.setenv("DELIVERY_TABLE", ledger_table_name)
    stack.mixpanel.fail_next(500, times=1000, retry_after="0")
    with pytest.raises(Exception, match="Mixpanel"):
        WeeklyReport.main(timer(last_slot(PeriodKind.WEEKLY)), Invocation())
    assert len(stack.slack.posts) == 1
    notice = stack.slack.posts[0]
    assert "weekly" in notice["text"].lower()
    assert slack_rejection(notice) is None


def test_bad_settings_on_a_timer_are_reported_and_raised(stack: Stack, monkeypatch):
    """A malformed setting fails the run; at the slot a notice says which setting."""
    monkeypatch.setenv("MIXPANEL_REGION", "mars")
    with pytest.raises(Exception, match="MIXPANEL_REGION must be one of eu, us, in"):
        WeeklyReport.main(timer(last_slot(PeriodKind.WEEKLY)), Invocation())
    assert len(stack.slack.posts) == 1
    assert "MIXPANEL_REGION" in json.dumps(stack.slack.posts[0])


@pytest.mark.parametrize(
    ("settings", "hour", "posts"),
    [
        # The settings parsed: the notice goes out at their REPORT_HOUR, not the default's.
        ({"REPORT_HOUR": "7", "METRICS_FILE": "/nonexistent/metrics.toml"}, 7, 1),
        ({"REPORT_HOUR": "7", "METRICS_FILE": "/nonexistent/metrics.toml"}, 9, 0),
        # A bad TIMEZONE and REPORT_HOUR are left at their defaults: London, 09:00.
        ({"REPORT_HOUR": "25", "TIMEZONE": "Mars/Base"}, 9, 1),
    ],
    ids=["parsed-hour-at-its-slot", "parsed-hour-not-at-nine", "bad-hour-at-default-slot"],
)
def test_a_bad_config_notice_comes_at_the_slot_the_settings_parse_gives(
    stack: Stack, monkeypatch, settings, hour, posts
):
    """The notice reads the slot and webhook from the one parse of the settings."""
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    slot = latest_slot(PeriodKind.DAILY, datetime.now(UTC), ScheduleRules(LONDON, hour))
    assert slot is not None
    with pytest.raises(ConfigError):
        DailyReport.main(timer(slot), Invocation())
    assert len(stack.slack.posts) == posts


@pytest.mark.azurite
@pytest.mark.parametrize(
    ("context", "last_words"),
    [
        (Invocation(0, 3), "It will be retried."),
        (Invocation(3, 3), "It will not be retried automatically."),
        (Invocation(None), "No numbers were posted for this window."),
    ],
    ids=["retries-left", "last-attempt", "unknown"],
)
def test_a_failure_notice_says_whether_the_host_will_retry(
    stack: Stack, azurite_connection_string, ledger_table_name, monkeypatch, context, last_words
):
    """The notice reads the invocation's retry counters; without them it promises nothing."""
    monkeypatch.setenv("AzureWebJobsStorage", azurite_connection_string)
    monkeypatch.setenv("DELIVERY_TABLE", ledger_table_name)
    stack.mixpanel.fail_next(500, times=1000, retry_after="0")
    with pytest.raises(Exception, match="Mixpanel"):
        DailyReport.main(timer(last_slot(PeriodKind.DAILY)), context)
    text = stack.slack.posts[0]["blocks"][0]["text"]["text"]
    assert text.endswith(last_words)
