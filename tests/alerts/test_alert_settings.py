"""Specs for the alert settings: TRACKING_WATCH, ALERTS_FILE, ALERT_SOURCE."""

from pathlib import Path

import pytest

from shared.errors import ConfigError
from shared.settings import DEFAULT_ALERTS_FILE, Settings

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
    from shared.alerts.app import ExportHourly, hourly_source
    from shared.app import App
    from shared.sources.mixpanel_client import MixpanelClient

    assert isinstance(
        hourly_source(App.from_environ({**BASE, "ALERT_SOURCE": "export"})), ExportHourly
    )
    assert isinstance(hourly_source(App.from_environ(BASE)), MixpanelClient)
