"""Specs for configured alert rules: the alerts file, and when each kind of rule fires."""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.alerts.evaluate import Finding, evaluate, judge_rule
from shared.alerts.rules import (
    AlertsConfig,
    Condition,
    QuietHours,
    WatchSettings,
    load_alerts,
    parse_alerts,
)
from shared.errors import MetricsFileError
from shared.report.metrics import load_metrics
from shared.schedule.hours import LocalHour, days_between, hours_of_day
from shared.settings import DEFAULT_ALERTS_FILE, DEFAULT_METRICS_FILE

LONDON = ZoneInfo("Europe/London")
METRICS = load_metrics(DEFAULT_METRICS_FILE)
SPECS = {m.key: m for m in METRICS.metrics}
DAY = date(2026, 7, 15)  # a Wednesday
NOW = datetime(2026, 7, 15, 12, 15, tzinfo=LONDON).astimezone(UTC)  # 11:00 is the closed hour


def counts(sign_ups_at_11: int, usual: int = 20) -> dict[str, dict[LocalHour, int]]:
    """Sign Up: `usual` every hour for five weeks; `sign_ups_at_11` in 11:00 on 15 Jul."""
    per_hour = {
        h: usual
        for d in days_between(DAY - timedelta(weeks=5), DAY)
        for h in hours_of_day(d, LONDON)
    }
    per_hour[LocalHour(DAY, 11)] = sign_ups_at_11
    return {"Sign Up": per_hour}


def rule(**fields: object):
    entry = {"name": "r", "metric": "new_signups", **fields}
    return parse_alerts({"alert": [entry]}, METRICS).rules[0]


@pytest.mark.parametrize(
    ("fields", "value", "fires"),
    [
        ({"when": "above", "value": 30}, 31, True),
        ({"when": "above", "value": 30}, 30, False),
        ({"when": "below", "value": 5}, 4, True),
        ({"when": "below", "value": 5}, 5, False),
        ({"when": "change", "change_pct": 50, "change_abs": 5}, 31, True),
        ({"when": "change", "change_pct": 50, "change_abs": 5}, 29, False),
        ({"when": "change", "change_pct": 50, "direction": "up"}, 5, False),
        ({"when": "anomaly"}, 40, True),
        ({"when": "anomaly"}, 30, False),
        ({"when": "anomaly", "direction": "up"}, 2, False),
        ({"when": "below", "value": 5, "min_volume": 25}, 4, False),
    ],
    ids=[
        "above-fires",
        "at-threshold-is-fine",
        "below-fires",
        "at-lower-threshold-is-fine",
        "change-of-55pct-fires",
        "change-of-45pct-is-fine",
        "a-fall-is-no-rise",
        "outside-the-band-fires",
        "inside-the-poisson-floor-is-fine",
        "a-fall-is-not-an-up-anomaly",
        "under-min-volume-is-not-judged-news",
    ],
)
def test_an_hourly_rule_fires_exactly_when_its_condition_holds(fields, value, fires):
    """Threshold, change and anomaly rules on the last closed local hour."""
    result = judge_rule(rule(**fields), SPECS["new_signups"], counts(value), now=NOW, tz=LONDON)
    assert isinstance(result, Finding) is fires
    if fires:
        assert result.seen == value
        assert "Wed 15 Jul 11:00" in result.detail


def test_a_daily_rule_judges_yesterday_against_the_same_weekday():
    """granularity day: 15 Jul's total against the four Wednesdays before."""
    daily = rule(when="below", value=470, granularity="day")
    judged = judge_rule(
        daily, SPECS["new_signups"], counts(0), now=NOW + timedelta(days=1), tz=LONDON
    )
    assert isinstance(judged, Finding)
    assert judged.seen == 23 * 20
    assert judged.detail.startswith("460 in the day of Wed 15 Jul, below")


def test_quiet_hours_leave_a_rule_unjudged():
    """In quiet hours the rule is neither firing nor clear: its state waits."""
    config = AlertsConfig(
        WatchSettings(events=()), (rule(when="above", value=1, quiet_hours="22-13"),)
    )
    result = evaluate(config, SPECS, counts(50), watched=[], now=NOW, tz=LONDON)
    assert result.firing == {}
    assert result.ok == frozenset()


def test_quiet_hours_may_wrap_midnight():
    """22-07 is quiet at 23:00 and 06:00, not at 07:00."""
    quiet = QuietHours(22, 7)
    assert quiet.contains(23)
    assert quiet.contains(6)
    assert not quiet.contains(7)


def test_a_missing_hour_in_the_answer_is_unknown_never_zero():
    """If Mixpanel's answer lacks the hour, the rule is not judged."""
    data = counts(0)
    del data["Sign Up"][LocalHour(DAY, 11)]
    assert (
        judge_rule(rule(when="below", value=5), SPECS["new_signups"], data, now=NOW, tz=LONDON)
        is False
    )


def test_every_problem_in_the_alerts_file_is_reported_at_once():
    """Unknown metric, unique metric, bad condition, missing value, bad quiet hours."""
    raw = {
        "alert": [
            {"name": "a", "metric": "nope", "when": "above", "value": 1},
            {"name": "b", "metric": "active_users", "when": "above", "value": 1},
            {"name": "c", "metric": "new_signups", "when": "sideways"},
            {"name": "d", "metric": "new_signups", "when": "below"},
            {
                "name": "e",
                "metric": "new_signups",
                "when": "above",
                "value": 1,
                "quiet_hours": "late",
            },
            {"name": "e", "metric": "new_signups", "when": "above", "value": 1, "colour": "red"},
        ],
        "watch": {"alpha": 2},
    }
    with pytest.raises(MetricsFileError) as caught:
        parse_alerts(raw, METRICS, source="alerts.toml")
    problems = caught.value.problems
    assert problems == [
        "alerts.toml: [watch]: alpha must be between 0 and 1",
        "alerts.toml: alert 'a': metric 'nope' is not a key of the metrics file (one of "
        "active_users, new_signups, planetpoints_added, receipts_uploaded, users_onboarded, "
        "vouchers_redeemed)",
        "alerts.toml: alert 'b': metric 'active_users' counts every event of the project "
        "(events ['*']), which no small export can count per check; alert on named events "
        "instead",
        "alerts.toml: alert 'c': when must be one of above, below, change, anomaly, got 'sideways'",
        "alerts.toml: alert 'd': when = below needs a value",
        "alerts.toml: alert 'e': quiet_hours must look like \"22-07\" (local hours), got 'late'",
        "alerts.toml: alert 6 repeats name 'e'",
        "alerts.toml: alert 6 has unknown fields ['colour']",
    ]


def test_the_bundled_alerts_file_is_valid_and_the_watch_is_on(tmp_path: Path):
    """shared/alerts.toml parses; an empty file means the watch alone, on by default (a
    missing one is an error: tests/alerts/test_alert_settings.py)."""
    bundled = load_alerts(DEFAULT_ALERTS_FILE, METRICS)
    assert bundled.watch.enabled
    (tmp_path / "empty.toml").write_text("", encoding="utf-8")
    empty = load_alerts(tmp_path / "empty.toml", METRICS)
    assert empty.rules == ()
    assert empty.watch == WatchSettings()
    with pytest.raises(MetricsFileError):
        load_alerts(tmp_path / "none.toml", METRICS)
    off = load_alerts(DEFAULT_ALERTS_FILE, METRICS, watch_events=())
    assert not off.watch.enabled
    assert Condition("anomaly") is Condition.ANOMALY


# -- numbers that are not numbers, names that hide characters


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("value", float("nan")),
        ("value", float("inf")),
        ("change_pct", float("inf")),
        ("sensitivity", float("nan")),
        ("min_interval_hours", float("inf")),
        ("min_volume", 10**20),
    ],
    ids=["value-nan", "value-inf", "change-inf", "sensitivity-nan", "interval-inf", "volume-huge"],
)
def test_a_rule_number_is_finite_and_in_range(field: str, value: float) -> None:
    """value = nan never fires and inf never resolves: refused, naming the file, rule and key."""
    entry = {"name": "r", "metric": "new_signups", "when": "above", "value": 5, field: value}
    with pytest.raises(MetricsFileError) as caught:
        parse_alerts({"alert": [entry]}, METRICS, source="a.toml")
    assert caught.value.problems == [
        f"a.toml: alert 'r': {field} must be a finite number from 0 to 1,000,000,000,000"
    ]


@pytest.mark.parametrize(
    ("field", "value"),
    [("drop_ratio", float("nan")), ("alpha", float("inf")), ("steady_min_daily", float("nan"))],
    ids=["drop-nan", "alpha-inf", "steady-nan"],
)
def test_a_watch_number_is_finite(field: str, value: float) -> None:
    """[watch] tuning refuses nan and inf the same way."""
    with pytest.raises(MetricsFileError) as caught:
        parse_alerts({"watch": {field: value}}, METRICS, source="a.toml")
    assert caught.value.problems == [
        f"a.toml: [watch]: {field} must be a finite number from 0 to 1,000,000,000,000"
    ]


@pytest.mark.parametrize("hours", ["²²-07", "\u0662\u0662-07", "22-\u0660\u0667"], ids=repr)
def test_quiet_hours_are_ascii_digits(hours: str) -> None:
    """'²'.isdigit() is True and int('²') fails: a named problem, never a traceback."""
    with pytest.raises(MetricsFileError) as caught:
        rule(when="above", value=1, quiet_hours=hours)
    assert caught.value.problems == [
        f"alerts file: alert 'r': quiet_hours must look like \"22-07\" (local hours), got {hours!r}"
    ]


def test_a_rule_name_hiding_a_format_character_is_refused() -> None:
    """An [[alert]] name with U+202E would post a reversed title: refused by name."""
    entry = {"name": "drop\u202e", "metric": "new_signups", "when": "above", "value": 5}
    with pytest.raises(MetricsFileError) as caught:
        parse_alerts({"alert": [entry]}, METRICS, source="a.toml")
    assert caught.value.problems == [
        "a.toml: alert 1 name contains an invisible Unicode format character "
        "(U+202E RIGHT-TO-LEFT OVERRIDE)"
    ]


VALID_ALERTS = """
[watch]
weeks = 4
alpha = 1e-7

[[alert]]
name = "signups-low"
metric = "new_signups"
when = "below"
value = 5
quiet_hours = "22-07"

[[alert]]
name = "signups-change"
metric = "new_signups"
when = "change"
change_pct = 50
granularity = "day"

[[alert]]
name = "receipts-anomaly"
metric = "receipts_uploaded"
when = "anomaly"
weeks = 3
direction = "down"
"""
_ANY = st.recursive(
    st.text(max_size=10)
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats()
    | st.booleans()
    | st.dates(),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=5,
)


@settings(max_examples=300, deadline=None)
@given(
    section=st.sampled_from(["watch", "alert"]),
    index=st.integers(min_value=0, max_value=2),
    field=st.sampled_from(
        ["name", "metric", "when", "value", "weeks", "quiet_hours", "alpha", "x"]
    ),
    value=_ANY,
)
def test_a_mutated_alerts_file_is_a_metrics_file_error_never_a_traceback(
    section: str, index: int, field: str, value: object
) -> None:
    """Any value in a rule or in [watch] replaced: the file loads or MetricsFileError says why."""
    raw = tomllib.loads(VALID_ALERTS)
    if section == "watch":
        raw["watch"] = {**raw.get("watch", {}), field: value}
    else:
        raw["alert"][index % len(raw["alert"])][field] = value
    problems = ["parsed"]
    try:
        parse_alerts(raw, METRICS)
    except MetricsFileError as exc:
        problems = exc.problems
    assert problems
