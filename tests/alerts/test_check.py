"""Specs for AlertCheck on the bundled sample project: the outage day, quiet weeks, backtests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import azure.functions as func
import pytest

import AlertCheck
from devtools.mixpanel_standin import MixpanelStandIn
from devtools.sample_data import OUTAGE_DAY, OUTAGE_EVENT, OUTAGE_HOURS, RawEvent, sample_project
from devtools.slack_standin import SlackStandIn, slack_rejection
from shared.alerts.check import AlertContext, backtest, replay, run_alert_check
from shared.alerts.rules import AlertsConfig, WatchSettings, parse_alerts
from shared.delivery.breach import Outcome
from shared.delivery.ledger import InMemoryLedger
from shared.jobs.alert_check import run_alert_timer
from shared.render.alert_message import render_alert, render_resolved
from shared.report.metrics import load_metrics
from shared.settings import DEFAULT_METRICS_FILE
from shared.sources.mixpanel_client import PROCESS_NAMES_CACHE
from tests.alerts.sample import HourlyFromEvents, hourly
from tests.fakes import FakeSlack

LONDON = ZoneInfo("Europe/London")
METRICS = load_metrics(DEFAULT_METRICS_FILE)
CTX = AlertContext(
    AlertsConfig(WatchSettings()), METRICS, LONDON, "Acme", render_alert, render_resolved
)
SECRET = "MPSECRET-alerts-5d1e"
WEBHOOK_TOKEN = "WEBHOOKSECRET-alerts-77c2"


@pytest.fixture(scope="module")
def outage_project() -> list[RawEvent]:
    """Five weeks of the sample project (4000 users) up to the day after the outage."""
    return sample_project(end=OUTAGE_DAY + timedelta(days=1), days=36)


def local(day: date, hour: int, minute: int = 15) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON).astimezone(UTC)


@pytest.fixture
def env(
    outage_project, azurite_connection_string, ledger_table_name, monkeypatch
) -> Iterator[tuple[dict[str, str], SlackStandIn, MixpanelStandIn]]:
    """Stand-ins for Mixpanel (today = the day after the outage) and Slack; Azurite ledger."""
    mixpanel = MixpanelStandIn(
        outage_project,
        username="svc.alerts",
        secret=SECRET,
        project_id="515151",
        today=OUTAGE_DAY + timedelta(days=1),
    )
    slack = SlackStandIn(path=f"/services/T0AL/B0AL/{WEBHOOK_TOKEN}")
    environ = {
        "MIXPANEL_USERNAME": "svc.alerts",
        "MIXPANEL_SECRET": SECRET,
        "MIXPANEL_PROJECT_ID": "515151",
        "MIXPANEL_API_URL": mixpanel.start(),
        "SLACK_WEBHOOK_URL": slack.start(),
        "COMPANY_NAME": "Acme",
        "TIMEZONE": "Europe/London",
        "AzureWebJobsStorage": azurite_connection_string,
        "DELIVERY_TABLE": ledger_table_name,
    }
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    PROCESS_NAMES_CACHE.clear()
    try:
        yield environ, slack, mixpanel
    finally:
        mixpanel.stop()
        slack.stop()


@pytest.mark.azurite
def test_hourly_fires_through_the_outage_day_post_one_alert_and_one_resolved(env) -> None:
    """AlertCheck every hour of 15 Jul (each fire twice): one alert naming the event within a
    few hours of the 10:00 start, one resolved post after it returns at 17:00, nothing else."""
    environ, slack, mixpanel = env
    posted_at: list[int] = []
    for hour in range(24):
        for _ in range(2):  # a duplicate fire of each hour
            before = len(slack.posts)
            run_alert_timer(None, None, environ=environ, now=local(OUTAGE_DAY, hour))
            posted_at += [hour] * (len(slack.posts) - before)
    texts = [p["text"] for p in slack.posts]
    assert len(texts) == 2, texts
    assert texts[0].startswith(f"Alert: {OUTAGE_EVENT}: no events since Wed 15 Jul 10:00.")
    assert "expected about" in texts[0]
    assert texts[1] == f"Resolved: {OUTAGE_EVENT}: events are back to their usual volume"
    start, end = OUTAGE_HOURS
    assert start < posted_at[0] <= start + 5
    assert posted_at[1] > end
    assert all(slack_rejection(p) is None for p in slack.posts)
    hourly_queries = [r for r in mixpanel.requests if r.query.get("unit") == "hour"]
    assert len(hourly_queries) == 48  # one /events request per check, every event in it
    assert all(SECRET not in t and WEBHOOK_TOKEN not in t for t in texts)


@pytest.mark.azurite
def test_the_function_folder_runs_one_check(env, monkeypatch) -> None:
    """AlertCheck.main() with a real TimerRequest checks and posts nothing on a quiet hour."""
    _environ, slack, _mixpanel = env
    monkeypatch.setattr("shared.jobs.alert_check.utc_now", lambda: local(OUTAGE_DAY, 8))
    AlertCheck.main(func.timer.TimerRequest(past_due=False), None)  # type: ignore[arg-type]
    assert slack.posts == []


@pytest.fixture(scope="module")
def sample_counts(outage_project):
    return hourly(outage_project, LONDON)


def test_a_week_of_hourly_fires_without_an_outage_posts_nothing(sample_counts) -> None:
    """The week before the outage, checked every hour: no post at all."""
    watched = sorted(n for n in sample_counts if not n.startswith("$"))
    posts = replay(
        CTX,
        sample_counts,
        watched,
        first=local(OUTAGE_DAY - timedelta(days=7), 0, 0),
        last=local(OUTAGE_DAY, 0, 0),
    )
    assert posts == []


def test_the_backtest_says_when_the_watch_would_have_fired(sample_counts) -> None:
    """dry_run over the last 30 days: the outage's alert and its resolution, nothing else."""
    source = HourlyFromEvents(sample_counts)
    now = local(OUTAGE_DAY + timedelta(days=1), 0, 15)
    found = backtest(CTX, source, now=now, days=30)
    assert [(p.rule, p.outcome) for p in found] == [
        (f"watch:{OUTAGE_EVENT}", Outcome.OPENED),
        (f"watch:{OUTAGE_EVENT}", Outcome.RESOLVED),
    ]
    assert found[0].at.astimezone(LONDON).date() == OUTAGE_DAY
    assert [name for name, _ in source.calls] == ["event_names", "hourly_counts"]


def test_a_backtest_of_one_rule_replays_only_that_rule(sample_counts) -> None:
    """A threshold rule on hourly receipts fires on the outage; the watch is left out."""
    alerts = parse_alerts(
        {
            "alert": [
                {
                    "name": "receipts-stop",
                    "metric": "receipts_uploaded",
                    "when": "below",
                    "value": 1,
                    "min_volume": 3,
                    "quiet_hours": "22-08",
                }
            ]
        },
        METRICS,
    )
    ctx = AlertContext(alerts, METRICS, LONDON, "Acme", render_alert, render_resolved)
    now = local(OUTAGE_DAY + timedelta(days=1), 0, 15)
    found = backtest(
        ctx,
        HourlyFromEvents(sample_counts),
        now=now,
        days=30,
        rules=frozenset({"rule:receipts-stop"}),
    )
    assert {p.rule for p in found} == {"rule:receipts-stop"}
    opened = [p for p in found if p.outcome is Outcome.OPENED]
    assert any(p.at.astimezone(LONDON).date() == OUTAGE_DAY for p in opened)


def test_one_check_costs_one_hourly_query_for_every_watched_event(sample_counts) -> None:
    """The watch and the rules share one hourly_counts call (names cached by the client)."""
    source = HourlyFromEvents(sample_counts)
    run_alert_check(
        CTX, now=local(OUTAGE_DAY, 9), source=source, poster=FakeSlack(), ledger=InMemoryLedger()
    )
    [(_, (events, first, last))] = [c for c in source.calls if c[0] == "hourly_counts"]
    assert set(events) == {n for n in sample_counts if not n.startswith("$")}
    assert last == OUTAGE_DAY
    assert (last - first).days == 7 * 4 + 2
