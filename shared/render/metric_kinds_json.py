"""The JSON of a metric kind: unit, filters, property, formula, breakdown, month to date."""

from __future__ import annotations

from typing import Any

from shared.report.generator import Change, MetricResult


def _row(label: str, value: float | None, change: Change | None) -> dict[str, Any]:
    return {
        "label": label,
        "value": value,
        "previous": None if change is None else change.baseline,
        "verdict": None if change is None else change.verdict.value,
        "change_ratio": None if change is None or change.ratio is None else round(change.ratio, 4),
    }


def metric_kind_json(metric: MetricResult) -> dict[str, Any]:
    """The fields of a metric's kind; null (or []) where the kind does not use them."""
    spec = metric.spec
    mtd = metric.month_to_date
    return {
        "unit": {
            "kind": spec.unit.kind.value,
            "currency": spec.unit.currency,
            "decimals": spec.unit.decimals,
        },
        "where": [c.describe() for c in spec.where],
        "property": spec.value_property,
        "formula": spec.formula.text if spec.formula else None,
        "undefined_reason": metric.undefined,
        "breakdown": None
        if spec.breakdown is None
        else {
            "property": spec.breakdown,
            "rows": [_row(r.label, r.value, r.change) for r in metric.breakdown],
        },
        "month_to_date": None
        if mtd is None
        else {
            "value": mtd.value,
            "previous": mtd.change.baseline,
            "previous_window": {
                "from_date": mtd.change.window.start.isoformat(),
                "to_date": mtd.change.window.end.isoformat(),
            },
            "verdict": mtd.change.verdict.value,
        },
    }
