"""End to end: several [[report]]s, each to its own destination, through the timers' main()."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import azure.functions as func
import pytest
from azure.functions.timer import TimerRequest

import CustomReport
import DailyReport
import MonthlyReport
import WeeklyReport
from devtools.slack_standin import SlackStandIn, slack_rejection
from shared.schedule.periods import PeriodKind
from shared.schedule.slots import ScheduleRules, latest_slot
from tests.e2e import LONDON, WEBHOOK_TOKEN, Invocation, Stack

SAMPLE_REPORTS = Path(__file__).parents[1] / "devtools" / "sample_reports.toml"
GROWTH_TOKEN = "WEBHOOKSECRET-growth-91c2"
EXEC_TOKEN = "WEBHOOKSECRET-exec-5b7d"

TWO_REPORTS = """
[[metric]]
key = "new_signups"
label = "New signups"
events = ["Sign Up"]

[[metric]]
key = "ios_signups"
label = "iOS signups"
events = ["Sign Up"]
where = [{ property = "platform", equals = "iOS" }]

[[metric]]
key = "users_onboarded"
label = "Users onboarded"
events = ["User Onboarded"]

[[metric]]
key = "onboarding_rate"
label = "Onboarding rate"
formula = "users_onboarded / new_signups"
unit = "percent"

[[metric]]
key = "basket_value"
label = "Basket value"
events = ["Receipt Uploaded"]
measure = "sum"
property = "amount"
unit = "currency"
currency = "GBP"

[[metric]]
key = "active_users"
label = "Active users"
events = ["*"]
measure = "unique"

[[report]]
name = "growth"
title = "Growth"
cadence = "daily"
metrics = ["new_signups", "ios_signups", "onboarding_rate"]
destination = "SLACK_WEBHOOK_GROWTH"

[[report]]
name = "exec"
title = "Exec"
cadence = "weekly"
metrics = ["active_users", "basket_value"]
destination = "SLACK_WEBHOOK_EXEC"
"""


def timer(slot: datetime, past_due: bool = False) -> TimerRequest:
    return TimerRequest(past_due=past_due, schedule_status={"Next": slot.isoformat()})


def last_slot(kind: PeriodKind) -> datetime:
    slot = latest_slot(kind, datetime.now(UTC), ScheduleRules(LONDON))
    assert slot is not None
    return slot


@pytest.fixture
def channels(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[SlackStandIn, SlackStandIn]]:
    """Two more Slack stand-ins, growth and exec, named by settings in a reports file."""
    growth = SlackStandIn(path=f"/services/T0/B1/{GROWTH_TOKEN}")
    execs = SlackStandIn(path=f"/services/T0/B2/{EXEC_TOKEN}")
    monkeypatch.setenv("SLACK_WEBHOOK_GROWTH", growth.start())
    monkeypatch.setenv("SLACK_WEBHOOK_EXEC", execs.start())
    path = tmp_path / "reports.toml"
    path.write_text(TWO_REPORTS, encoding="utf-8")
    monkeypatch.setenv("METRICS_FILE", str(path))
    try:
        yield growth, execs
    finally:
        growth.stop()
        execs.stop()


def texts(standin: SlackStandIn) -> str:
    return json.dumps(standin.posts, ensure_ascii=False)


@pytest.mark.azurite
def test_two_reports_with_different_metrics_and_cadences_post_to_two_destinations_once(
    stack: Stack, channels, azurite_ledger
):
    """Daily growth to one channel, weekly exec to another; replays post nothing more."""
    growth, execs = channels
    for _ in range(2):  # the second round is the host replaying the same slots
        DailyReport.main(timer(last_slot(PeriodKind.DAILY)), Invocation())
        WeeklyReport.main(timer(last_slot(PeriodKind.WEEKLY)), Invocation())
    assert len(growth.posts) == 1
    assert len(execs.posts) == 1
    assert stack.slack.posts == []  # the settings' own webhook gets nothing
    for standin in (growth, execs):
        assert slack_rejection(standin.posts[0]) is None
    assert "Growth daily report" in growth.posts[0]["text"]
    assert "iOS signups" in texts(growth)
    assert "Onboarding rate" in texts(growth)
    assert "Basket value" not in texts(growth)
    assert "Exec weekly report" in execs.posts[0]["text"]
    assert "Basket value" in texts(execs)
    assert "£" in texts(execs)
    assert "iOS signups" not in texts(execs)


@pytest.mark.azurite
def test_a_broken_report_posts_its_own_notice_and_never_stops_the_others(
    stack: Stack, channels, azurite_ledger, tmp_path, monkeypatch
):
    """A property typo fails one daily report; its sibling still posts; main() then raises."""
    growth, execs = channels
    broken = TWO_REPORTS.replace('cadence = "weekly"', 'cadence = "daily"').replace(
        'property = "amount"', 'property = "amuont"'
    )
    (tmp_path / "reports.toml").write_text(broken, encoding="utf-8")
    with pytest.raises(Exception, match="1 report\\(s\\) failed: exec"):
        DailyReport.main(timer(last_slot(PeriodKind.DAILY)), Invocation())
    assert len(growth.posts) == 1
    assert "Growth daily report" in growth.posts[0]["text"]
    [notice] = execs.posts
    assert "failed" in notice["text"]
    assert "'amuont'" in notice["text"]
    assert "did you mean 'amount'" in notice["text"]
    assert slack_rejection(notice) is None


def test_a_misspelt_event_names_the_file_the_report_and_the_metric(
    stack: Stack, channels, tmp_path
):
    """An unknown event in a report's metric: 500 naming file, report, metric, did-you-mean."""
    file = tmp_path / "reports.toml"
    file.write_text(TWO_REPORTS.replace('["User Onboarded"]', '["User Onbaorded"]'), "utf-8")
    response = get(report="growth", send_slack="false")
    assert response.status_code == 500
    message = json.loads(response.get_body())["error"]["message"]
    assert message == (
        f"unknown Mixpanel event in {file}: report 'growth', metric 'users_onboarded': "
        "'User Onbaorded' (did you mean 'User Onboarded'?)"
    )


def test_without_reports_the_monthly_timer_posts_nothing(stack: Stack):
    """The single report of the settings keeps its daily, weekly and bi-weekly posts only.

    No storage is configured here: the monthly timer does not even need the ledger.
    """
    MonthlyReport.main(timer(last_slot(PeriodKind.MONTHLY)), Invocation())
    assert stack.slack.posts == []
    assert stack.mixpanel.requests == []


@pytest.mark.azurite
def test_a_monthly_report_posts_on_the_first_covering_the_previous_month(
    stack: Stack, channels, azurite_ledger, tmp_path
):
    """cadence monthly: MonthlyReport's fire at the slot posts the previous calendar month."""
    growth, _ = channels
    monthly = TWO_REPORTS.replace('cadence = "daily"', 'cadence = "monthly"')
    (tmp_path / "reports.toml").write_text(monthly, encoding="utf-8")
    slot = last_slot(PeriodKind.MONTHLY)
    MonthlyReport.main(timer(slot), Invocation())
    MonthlyReport.main(timer(slot), Invocation())
    [post] = growth.posts
    assert "Growth monthly report" in post["text"]
    previous = slot.astimezone(LONDON).replace(day=1).date().toordinal() - 1
    assert datetime.fromordinal(previous).strftime("%d %b %Y") in post["text"]


def get(**params: str) -> func.HttpResponse:
    request = func.HttpRequest(
        method="GET", url="/api/CustomReport", params={"code": "k", **params}, body=b""
    )
    return CustomReport.main(request)


def test_custom_report_runs_a_named_report_on_its_cadence_and_posts_to_its_destination(
    stack: Stack, channels
):
    """report=exec: the exec metrics, weekly by default, posted to the exec destination."""
    growth, execs = channels
    response = get(report="exec")
    assert response.status_code == 200
    data = json.loads(response.get_body())
    assert data["report"]["period"] == "weekly"
    assert [m["key"] for m in data["report"]["metrics"]] == ["active_users", "basket_value"]
    assert data["slack"]["posted"] is True
    assert len(execs.posts) == 1
    assert growth.posts == []
    assert stack.slack.posts == []


def test_custom_report_suggests_the_closest_report_name(stack: Stack, channels):
    """report=grwoth is a 400 naming the field, with did-you-mean and the configured names."""
    response = get(report="grwoth", send_slack="false")
    assert response.status_code == 400
    error = json.loads(response.get_body())["error"]
    assert error["field"] == "report"
    assert error["code"] == "unknown_report"
    assert "did you mean 'growth'?" in error["message"]


def test_the_dry_run_plan_states_each_reports_mixpanel_requests(stack: Stack, channels):
    """dry_run lists every report with its cost, and calls neither Mixpanel nor Slack."""
    data = json.loads(get(dry_run="true", send_slack="false").get_body())
    costs = {r["name"]: r["mixpanel_requests"]["total"] for r in data["reports"]}
    assert costs == {"growth": 3, "exec": 3}
    assert stack.mixpanel.requests == []


def test_secrets_of_every_destination_stay_out_of_posts_and_answers(stack: Stack, channels):
    """No webhook token of any destination appears in what the app says."""
    response = get(report="growth")
    seen = response.get_body().decode() + texts(channels[0]) + texts(channels[1])
    for token in (GROWTH_TOKEN, EXEC_TOKEN, WEBHOOK_TOKEN):
        assert token not in seen
