"""The JSON of what a metric kind adds: unit, filters, property, formula, breakdown, month to date.

Only the fields a metric uses appear, so a plain count's JSON is exactly what it was before.
"""

from __future__ import annotations

from typing import Any

from shared.report.generator import Change, MetricResult
from shared.report.units import COUNT


def _row(label: str, value: float | None, change: Change | None) -> dict[str, Any]:
    return {
        "label": label,
        "value": value,
        "previous": None if change is None else change.baseline,
        "verdict": None if change is None else change.verdict.value,
        "change_ratio": None if change is None or change.ratio is None else round(change.ratio, 4),
    }


def metric_kind_json(metric: MetricResult) -> dict[str, Any]:
    """The extra fields of a metric that is more than a plain count."""
    spec = metric.spec
    out: dict[str, Any] = {}
    if spec.unit != COUNT:
        out["unit"] = {
            "kind": spec.unit.kind.value,
            "currency": spec.unit.currency,
            "decimals": spec.unit.decimals,
        }
    if spec.where:
        out["where"] = [c.describe() for c in spec.where]
    if spec.value_property:
        out["property"] = spec.value_property
    if spec.formula:
        out["formula"] = spec.formula.text
    if metric.undefined:
        out["undefined_reason"] = metric.undefined
    if spec.breakdown:
        out["breakdown"] = {
            "property": spec.breakdown,
            "rows": [_row(r.label, r.value, r.change) for r in metric.breakdown],
        }
    if metric.month_to_date is not None:
        mtd = metric.month_to_date
        out["month_to_date"] = {
            "value": mtd.value,
            "previous": mtd.change.baseline,
            "previous_window": {
                "from_date": mtd.change.window.start.isoformat(),
                "to_date": mtd.change.window.end.isoformat(),
            },
            "verdict": mtd.change.verdict.value,
        }
    return out
