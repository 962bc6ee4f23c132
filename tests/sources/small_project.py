"""A small project for the data-source specs: two users a day for three weeks, two metrics."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from devtools.mixpanel_standin import MixpanelStandIn
from devtools.sample_data import RawEvent
from shared.report.metrics import ANY_EVENT, Measure, MetricsConfig, MetricSpec
from shared.schedule.periods import PeriodKind, report_period

LONDON = ZoneInfo("Europe/London")
TODAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 9, tzinfo=LONDON)
WEEKLY = report_period(PeriodKind.WEEKLY, TODAY)
CONFIG = MetricsConfig(
    (
        MetricSpec("active", "Active users", ":busts:", (ANY_EVENT,), Measure.UNIQUE),
        MetricSpec("signups", "Signups", ":new:", ("Sign Up",)),
    )
)


def events() -> list[RawEvent]:
    """Two users a day for three weeks, one of them signing up, at noon London time."""
    rows = []
    for n in range(21):
        day = TODAY - timedelta(days=n + 1)
        at = int(datetime(day.year, day.month, day.day, 12, tzinfo=LONDON).timestamp())
        rows.append(RawEvent("App Opened", f"u{n % 3}", at, f"a{n}"))
        rows.append(RawEvent("Sign Up", f"new{n}", at + 60, f"s{n}"))
    return rows


def small_standin(
    *, username: str, secret: str, project_id: str, **options: Any
) -> MixpanelStandIn:
    """The Mixpanel stand-in serving `events()` on TODAY in London (not started yet)."""
    return MixpanelStandIn(
        events(),
        username=username,
        secret=secret,
        project_id=project_id,
        timezone=LONDON.key,
        today=TODAY,
        **options,
    )
