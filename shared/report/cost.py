"""What a report costs in Mixpanel requests, stated before it runs (the dry-run plan); pure.

The same rules as sources.gathering.plan_query: /events/names (cached per host for an hour),
one /events call per ~6,000 characters of event names (one in practice), and one raw export
when a metric needs it (unique users, filters, sums, averages, breakdowns, month to date) or
when the names list cannot vouch for every event of an older window. The /events totals size
the export, so no cadence needs a sizing probe: at most 3 requests for every report, cold.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from shared.report.metrics import Measure, MetricsConfig
from shared.schedule.periods import ReportPeriod

NAMES_WINDOW_DAYS = 31  # as shared/pipeline.py: /events/names answers for the last 31 days


def request_cost(config: MetricsConfig, period: ReportPeriod, *, today: date) -> dict[str, Any]:
    """{'query_api': n, 'export_api': n, 'total': n, 'why': [...]} for one run of the report."""
    span = period.span
    names_cover_span = span.start >= today - timedelta(days=NAMES_WINDOW_DAYS - 2)
    uniques = [m.key for m in config.computed if m.measure is Measure.UNIQUE and not m.from_export]
    exported = [m.key for m in config.computed if m.from_export]
    why = ["/events/names: the project's event names (at most 1; cached per host for an hour)"]
    why.append("/events: every event's daily totals over the windows, in one call")
    export = 0
    if uniques or exported:
        export = 1
        why.append(
            "/export: one raw stream for unique users, filters, sums, averages, breakdowns and "
            f"month to date ({', '.join(uniques + exported)})"
        )
    elif not names_cover_span:
        export = 1
        why.append(
            "/export: the names list covers 31 days; an older window needs the stream, which "
            "also counts the events only it reveals"
        )
    if export:
        why.append(
            "a project over 500,000 events in the span splits the stream into up to 8 day "
            "ranges (one request each), sized by the /events totals; over EXPORT_MAX_EVENTS it "
            "is not streamed at all"
        )
    return {"query_api": 2, "export_api": export, "total": 2 + export, "why": why}
