"""A small real Report for the worker's specs (the real builder, fixed figures)."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.report.facts import Facts, UniqueCounts
from shared.report.generator import Report, build_report
from shared.report.metrics import load_metrics
from shared.schedule.periods import ReportPeriod
from shared.settings import DEFAULT_METRICS_FILE


def tiny_report(period: ReportPeriod) -> Report:
    """Every configured metric counted from 10 events a day (the same every day)."""
    config = load_metrics(DEFAULT_METRICS_FILE)
    days = list(period.span.dates())
    counts = {e: dict.fromkeys(days, 10) for e in config.named_events}
    uniques = UniqueCounts(
        users={w: {"active_users": 5} for w in period.windows}, seen_events=frozenset(), lines=0
    )
    facts = Facts(
        counts=counts,
        uniques=uniques,
        event_names=frozenset(config.named_events),
        fetched_at=datetime(2026, 11, 25, 9, tzinfo=UTC),
    )
    return build_report(
        config,
        period,
        facts,
        company="Acme",
        timezone="Europe/London",
        project_url="https://eu.mixpanel.com/project/1",
    )
