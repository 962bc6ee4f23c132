"""Slack's native charts (data_visualization blocks) of a Report, within every rule; pure.

Rules (docs.slack.dev data-visualization-block, checked against the official SDK branches and
Slack's changelog): at most 2 per message; 1-6 series; 1-20 points per series with exactly one
point per category, in the categories' order; series names, point labels and categories at most
20 characters; title at most 50; axis labels at most 50; values are numbers. The charts plot the
report's own figures (MetricResult.trend, top events): nothing here counts anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shared.render.wording import shown
from shared.report.generator import MetricResult, Report
from shared.report.trends import MAX_POINTS, Trend
from shared.schedule.periods import Window

CHART_BLOCK_TYPE = "data_visualization"
CHART_TYPES = frozenset({"line", "bar", "area", "pie"})
MAX_CHARTS_PER_MESSAGE = 2
MIN_SERIES = 1
MAX_SERIES = 6  # the older docs and every official SDK say 6; later copies say 12: 6 fits both
MIN_POINTS_PER_SERIES = 1
MAX_POINTS_PER_SERIES = MAX_POINTS  # 20, the same constant the report splits long windows by
MAX_LABEL_CHARS = 20  # series name, point label, category
MAX_TITLE_CHARS = 50
MAX_AXIS_LABEL_CHARS = 50
MAX_BLOCK_ID_CHARS = 255
TREND_METRICS = MAX_SERIES // 2  # each metric is two series: the window and the reference
# One y-axis: a metric joins the first one's chart only within this factor of its peak, so a
# small metric is not drawn as a flat line along the floor (it keeps its sparkline).
TREND_SCALE = 5
REFERENCE_SUFFIX = " (prev)"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    """One line, & < > escaped as everywhere in the message, at most `limit` characters
    counting the escapes, ending in '…' when cut (never inside an entity)."""
    line = " ".join(shown(text).split())
    if len(_escape(line)) <= limit:
        return _escape(line)
    kept, used = [], 0
    for char in line:
        piece = _escape(char)
        if used + len(piece) > limit - 1:
            break
        kept.append(piece)
        used += len(piece)
    return "".join(kept).rstrip() + "…"


def fit_labels(texts: Sequence[str], limit: int = MAX_LABEL_CHARS) -> list[str]:
    """Each text clipped to `limit` characters and made unique ('name~2'), order kept."""
    out: list[str] = []
    taken: set[str] = set()
    for text in texts:
        label = clip(text, limit) or "?"
        n = 1
        while label in taken:
            n += 1
            tag = f"~{n}"
            room = limit - len(tag)
            cut = clip(text, room + 1)  # room characters and '…' when cut: keep the characters
            label = (cut[:-1] if cut.endswith("…") else clip(text, room)) + tag
        taken.add(label)
        out.append(label)
    return out


def span_label(window: Window) -> str:
    """'Mon 23 Nov' for a day, '16-22 Nov' or '28 Feb-06 Mar' for a span (at most 13 chars)."""
    start, end = window.start, window.end
    if start == end:
        return f"{start:%a %d %b}"
    if (start.year, start.month) == (end.year, end.month):
        return f"{start:%d}-{end:%d %b}"
    return f"{start:%d %b}-{end:%d %b}"


def _days_range(windows: Sequence[Window]) -> str:
    low, high = min(w.days for w in windows), max(w.days for w in windows)
    return f"{low}" if low == high else f"{low}-{high}"


def _series(name: str, categories: Sequence[str], values: Sequence[float]) -> dict[str, Any]:
    if len(categories) != len(values):
        raise ValueError(f"{len(values)} values for {len(categories)} categories")
    return {
        "name": name,
        "data": [{"label": c, "value": v} for c, v in zip(categories, values, strict=True)],
    }


def series_chart(
    *,
    title: str,
    kind: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    block_id: str,
    x_label: str = "",
    y_label: str = "",
) -> dict[str, Any]:
    """A line/bar/area data_visualization block; raises ValueError naming a broken rule."""
    if kind not in CHART_TYPES - {"pie"}:
        raise ValueError(f"chart type {kind!r} is not one of line, bar, area")
    if not MIN_SERIES <= len(series) <= MAX_SERIES:
        raise ValueError(f"a chart holds {MIN_SERIES} to MAX_SERIES={MAX_SERIES} series")
    if not MIN_POINTS_PER_SERIES <= len(categories) <= MAX_POINTS_PER_SERIES:
        raise ValueError(
            f"a series holds {MIN_POINTS_PER_SERIES} to "
            f"MAX_POINTS_PER_SERIES={MAX_POINTS_PER_SERIES} points, got {len(categories)}"
        )
    cats = fit_labels(categories)
    names = fit_labels([name for name, _ in series])
    axis: dict[str, Any] = {"categories": cats}
    if x_label:
        axis["x_label"] = clip(x_label, MAX_AXIS_LABEL_CHARS)
    if y_label:
        axis["y_label"] = clip(y_label, MAX_AXIS_LABEL_CHARS)
    return {
        "type": CHART_BLOCK_TYPE,
        "block_id": clip(block_id, MAX_BLOCK_ID_CHARS),
        "title": clip(title, MAX_TITLE_CHARS),
        "chart": {
            "type": kind,
            "series": [
                _series(name, cats, [int(v) for v in values])
                for name, (_, values) in zip(names, series, strict=True)
            ],
            "axis_config": axis,
        },
    }


def _charted(report: Report) -> list[tuple[MetricResult, Trend]]:
    """The metrics the trend chart draws: the first with a trend, then those of its scale."""
    with_trend = [(m, m.trend) for m in report.metrics if m.value is not None and m.trend]
    if not with_trend:
        return []

    def peak(trend: Trend) -> float:
        return max(abs(p.value) for p in (*trend.points, *trend.reference))

    first = max(peak(with_trend[0][1]), 1)
    return [
        (m, t)
        for m, t in with_trend
        if first / TREND_SCALE <= max(peak(t), 1) <= first * TREND_SCALE
    ][:TREND_METRICS]


def trend_chart(report: Report) -> dict[str, Any] | None:
    """The daily (or span) trend of the first metrics over the window against the reference."""
    metrics = _charted(report)
    if not metrics:
        return None
    first = metrics[0][1]
    windows = [p.window for p in first.points]
    series: list[tuple[str, Sequence[float]]] = []
    labels = fit_labels([m.spec.label for m, _ in metrics], MAX_LABEL_CHARS - len(REFERENCE_SUFFIX))
    for (_, trend), label in zip(metrics, labels, strict=True):
        series.append((label, [p.value for p in trend.points]))
        if trend.reference:
            series.append((label + REFERENCE_SUFFIX, [p.value for p in trend.reference]))
    versus = f" {first.reference_label}" if first.reference_label else ""
    if first.bucketed:
        refs = [p.window for p in first.reference]
        title = f"Trend by spans of {_days_range(windows)} days{versus}"
        x_label = f"{_days_range(windows)} days a point"
        if refs and _days_range(refs) != _days_range(windows):
            x_label += f" (prev {_days_range(refs)})"
        x_label += ", all days counted"
    else:
        title = f"Daily trend{versus}"
        x_label = "Day" + (" (prev: same position)" if first.reference else "")
    return series_chart(
        title=title,
        kind="line" if len(windows) > 1 else "bar",
        categories=[span_label(w) for w in windows],
        series=series,
        block_id="trend",
        x_label=x_label,
    )


def top_events_chart(report: Report) -> dict[str, Any] | None:
    """The top events as bars: the window's total beside the reference window's."""
    events = (report.top_events or ())[:MAX_POINTS_PER_SERIES]
    if not events:
        return None
    period = report.period
    series: list[tuple[str, Sequence[float]]] = [
        (span_label(period.current), [e.count for e in events])
    ]
    baselines = [e.baseline for e in events]
    versus = ""
    if period.comparisons and all(b is not None for b in baselines):
        reference = period.comparisons[0]
        series.append((span_label(reference.window), [b or 0 for b in baselines]))
        versus = f" {reference.label}"
    return series_chart(
        title=f"Top events{versus}",
        kind="bar",
        categories=[e.name for e in events],
        series=series,
        block_id="top_events",
        y_label="Events",
    )


def chart_blocks(report: Report) -> list[dict[str, Any]]:
    """At most MAX_CHARTS_PER_MESSAGE charts: the metrics' trend, then the top events."""
    charts = [c for c in (trend_chart(report), top_events_chart(report)) if c is not None]
    return charts[:MAX_CHARTS_PER_MESSAGE]


def is_chart(block: Mapping[str, Any]) -> bool:
    """True for a data_visualization block."""
    return block.get("type") == CHART_BLOCK_TYPE


def chart_summary(block: Mapping[str, Any]) -> str:
    """A chart as one line of its numbers: 'Title: A 1, 2, 3; B 4, 5, 6' (plain, unescaped)."""
    chart = block.get("chart", {})
    parts = []
    for series in chart.get("series", []):
        values = ", ".join(f"{point['value']:,}" for point in series.get("data", []))
        parts.append(f"{series.get('name', '')} {values}")
    return f"{block.get('title', 'Chart')}: " + "; ".join(parts)
