"""Specs for the alert settings: TRACKING_WATCH, ALERTS_FILE, ALERT_SOURCE."""

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from shared.alerts.check import AlertContext, backtest, run_alert_check
from shared.alerts.rules import AlertsConfig, WatchSettings, load_alerts
from shared.delivery.ledger import InMemoryLedger
from shared.errors import ConfigError, MetricsFileError, UnknownEventsError
from shared.render.alert_message import render_alert, render_resolved
from shared.report.metrics import load_metrics
from shared.schedule.hours import days_between, hours_of_day
from shared.settings import DEFAULT_ALERTS_FILE, DEFAULT_METRICS_FILE, Settings
from tests.alerts.sample import HourlyFromEvents
from tests.fakes import FakeSlack

LONDON = ZoneInfo("Europe/London")
METRICS = load_metrics(DEFAULT_METRICS_FILE)

BASE = {
    "MIXPANEL_USERNAME": "u",
    "MIXPANEL_SECRET": "s",
    "MIXPANEL_PROJECT_ID": "1",
    "SLACK_WEBHOOK_URL": "https://example.invalid/hook",
}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", None),
        ("on", None),
        ("ALL", None),
        ("off", ()),
        ("Sign Up, Receipt Uploaded", ("Sign Up", "Receipt Uploaded")),
    ],
    ids=["default-on", "on", "all", "off", "narrowed"],
)
def test_tracking_watch_is_on_by_default_and_can_be_off_or_narrowed(raw, expected):
    """TRACKING_WATCH: on/all (every event), off, or a comma-separated list."""
    assert Settings.from_env({**BASE, "TRACKING_WATCH": raw}).tracking_watch == expected


def test_alert_defaults_and_overrides():
    """The bundled alerts file and the Query API unless told otherwise."""
    default = Settings.from_env(BASE)
    assert default.alerts_file == DEFAULT_ALERTS_FILE
    assert default.alert_source == "query"
    custom = Settings.from_env({**BASE, "ALERTS_FILE": "/x/a.toml", "ALERT_SOURCE": "Export"})
    assert custom.alerts_file == Path("/x/a.toml")
    assert custom.alert_source == "export"


def test_a_bad_alert_source_is_named_with_the_other_problems():
    """ALERT_SOURCE must be query or export; reported with every other problem."""
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**BASE, "ALERT_SOURCE": "jql", "TRACKING_WATCH": ","})
    assert caught.value.problems == [
        "TRACKING_WATCH must be on, off or event names separated by commas, got ','",
        "ALERT_SOURCE must be query or export, got 'jql'",
    ]


def test_alert_source_export_reads_hourly_counts_from_the_raw_export():
    """ALERT_SOURCE=export: AlertCheck's source is the export variant, else the client itself."""
    from shared.root import App, ExportHourly, hourly_source
    from shared.sources.mixpanel_client import MixpanelClient

    assert isinstance(
        hourly_source(App.from_environ({**BASE, "ALERT_SOURCE": "export"})), ExportHourly
    )
    assert isinstance(hourly_source(App.from_environ(BASE)), MixpanelClient)


# -- unknown files and events are errors with did-you-mean, never "watch nothing"

TODAY = date(2026, 7, 15)
NOW = datetime(2026, 7, 15, 12, 15, tzinfo=LONDON)
PROJECT = {
    name: {h: 20 for d in days_between(TODAY - timedelta(weeks=5), TODAY)
           for h in hours_of_day(d, LONDON)}
    for name in ("Sign Up", "Receipt Uploaded", "$mp_web_page_view")
}  # fmt: skip


def _ctx(watch: WatchSettings) -> AlertContext:
    return AlertContext(AlertsConfig(watch), METRICS, LONDON, "Acme", render_alert, render_resolved)


def test_a_missing_alerts_file_is_an_error_with_a_did_you_mean(tmp_path: Path) -> None:
    """ALERTS_FILE pointing nowhere meant no rules, without a word: now it names the file."""
    (tmp_path / "alerts.toml").write_text("", encoding="utf-8")
    path = tmp_path / "alerts.tml"
    with pytest.raises(MetricsFileError) as caught:
        load_alerts(path, METRICS)
    assert caught.value.problems == [
        f"alerts file {path} does not exist (did you mean 'alerts.toml'?)"
    ]


def test_tracking_watch_naming_an_unknown_event_is_an_error_when_the_check_runs() -> None:
    """TRACKING_WATCH=Sign Upp watched nothing; the check now names it with the closest event."""
    source = HourlyFromEvents(PROJECT)
    with pytest.raises(UnknownEventsError) as caught:
        run_alert_check(
            _ctx(WatchSettings(events=("Sign Upp", "Receipt Uploaded"))),
            now=NOW,
            source=source,
            poster=FakeSlack(),
            ledger=InMemoryLedger(),
        )
    assert caught.value.where == "TRACKING_WATCH"
    assert str(caught.value) == (
        "unknown Mixpanel event in TRACKING_WATCH: 'Sign Upp' (did you mean 'Sign Up'?)"
    )
    assert [name for name, _ in source.calls] == ["event_names"]  # nothing counted or posted


@pytest.mark.parametrize(
    ("watch", "rule", "message"),
    [
        (
            WatchSettings(),
            "watch:No Such Event",
            "unknown Mixpanel event in rule watch:<event>: 'No Such Event'",
        ),
        (
            WatchSettings(),
            "watch:Sign Upp",
            "unknown Mixpanel event in rule watch:<event>: 'Sign Upp' (did you mean 'Sign Up'?)",
        ),
        (
            WatchSettings(),
            "watch:$mp_web_page_view",
            "unknown Mixpanel event in rule watch:<event> (events the watch covers): "
            "'$mp_web_page_view'",
        ),
        (
            WatchSettings(events=()),
            "watch:Sign Up",
            "unknown Mixpanel event in rule watch:<event> (the tracking watch is off): 'Sign Up'",
        ),
    ],
    ids=["unknown", "typo", "automatic-event", "watch-off"],
)
def test_a_backtest_of_a_watch_rule_on_an_unwatched_event_is_an_error(
    watch: WatchSettings, rule: str, message: str
) -> None:
    """rule=watch:No Such Event replayed nothing and said nothing: now a clear error type."""
    with pytest.raises(UnknownEventsError) as caught:
        backtest(_ctx(watch), HourlyFromEvents(PROJECT), now=NOW, days=2, rules=frozenset({rule}))
    assert str(caught.value) == message


def test_a_backtest_of_a_watched_event_still_runs() -> None:
    """A watch rule on a watched event replays as before (no outage here: nothing posts)."""
    found = backtest(
        _ctx(WatchSettings()),
        HourlyFromEvents(PROJECT),
        now=NOW,
        days=2,
        rules=frozenset({"watch:Sign Up"}),
    )
    assert found == []


def test_the_alert_jobs_report_a_bad_setting_and_a_bad_alerts_file_together(tmp_path):
    """AlertCheck parses the alerts file with the settings: one ConfigError names both."""
    from shared.jobs.alert_check import run_alert_timer

    alerts = tmp_path / "alerts.toml"
    alerts.write_text('[[alert]]\nname = "x"\nmetric = "no_such_metric"\n', encoding="utf-8")
    environ = {**BASE, "ALERTS_FILE": str(alerts), "ALERT_SOURCE": "jql"}
    with pytest.raises(ConfigError) as caught:
        run_alert_timer(None, None, environ=environ, now=datetime(2026, 7, 15, 8, tzinfo=LONDON))
    problems = caught.value.problems
    assert "ALERT_SOURCE must be query or export, got 'jql'" in problems
    assert any(str(alerts) in problem for problem in problems)


def test_a_backtest_answers_a_bad_alerts_file_as_misconfigured_not_a_crash(tmp_path):
    """The alerts file parsed with the settings: its problem is the documented 500."""
    from shared.jobs.backtest import handle_alert_backtest

    alerts = tmp_path / "alerts.toml"
    alerts.write_text("[[alert]]\nname = \n", encoding="utf-8")
    result = handle_alert_backtest("GET", {}, environ={**BASE, "ALERTS_FILE": str(alerts)})
    assert result.status == 500
    assert result.json()["error"]["code"] == "server_misconfigured"
