"""Spec of the native charts: every data_visualization rule held, the report's own figures."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from devtools.slack_standin import explain_slack_rejection
from shared.render.charts import (
    MAX_CHARTS_PER_MESSAGE,
    MAX_LABEL_CHARS,
    MAX_POINTS_PER_SERIES,
    MAX_SERIES,
    MAX_TITLE_CHARS,
    chart_blocks,
    chart_summary,
    clip,
    fit_labels,
    series_chart,
    span_label,
    top_events_chart,
    trend_chart,
)
from shared.render.slack import render_message
from shared.report.facts import Facts, Unavailable, UniqueCounts
from shared.report.generator import Report, build_report
from shared.report.metrics import Measure, MetricsConfig, MetricSpec
from shared.schedule.periods import PeriodKind, ReportPeriod, Window, custom_period, report_period

FETCHED = datetime(2026, 12, 1, 9, tzinfo=UTC)
SIGNUPS = MetricSpec("signups", "New signups", ":new:", ("Sign Up",))
RECEIPTS = MetricSpec("receipts", "Receipts uploaded", ":receipt:", ("Receipt Uploaded",))
TINY = MetricSpec("vouchers", "Vouchers", ":gift:", ("Voucher Redeemed",))


def counted_report(period: ReportPeriod, names: tuple[str, ...] = ()) -> Report:
    """A report whose counts vary by day: Sign Up ~100/day, Receipt Uploaded ~80, Voucher ~2."""
    span = period.span
    counts = {
        "Sign Up": {d: 100 + d.toordinal() % 9 for d in span.dates()},
        "Receipt Uploaded": {d: 80 + d.toordinal() % 5 for d in span.dates()},
        "Voucher Redeemed": {d: d.toordinal() % 3 for d in span.dates()},
        **{n: dict.fromkeys(span.dates(), 10 + i) for i, n in enumerate(names)},
    }
    facts = Facts(counts, UniqueCounts({}, frozenset(), 0), frozenset(counts), FETCHED)
    return build_report(
        MetricsConfig((SIGNUPS, RECEIPTS, TINY)),
        period,
        facts,
        company="Acme",
        timezone="Europe/London",
        project_url="https://eu.mixpanel.com/project/1",
    )


def values(block: dict[str, Any]) -> list[list[int]]:
    return [[p["value"] for p in s["data"]] for s in block["chart"]["series"]]


PERIODS = {
    "daily": report_period(PeriodKind.DAILY, date(2026, 11, 24)),
    "weekly": report_period(PeriodKind.WEEKLY, date(2026, 11, 23)),
    "biweekly": report_period(PeriodKind.BIWEEKLY, date(2026, 11, 23)),
    "monthly": report_period(PeriodKind.MONTHLY, date(2026, 12, 2)),
    "monthly-february": report_period(PeriodKind.MONTHLY, date(2026, 3, 2)),
    "custom-90-days": custom_period(date(2026, 1, 1), date(2026, 3, 31)),
    "custom-year": custom_period(date(2025, 1, 1), date(2025, 12, 31)),
}


@pytest.mark.parametrize("period", list(PERIODS.values()), ids=list(PERIODS))
def test_every_kind_of_report_carries_two_charts_the_strict_stand_in_accepts(
    period: ReportPeriod,
) -> None:
    """Trend and top events, each within every rule, plotting the report's own figures."""
    report = counted_report(period)
    payload = render_message(report).payload()
    charts = [b for b in payload["blocks"] if b["type"] == "data_visualization"]
    assert explain_slack_rejection(payload) is None
    assert [c["block_id"] for c in charts] == ["trend", "top_events"]
    trend, top = charts
    signups, receipts = report.metrics[0].trend, report.metrics[1].trend
    assert signups is not None
    assert receipts is not None
    assert values(trend) == [
        [p.value for p in signups.points],
        [p.value for p in signups.reference],
        [p.value for p in receipts.points],
        [p.value for p in receipts.reference],
    ]
    assert values(top) == [
        [e.count for e in report.top_events or ()],
        [e.baseline for e in report.top_events or ()],
    ]
    categories = trend["chart"]["axis_config"]["categories"]
    assert categories == [span_label(p.window) for p in signups.points]
    assert 1 <= len(categories) <= MAX_POINTS_PER_SERIES


def test_a_month_is_charted_by_spans_and_the_chart_says_so() -> None:
    """November (30 days) vs October (31): five spans each, every day counted, lengths named."""
    report = counted_report(PERIODS["monthly"])
    block = trend_chart(report)
    assert block is not None
    assert block["title"] == "Trend by spans of 6 days vs previous month"
    assert block["chart"]["axis_config"] == {
        "categories": ["01-06 Nov", "07-12 Nov", "13-18 Nov", "19-24 Nov", "25-30 Nov"],
        "x_label": "6 days a point (prev 6-7), all days counted",
    }


def test_a_week_is_charted_day_by_day_exactly() -> None:
    """The golden trend block of a weekly report with one metric of its scale."""
    period = report_period(PeriodKind.WEEKLY, date(2026, 11, 23))
    report = counted_report(period)
    block = trend_chart(report)
    assert block is not None
    assert block["title"] == "Daily trend vs previous week"
    assert block["chart"]["type"] == "line"
    assert block["chart"]["axis_config"]["x_label"] == "Day (prev: same position)"
    assert [s["name"] for s in block["chart"]["series"]] == [
        "New signups",
        "New signups (prev)",
        "Receipts upl…",
        "Receipts upl… (prev)",
    ]
    first = date(2026, 11, 16)
    assert block["chart"]["series"][0]["data"][0] == {
        "label": "Mon 16 Nov",
        "value": 100 + first.toordinal() % 9,
    }


def test_a_small_metric_is_left_out_of_a_big_ones_chart() -> None:
    """One y-axis: Vouchers (~2 a day) beside Sign Ups (~100) would be a flat line; it keeps
    its sparkline instead."""
    block = trend_chart(counted_report(PERIODS["weekly"]))
    assert block is not None
    assert all("Vouchers" not in s["name"] for s in block["chart"]["series"])


def test_a_one_day_report_draws_bars_of_one_point() -> None:
    """Daily: yesterday against the same weekday a week before, one category."""
    block = trend_chart(counted_report(PERIODS["daily"]))
    assert block is not None
    assert block["chart"]["type"] == "bar"
    assert block["title"] == "Daily trend vs previous Monday"
    assert block["chart"]["axis_config"]["categories"] == ["Mon 23 Nov"]


def test_no_chart_without_figures() -> None:
    """Unavailable counts: no trend, no top events, so no chart at all (never zeros)."""
    period = PERIODS["weekly"]
    facts = Facts(Unavailable("down"), UniqueCounts({}, frozenset(), 0), frozenset(), FETCHED)
    report = build_report(
        MetricsConfig((SIGNUPS,)), period, facts, company="", timezone="UTC", project_url=""
    )
    assert chart_blocks(report) == []
    assert top_events_chart(report) is None


@pytest.mark.parametrize(
    ("series", "ok"),
    [(MAX_SERIES, True), (MAX_SERIES + 1, False)],
    ids=["6-series", "7-series"],
)
def test_series_limit_boundary(series: int, ok: bool) -> None:
    """At most MAX_SERIES series: the seventh is refused by name."""

    def build() -> dict[str, Any]:
        return series_chart(
            title="t",
            kind="line",
            categories=["a"],
            series=[(f"s{i}", [i]) for i in range(series)],
            block_id="b",
        )

    if ok:
        assert explain_slack_rejection({"text": "x", "blocks": [build()]}) is None
    else:
        with pytest.raises(ValueError, match="MAX_SERIES=6"):
            build()


@pytest.mark.parametrize(
    ("points", "ok"),
    [(1, True), (MAX_POINTS_PER_SERIES, True), (MAX_POINTS_PER_SERIES + 1, False), (0, False)],
    ids=["1-point", "20-points", "21-points", "0-points"],
)
def test_points_limit_boundary(points: int, ok: bool) -> None:
    """1 to 20 points per series, one per category."""

    def build() -> dict[str, Any]:
        return series_chart(
            title="t",
            kind="bar",
            categories=[f"c{i}" for i in range(points)],
            series=[("s", list(range(points)))],
            block_id="b",
        )

    if ok:
        assert explain_slack_rejection({"text": "x", "blocks": [build()]}) is None
    else:
        with pytest.raises(ValueError, match="MAX_POINTS_PER_SERIES=20"):
            build()


@pytest.mark.parametrize(
    ("text", "limit", "clipped"),
    [
        ("x" * 20, MAX_LABEL_CHARS, "x" * 20),
        ("x" * 21, MAX_LABEL_CHARS, "x" * 19 + "…"),
        ("t" * 50, MAX_TITLE_CHARS, "t" * 50),
        ("t" * 51, MAX_TITLE_CHARS, "t" * 49 + "…"),
        ("a<b", 20, "a&lt;b"),
        ("<<<<<<", 20, "&lt;&lt;&lt;&lt;…"),
        ("line\nbreak", 20, "line break"),
    ],
    ids=[
        "label-20",
        "label-21",
        "title-50",
        "title-51",
        "escaped",
        "never-split-entity",
        "newline",
    ],
)
def test_clip_boundary_pairs(text: str, limit: int, clipped: str) -> None:
    """Labels 20, titles 50: kept when they fit, cut with '…' when not, escapes counted."""
    assert clip(text, limit) == clipped
    assert len(clip(text, limit)) <= limit


def test_labels_that_clip_alike_stay_unique() -> None:
    """Series names and categories must be unique: a clash gets a ~n tag within 20 chars."""
    names = ["Receipt Uploaded From Web", "Receipt Uploaded From App", "Receipt Uploaded From Web"]
    assert fit_labels(names) == [
        "Receipt Uploaded Fr…",
        "Receipt Uploaded F~2",
        "Receipt Uploaded F~3",
    ]


def test_forty_long_similar_event_names_still_make_a_valid_top_events_chart() -> None:
    """Top events capped at 20 categories, each unique, the message still accepted."""
    names = tuple(f"Checkout Step Completed {i:02}" for i in range(40))
    report = counted_report(PERIODS["weekly"], names)
    payload = render_message(report).payload()
    assert explain_slack_rejection(payload) is None
    charts = [b for b in payload["blocks"] if b["type"] == "data_visualization"]
    assert len(charts) <= MAX_CHARTS_PER_MESSAGE


def test_a_chart_summary_states_every_plotted_number() -> None:
    """The fallback line of a refused chart."""
    block = series_chart(
        title="Top events",
        kind="bar",
        categories=["a", "b"],
        series=[("16-22 Nov", [1200, 3]), ("09-15 Nov", [1100, 0])],
        block_id="top",
    )
    assert chart_summary(block) == "Top events: 16-22 Nov 1,200, 3; 09-15 Nov 1,100, 0"


def test_span_labels_fit_in_a_category() -> None:
    """Day, span within a month, span across months: all well under 20 characters."""
    assert span_label(Window(date(2026, 11, 16), date(2026, 11, 16))) == "Mon 16 Nov"
    assert span_label(Window(date(2026, 11, 16), date(2026, 11, 22))) == "16-22 Nov"
    assert span_label(Window(date(2026, 12, 28), date(2027, 1, 3))) == "28 Dec-03 Jan"


def test_a_unique_metric_without_day_counts_is_not_charted() -> None:
    """A source that tallied no day windows: the trend is left out, never filled with 0."""
    period = PERIODS["weekly"]
    users = {period.current: {"active": 10}, period.comparisons[0].window: {"active": 8}}
    facts = Facts({}, UniqueCounts(users, frozenset(), 0), frozenset(), FETCHED)
    active = MetricSpec("active", "Active users", ":busts:", ("*",), Measure.UNIQUE)
    report = build_report(
        MetricsConfig((active,)), period, facts, company="", timezone="UTC", project_url=""
    )
    assert report.metrics[0].value == 10
    assert report.metrics[0].trend is None
    assert trend_chart(report) is None
