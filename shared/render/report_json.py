"""The report as JSON: the same numbers as the Slack message, with what each was computed from."""

from __future__ import annotations

from typing import Any

from shared.render.metric_kinds_json import metric_kind_json
from shared.render.sparkline import metric_sparkline
from shared.render.wording import shown
from shared.report.generator import Change, MetricResult, Report
from shared.schedule.periods import ReportPeriod, Window


def window_json(window: Window) -> dict[str, Any]:
    """A window as JSON: from_date, to_date (inclusive) and days."""
    return {
        "from_date": window.start.isoformat(),
        "to_date": window.end.isoformat(),
        "days": window.days,
    }


def period_json(period: ReportPeriod) -> dict[str, Any]:
    """The window and the comparison windows of a period, as the report and the plan show them."""
    return {
        "window": window_json(period.current),
        "comparison_windows": [
            {"label": c.label, **window_json(c.window)} for c in period.comparisons
        ],
    }


def _change(change: Change, value: float | None) -> dict[str, Any]:
    return {
        "label": change.label,
        "window": window_json(change.window),
        "value": change.baseline,
        "change": None if value is None or change.baseline is None else value - change.baseline,
        "change_ratio": None if change.ratio is None else round(change.ratio, 4),
        "verdict": change.verdict.value,
        "good": change.good,
        "change_points": None if change.points is None else round(change.points, 4),
    }


def _metric(metric: MetricResult) -> dict[str, Any]:
    spec = metric.spec
    return {
        "key": spec.key,
        "label": spec.label,
        "measure": spec.measure.value,
        "events": list(spec.events),
        "higher_is_better": spec.higher_is_better,
        "value": metric.value,
        "available": metric.unavailable is None,
        "unavailable_reason": metric.unavailable,
        "method": metric.method,
        "comparisons": [_change(c, metric.value) for c in metric.changes],
        **metric_kind_json(metric),
        "trend": _trend(metric),
    }


def _trend(metric: MetricResult) -> dict[str, Any] | None:
    """The metric's days and charted points, and its sparkline (the same figures as drawn)."""
    trend = metric.trend
    if trend is None:
        return None
    return {
        "sparkline": metric_sparkline(metric),
        "days": [{"date": p.window.start.isoformat(), "value": p.value} for p in trend.days],
        "points": [{**window_json(p.window), "value": p.value} for p in trend.points],
        "reference": {
            "label": trend.reference_label,
            "points": [{**window_json(p.window), "value": p.value} for p in trend.reference],
        },
    }


def report_to_json(report: Report) -> dict[str, Any]:
    """A JSON-ready dict of the report (schema: openapi.yaml, `Report`)."""
    period = report.period
    return {
        "company": report.company,
        "period": period.kind.value,
        **period_json(period),
        "timezone": report.timezone,
        "data_as_of": report.fetched_at.isoformat(),
        "source": report.source,
        "mixpanel_project_url": report.project_url,
        "metrics": [_metric(m) for m in report.metrics],
        "top_events": None
        if report.top_events is None
        else [
            {"event": e.name, "count": e.count, "previous": e.baseline} for e in report.top_events
        ],
        "notable_changes": [
            {
                "event": m.name,
                "count": m.count,
                "previous": m.baseline,
                "verdict": m.verdict.value,
                "change_ratio": None if m.ratio is None else round(m.ratio, 4),
            }
            for m in report.movers
        ],
        # Names stay raw data above; these sentences are shown as they are, so they are
        # made safe to show like every rendered string (wording.shown).
        "warnings": [shown(w) for w in report.warnings],
        "insights": [shown(i) for i in report.insights],
        "notes": [shown(n) for n in report.notes],
        "unavailable": [shown(u) for u in report.unavailable],
    }
