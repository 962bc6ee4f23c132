"""Spec of `make backtest` on the bundled sample project."""

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from devtools.backtest import main
from devtools.mixpanel_standin import DEMO_PROJECT_ID, DEMO_SECRET, DEMO_USERNAME, MixpanelStandIn
from devtools.sample_data import SAMPLE_TIMEZONE, sample_project
from shared.sources.mixpanel_client import PROCESS_NAMES_CACHE


def test_the_sample_backtest_shows_the_outage_alert_and_its_resolution(
    capsys, monkeypatch, tmp_path
):
    """Over the 5 days before 17 Jul: the Receipt Uploaded alert on 15 Jul, then resolved."""
    monkeypatch.chdir(tmp_path)  # no .env: the bundled sample
    assert main(["--sample", "--days", "5"]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if "ALERT" in line or "RESOLVED" in line]
    assert len(lines) == 2
    assert lines[0].startswith("Wed 15 Jul 2026 ")
    assert "ALERT     Alert: Receipt Uploaded: no events since Wed 15 Jul 10:00" in lines[0]
    assert "RESOLVED  Resolved: Receipt Uploaded" in lines[1]
    assert "Mixpanel requests: 2;" in out


def test_an_unknown_rule_is_refused_with_the_known_names(capsys, monkeypatch, tmp_path):
    """--rule must name a rule of the alerts file (or watch:<event>)."""
    monkeypatch.chdir(tmp_path)
    assert main(["--sample", "--days", "2", "--rule", "nope"]) == 2
    assert "unknown rule ['nope']" in capsys.readouterr().out


SAMPLE_REPORTS = Path(__file__).parents[2] / "devtools" / "sample_reports.toml"


@pytest.fixture
def real_project(tmp_path, monkeypatch):
    """A .env holding only the Mixpanel settings of a loopback project (a stand-in) and a
    metrics file whose [[report]]s name Slack destinations and email recipients."""
    monkeypatch.chdir(tmp_path)
    PROCESS_NAMES_CACHE.clear()
    for name in ("MIXPANEL_USERNAME", "MIXPANEL_SECRET", "MIXPANEL_PROJECT_ID",
                 "SLACK_WEBHOOK_URL", "METRICS_FILE", "ALERTS_FILE", "TRACKING_WATCH"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    today = datetime.now(ZoneInfo(SAMPLE_TIMEZONE)).date()
    standin = MixpanelStandIn(
        sample_project(end=today, days=40, users=300),
        username=DEMO_USERNAME,
        secret=DEMO_SECRET,
        project_id=DEMO_PROJECT_ID,
        timezone=SAMPLE_TIMEZONE,
    )
    origin = standin.start()
    settings = {
        "MIXPANEL_USERNAME": DEMO_USERNAME,
        "MIXPANEL_SECRET": DEMO_SECRET,
        "MIXPANEL_PROJECT_ID": DEMO_PROJECT_ID,
        "MIXPANEL_API_URL": origin,
        "TIMEZONE": SAMPLE_TIMEZONE,
        "METRICS_FILE": str(SAMPLE_REPORTS),
    }
    (tmp_path / ".env").write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
    yield tmp_path
    standin.stop()


def test_a_backtest_needs_only_the_mixpanel_settings(real_project, capsys):
    """No SLACK_WEBHOOK_URL, no report destinations, no SMTP: nothing is posted, nothing asked."""
    assert main(["--days", "1"]) == 0
    captured = capsys.readouterr()
    assert "Backtesting against the real Mixpanel project from .env" in captured.out
    assert "over the last 1 days" in captured.out
    assert captured.err == ""


def test_a_backtest_with_half_real_settings_names_what_is_missing(real_project, capsys):
    """Some real Mixpanel settings but not all: an error, never the bundled sample instead."""
    env = (real_project / ".env").read_text().replace("MIXPANEL_SECRET=", "UNUSED_SECRET=")
    (real_project / ".env").write_text(env)
    assert main(["--days", "1"]) == 1
    err = capsys.readouterr().err
    assert "MIXPANEL_SECRET missing" in err
    assert DEMO_SECRET not in err


def test_a_backtest_of_a_watch_rule_on_an_unknown_event_is_refused(capsys, monkeypatch, tmp_path):
    """--rule "watch:No Such Event" replayed nothing: now a did-you-mean error, exit 2."""
    monkeypatch.chdir(tmp_path)
    assert main(["--sample", "--days", "1", "--rule", "watch:Receipt Uploadd"]) == 2
    assert capsys.readouterr().err == (
        "error: unknown Mixpanel event in rule watch:<event>: 'Receipt Uploadd' "
        "(did you mean 'Receipt Uploaded', 'Receipt Failed'?)\n"
    )


def test_a_missing_alerts_file_is_refused_with_a_did_you_mean(capsys, monkeypatch, tmp_path):
    """--alerts-file pointing nowhere meant "no rules"; now it is named."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "alerts.toml").write_text("")
    assert main(["--sample", "--days", "1", "--alerts-file", "alerts.tml"]) == 1
    assert capsys.readouterr().err == (
        "error: invalid settings: alerts file alerts.tml does not exist "
        "(did you mean 'alerts.toml'?)\n"
    )
