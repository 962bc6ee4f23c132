"""Spec: the dry-run plan's Mixpanel request count is what the report really spends."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from devtools.sample_data import sample_project
from shared.pipeline import ReportContext, produce_report
from shared.report.cost import request_cost
from shared.report.metrics import MetricsConfig, load_metrics
from shared.schedule.periods import PeriodKind, custom_period, report_period
from shared.settings import DEFAULT_METRICS_FILE
from tests.report.test_numbers import served

LONDON = ZoneInfo("Europe/London")
TODAY = date(2026, 11, 24)
SAMPLE = load_metrics(Path(__file__).parents[2] / "devtools" / "sample_reports.toml")
TOTALS_ONLY = load_metrics(DEFAULT_METRICS_FILE).with_events(["Sign Up", "Receipt Uploaded"])


@pytest.mark.parametrize(
    ("config", "period"),
    [
        (SAMPLE.report("growth"), report_period(PeriodKind.DAILY, TODAY)),
        (SAMPLE.report("exec"), report_period(PeriodKind.WEEKLY, TODAY)),
        (SAMPLE.report("exec-monthly"), report_period(PeriodKind.MONTHLY, TODAY)),
        (load_metrics(DEFAULT_METRICS_FILE), report_period(PeriodKind.WEEKLY, TODAY)),
        (TOTALS_ONLY, report_period(PeriodKind.WEEKLY, TODAY)),
        (TOTALS_ONLY, custom_period(date(2026, 9, 1), date(2026, 9, 7))),
    ],
    ids=["growth", "exec", "exec-monthly", "default", "totals-only", "totals-old-window"],
)
def test_the_stated_cost_is_the_number_of_requests_made(config: MetricsConfig, period) -> None:
    """Query API and Export API requests, counted at the stand-in."""
    events = sample_project(end=TODAY - timedelta(days=1), days=100, users=200)
    stated = request_cost(config, period, today=TODAY)
    with served(events, LONDON, TODAY) as (stand, client):
        produce_report(
            period,
            ReportContext(config, "Acme", LONDON, "https://x"),
            mixpanel=client,
            now=datetime.combine(TODAY, time(9), LONDON),
        )
    query = sum(1 for r in stand.requests if r.path.startswith("/api/query"))
    export = sum(1 for r in stand.requests if r.path.startswith("/api/2.0/export"))
    assert (stated["query_api"], stated["export_api"]) == (query, export)
    assert stated["total"] == query + export


@pytest.mark.parametrize("cadence", [k for k in PeriodKind if k is not PeriodKind.CUSTOM])
@pytest.mark.parametrize("days_later", [0, 6, 13], ids=["on-24-nov", "on-30-nov", "on-7-dec"])
def test_every_cadence_costs_at_most_3_requests_on_a_cold_instance(
    cadence: PeriodKind, days_later: int
) -> None:
    """The README's promise, per cadence and whatever the day: /events/names, /events and one
    /export, even when the span reaches past the names list's 31 days (biweekly, monthly):
    the /events totals size the export, so no probe request is needed."""
    today = TODAY + timedelta(days=days_later)
    config = SAMPLE.report("exec")  # unique users, filters, sums, a breakdown, month to date
    period = report_period(cadence, today)
    events = sample_project(end=today - timedelta(days=1), days=100, users=200)
    with served(events, LONDON, today) as (stand, client):
        produce_report(
            period,
            ReportContext(config, "Acme", LONDON, "https://x"),
            mixpanel=client,
            now=datetime.combine(today, time(9), LONDON),
        )
    made = len(stand.requests)
    assert made <= 3
    assert request_cost(config, period, today=today)["total"] == made
