"""Bench case: a morning of several reports with every metric kind, against the hourly budget."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from devtools.mixpanel_standin import MixpanelStandIn
from devtools.sample_data import SAMPLE_TIMEZONE, sample_project
from shared.pipeline import ReportContext, produce_report
from shared.report.cost import request_cost
from shared.report.metrics import Measure, MetricsConfig, parse_metrics
from shared.schedule.periods import PeriodKind, report_period

HOURLY_LIMIT = 60  # per project, for the Query API and for the Export API alike


def morning_config() -> MetricsConfig:
    """25 metrics (filters, sums, an average, a formula, a breakdown) in 3 reports."""
    metrics: list[dict[str, Any]] = [
        {"key": "active", "label": "Active users", "events": ["*"], "measure": "unique"},
        {"key": "signups", "label": "Signups", "events": ["Sign Up"], "month_to_date": True},
        {"key": "onboarded", "label": "Onboarded", "events": ["User Onboarded"]},
        {"key": "rate", "label": "Onboarding rate", "formula": "onboarded / signups",
         "unit": "percent"},
        {"key": "by_country", "label": "Signups by country", "events": ["Sign Up"],
         "breakdown": "country", "top": 5},
        {"key": "basket", "label": "Basket value", "events": ["Receipt Uploaded"],
         "measure": "sum", "property": "amount", "unit": "currency", "currency": "GBP"},
        {"key": "avg_basket", "label": "Average basket", "events": ["Receipt Uploaded"],
         "measure": "average", "property": "amount", "unit": "currency", "currency": "GBP"},
        {"key": "points", "label": "PlanetPoints", "events": ["PlanetPoints Added"],
         "measure": "sum", "property": "points"},
    ]  # fmt: skip
    for platform in ("iOS", "Android", "Web"):
        for event in ("Sign Up", "Receipt Uploaded", "App Opened"):
            metrics.append(
                {
                    "key": f"{event.split()[0].lower()}_{platform.lower()}",
                    "label": f"{event} on {platform}",
                    "events": [event],
                    "where": [{"property": "platform", "equals": platform}],
                }
            )
    for country in ("GB", "IE", "US", "DE", "FR", "NL", "DK", "SE"):
        if len(metrics) >= 25:
            break
        metrics.append(
            {
                "key": f"signups_{country.lower()}",
                "label": f"Signups in {country}",
                "events": ["Sign Up"],
                "where": [{"property": "country", "equals": country}],
            }
        )
    keys = [m["key"] for m in metrics]
    reports = [
        {"name": "growth", "cadence": "daily", "metrics": keys[:12], "destination": "A"},
        {"name": "exec", "cadence": "weekly", "metrics": keys[:8], "destination": "B"},
        {"name": "product", "cadence": "daily", "metrics": keys[8:], "destination": "C"},
    ]
    return parse_metrics({"metric": metrics, "report": reports}, source="bench")


def bench_reports_budget(client: Any, names_cache: Any) -> None:
    """3 reports at 9:00 plus 20 ad-hoc requests, one warm host: requests per API vs 60/hour."""
    zone = ZoneInfo(SAMPLE_TIMEZONE)
    today = datetime.now(UTC).astimezone(zone).date()
    events = sample_project(end=today - timedelta(days=1), days=35, users=300)
    config = morning_config()
    cache = names_cache()
    runs: list[tuple[str, PeriodKind]] = [(r.name, r.cadence) for r in config.reports]
    runs += [(config.reports[i % 3].name, config.reports[i % 3].cadence) for i in range(20)]
    stated = 0
    with MixpanelStandIn(events, username="bench", secret="bench-secret", project_id="1") as s:
        for name, kind in runs:
            ctx = ReportContext(config.report(name), "Bench", zone, "https://x", title=name)
            period = report_period(kind, today)
            stated += request_cost(ctx.config, period, today=today)["total"]
            produce_report(period, ctx, mixpanel=client(s.origin, cache), now=datetime.now(UTC))
        query = sum(1 for r in s.requests if r.path.startswith("/api/query"))
        export = sum(1 for r in s.requests if r.path.startswith("/api/2.0/export"))
    metrics = len(config.metrics)
    kinds = sorted({m.measure.value for m in config.metrics} | {"filter", "breakdown"})
    # The obvious design: one segmentation query per filtered/summed/broken-down metric and window.
    naive = sum(
        len(report_period(kind, today).windows)
        * sum(1 for m in config.report(name).metrics if m.measure is not Measure.FORMULA)
        for name, kind in runs
    )
    print(f"\n## A morning: 3 reports, {metrics} metrics ({', '.join(kinds)}) + 20 ad-hoc")
    print(
        f"Query API {query}/{HOURLY_LIMIT}, Export API {export}/{HOURLY_LIMIT} "
        f"(dry-run plans stated {stated}, before the names cache); one query per metric and "
        f"window would take {naive} Query API calls (ratio x{query / naive:.2f})"
    )
