"""Sparklines: a metric's daily values as ▁▂▃▄▅▆▇█, the one place every renderer draws them."""

from __future__ import annotations

from collections.abc import Sequence

from shared.report.generator import MetricResult

BARS = "▁▂▃▄▅▆▇█"
MAX_SPARK_CHARS = 31  # a month of days; a longer window shows its charted spans instead


def sparkline(values: Sequence[float]) -> str:
    """One bar per value, lowest ▁ to highest █ (min to max); '' if empty.

    A flat run is all ▄, or all ▁ when every value is 0 (nothing happened reads as the floor).
    """
    if not values:
        return ""
    low, high = min(values), max(values)
    if low == high:
        return (BARS[0] if high == 0 else BARS[3]) * len(values)
    top = len(BARS) - 1
    return "".join(BARS[round((v - low) * top / (high - low))] for v in values)


def spark_values(metric: MetricResult) -> tuple[float, ...]:
    """The values a metric's sparkline draws: its days, or its charted spans past a month."""
    trend = metric.trend
    if trend is None or metric.value is None:
        return ()
    if len(trend.days) <= MAX_SPARK_CHARS:
        return tuple(p.value for p in trend.days)
    return tuple(p.value for p in trend.points)


def metric_sparkline(metric: MetricResult) -> str:
    """The metric's sparkline, or '' when it has fewer than two days to draw or no trend."""
    values = spark_values(metric)
    return sparkline(values) if len(values) >= 2 else ""
