"""The alert budget case's rules on export-derived metrics (filtered, unique, sum, formula)."""

from __future__ import annotations

import tomllib

from shared.alerts.rules import AlertsConfig, WatchSettings, parse_alerts
from shared.report.metrics import MetricsConfig, parse_metrics

DERIVED_METRICS = """
[[metric]]
key = "ios_signups"
label = "iOS signups"
events = ["Sign Up"]
where = [{ property = "platform", equals = "iOS" }]

[[metric]]
key = "uploaders"
label = "Receipt uploaders"
events = ["Receipt Uploaded"]
measure = "unique"

[[metric]]
key = "basket_total"
label = "Basket total"
events = ["Receipt Uploaded"]
measure = "sum"
property = "amount"
unit = "currency"
currency = "GBP"

[[metric]]
key = "activation"
label = "Activation rate"
formula = "users_onboarded / new_signups"
unit = "percent"
"""

DERIVED_RULES = [
    {"name": "ios-stop", "metric": "ios_signups", "when": "below", "value": 1},
    {"name": "uploaders-low", "metric": "uploaders", "when": "below", "value": 1},
    {
        "name": "basket-fall",
        "metric": "basket_total",
        "when": "change",
        "change_pct": 50,
        "granularity": "day",
    },
    {"name": "activation-low", "metric": "activation", "when": "below", "value": 20},
]


def with_derived_rules(metrics: MetricsConfig) -> tuple[MetricsConfig, AlertsConfig]:
    """The metrics plus four export-derived ones, and the watch plus a rule on each."""
    extra = parse_metrics(_merged(metrics))
    alerts = parse_alerts({"alert": DERIVED_RULES}, extra)
    return extra, AlertsConfig(WatchSettings(), alerts.rules)


def _merged(metrics: MetricsConfig) -> dict[str, object]:
    """A metrics table of `metrics`' plain totals (formula inputs) and the derived ones."""
    plain = [
        {"key": m.key, "label": m.label, "events": list(m.events), "measure": m.measure.value}
        for m in metrics.metrics
    ]
    return {"metric": plain + tomllib.loads(DERIVED_METRICS)["metric"]}
