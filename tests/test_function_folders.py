"""The function folders load the way the Python worker loads them (v1 model rules)."""

from __future__ import annotations

import importlib
import inspect
import json
import typing
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
FOLDERS = [
    "DailyReport",
    "WeeklyReport",
    "BiWeeklyReport",
    "MonthlyReport",
    "CustomReport",
    "AlertCheck",
    "AlertBacktest",
    "SlackCommand",
    "SlackCommandWorker",
    "DeliveryHistory",
]


def bindings(folder: str) -> dict[str, dict[str, object]]:
    data = json.loads((ROOT / folder / "function.json").read_text())
    return {b["name"]: b for b in data["bindings"]}


@pytest.mark.parametrize("folder", FOLDERS)
def test_main_takes_exactly_the_bindings_of_function_json(folder):
    """Every parameter but `context` is a binding and every in-binding a parameter."""
    module = importlib.import_module(folder)
    params = set(inspect.signature(module.main).parameters) - {"context"}
    declared = {name for name in bindings(folder) if name != "$return"}
    assert params == declared


@pytest.mark.parametrize("folder", FOLDERS)
def test_a_context_parameter_is_annotated_as_the_plain_context_class(folder):
    """The worker refuses a `context` annotation that is not the Context class (no Optional)."""
    hints = typing.get_type_hints(importlib.import_module(folder).main)
    if "context" in hints:
        assert isinstance(hints["context"], type)
        assert hints["context"].__name__ == "Context"


@pytest.mark.parametrize(
    "folder", ["DailyReport", "WeeklyReport", "BiWeeklyReport", "MonthlyReport"]
)
def test_timers_fire_every_15_minutes_in_utc_and_never_on_startup(folder):
    """The UTC schedule the 9:00-local guard relies on; runOnStartup would fire on scale-out."""
    [timer] = bindings(folder).values()
    assert timer["type"] == "timerTrigger"
    assert timer["schedule"] == "0 */15 * * * *"
    assert timer["runOnStartup"] is False
    assert timer["useMonitor"] is True


def test_custom_report_needs_a_function_key_and_answers_get_and_post():
    """authLevel function, GET and POST, the response as $return."""
    b = bindings("CustomReport")
    assert b["req"]["authLevel"] == "function"
    assert b["req"]["methods"] == ["get", "post"]
    assert b["$return"]["type"] == "http"


def test_host_json_uses_the_v4_extension_bundle():
    """host.json version 2.0 with the [4.*, 5.0.0) bundle."""
    host = json.loads((ROOT / "host.json").read_text())
    assert host["version"] == "2.0"
    assert host["extensionBundle"]["version"] == "[4.*, 5.0.0)"


def test_local_settings_hold_placeholders_only():
    """No real-looking secret in local.settings.json; storage is the emulator."""
    values = json.loads((ROOT / "local.settings.json").read_text())["Values"]
    assert values["AzureWebJobsStorage"] == "UseDevelopmentStorage=true"
    assert values["FUNCTIONS_WORKER_RUNTIME"] == "python"
    assert "PLACEHOLDER" in values["SLACK_WEBHOOK_URL"]
    assert values["MIXPANEL_SECRET"].startswith("your-")


def test_alert_check_fires_hourly_after_the_hour_and_never_on_startup():
    """Every hour at :15 UTC (closed hours settle first); no runOnStartup, monitor on."""
    [timer] = bindings("AlertCheck").values()
    assert timer["type"] == "timerTrigger"
    assert timer["schedule"] == "0 15 * * * *"
    assert timer["runOnStartup"] is False
    assert timer["useMonitor"] is True


def test_alert_backtest_needs_a_function_key_and_answers_get():
    """authLevel function, GET only, the response as $return."""
    b = bindings("AlertBacktest")
    assert b["req"]["authLevel"] == "function"
    assert b["req"]["methods"] == ["get"]
    assert b["$return"]["type"] == "http"


def test_slack_command_is_anonymous_post_with_a_queue_output_to_slack_commands():
    """Slack signs instead of a function key; the work goes to the slack-commands queue."""
    b = bindings("SlackCommand")
    assert b["req"]["authLevel"] == "anonymous"
    assert b["req"]["methods"] == ["post"]
    assert b["msg"] == {
        "type": "queue",
        "direction": "out",
        "name": "msg",
        "queueName": "slack-commands",
        "connection": "AzureWebJobsStorage",
    }
    assert b["$return"]["type"] == "http"


def test_the_worker_is_triggered_by_the_same_queue_on_the_host_storage():
    """queueTrigger on slack-commands through AzureWebJobsStorage (identity-based in Azure)."""
    [trigger] = bindings("SlackCommandWorker").values()
    assert trigger == {
        "type": "queueTrigger",
        "direction": "in",
        "name": "msg",
        "queueName": "slack-commands",
        "connection": "AzureWebJobsStorage",
    }


def test_delivery_history_needs_a_function_key_and_answers_get():
    """authLevel function, GET only, like CustomReport."""
    b = bindings("DeliveryHistory")
    assert b["req"]["authLevel"] == "function"
    assert b["req"]["methods"] == ["get"]
    assert b["$return"]["type"] == "http"
