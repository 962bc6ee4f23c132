"""Specs: each metric kind is shown with its unit and wording, in Slack, text and JSON alike."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from devtools.slack_standin import slack_rejection
from shared.render.report_json import report_to_json
from shared.render.slack import render_message
from shared.render.text import render_text
from shared.report.generator import (
    BreakdownRow,
    Change,
    MetricResult,
    MonthToDate,
    Report,
    Verdict,
)
from shared.report.metrics import Measure, MetricSpec
from shared.report.units import Unit, UnitKind
from shared.schedule.periods import PeriodKind, Window, report_period
from tests.openapi_check import validate_against_openapi

PERIOD = report_period(PeriodKind.DAILY, date(2026, 12, 2))
REF = PERIOD.comparisons[0]
GBP = Unit(UnitKind.CURRENCY, "GBP", 2)
PCT = Unit(UnitKind.PERCENT, None, 1)


def change(baseline: float, verdict: Verdict, ratio: float | None, **kw: object) -> Change:
    return Change(REF.label, REF.window, baseline, verdict, ratio, **kw)  # type: ignore[arg-type]


def spec(key: str, label: str, **kw: object) -> MetricSpec:
    return MetricSpec(key, label, ":x:", kw.pop("events", ("Sign Up",)), **kw)  # type: ignore[arg-type]


METRICS = (
    MetricResult(
        spec("basket", "Basket value", measure=Measure.SUM, value_property="amount", unit=GBP),
        12345.5,
        (change(10000, Verdict.UP, 0.2345, good=True),),
    ),
    MetricResult(
        spec("rate", "Onboarding rate", events=(), measure=Measure.FORMULA, unit=PCT),
        62.54,
        (change(58.0, Verdict.UP, 0.078, good=True, points=4.54),),
    ),
    MetricResult(
        spec("fail", "Failure rate", events=(), measure=Measure.FORMULA, unit=PCT),
        None,
        (Change(REF.label, REF.window, None, Verdict.UNAVAILABLE),),
        undefined="n/a: fails / uploads divides by zero",
    ),
    MetricResult(
        spec("by_country", "Signups", breakdown="country", month_to_date=True),
        30,
        (change(21, Verdict.UP, 0.43, good=True),),
        breakdown=(
            BreakdownRow("GB", 21, change(12, Verdict.UP, 0.75, good=True)),
            BreakdownRow("other", 9, change(9, Verdict.IN_LINE, 0.0)),
        ),
        month_to_date=MonthToDate(
            30,
            Change(
                "vs same days of November",
                Window(date(2026, 11, 1), date(2026, 11, 1)),
                25,
                Verdict.UP,
                0.2,
                True,
            ),
        ),
    ),
)
REPORT = Report(
    company="Acme",
    period=PERIOD,
    timezone="Europe/London",
    fetched_at=datetime(2026, 12, 2, 9, tzinfo=UTC),
    project_url="https://eu.mixpanel.com/project/1",
    metrics=METRICS,
    top_events=(),
    movers=(),
    warnings=(),
    insights=(),
    title="Growth",
)


def test_each_kind_reads_in_its_unit_in_the_slack_fields() -> None:
    """Currency with its symbol, a rate with its change in points, n/a with why, month to date."""
    message = render_message(REPORT)
    assert slack_rejection(message.payload()) is None
    fields = [f["text"] for f in message.blocks[1]["fields"]]
    assert fields[0] == (
        "*:x: Basket value*\n*£12,345.50* :large_green_circle: ▲ 23% vs previous Tuesday "
        "(£10,000.00)"
    )
    assert fields[1] == (
        "*:x: Onboarding rate*\n*62.5%* :large_green_circle: ▲ 4.5 pts vs previous Tuesday (58.0%)"
    )
    assert fields[2] == "*:x: Failure rate*\n*n/a* n/a: fails / uploads divides by zero"
    assert fields[3].endswith("month to date: 30 (▲ 20% vs same days of November (25))")


def test_a_breakdown_lists_its_top_values_then_other() -> None:
    """After the metrics: one line per value with its change and the baseline."""
    text = json.dumps(render_message(REPORT).payload(), ensure_ascii=False)
    assert "*Signups (top country values, vs previous Tuesday)*\\n• GB: 21 (▲ 75%, was 12)" in text
    assert "• other: 9 (in line, was 9)" in text


def test_the_header_names_the_report_and_the_fallback_keeps_the_units() -> None:
    """'Acme Growth daily report'; the notification text reads the same values."""
    message = render_message(REPORT)
    assert message.blocks[0]["text"]["text"].startswith("📊 Acme Growth daily report")
    assert "Basket value £12,345.50 (▲ 23%)" in message.text
    assert "Onboarding rate 62.5% (▲ 4.5 pts)" in message.text
    assert "Failure rate n/a" in message.text


def test_the_text_preview_shows_the_same_words() -> None:
    """The terminal preview uses the same values and phrases."""
    text = render_text(REPORT)
    assert "£12,345.50" in text
    assert "▲ 4.5 pts vs previous Tuesday (58.0%)" in text
    assert "month to date: 30" in text


def test_the_json_carries_unit_breakdown_month_to_date_and_points() -> None:
    """The JSON states every kind's extra fields and fits the schema."""
    data = report_to_json(REPORT)
    validate_against_openapi("Report", data)
    basket, rate, fail, signups = data["metrics"]
    assert basket["unit"] == {"kind": "currency", "currency": "GBP", "decimals": 2}
    assert basket["property"] == "amount"
    assert rate["comparisons"][0]["change_points"] == 4.54
    assert fail["undefined_reason"] == "n/a: fails / uploads divides by zero"
    assert signups["breakdown"]["rows"][0] == {
        "label": "GB",
        "value": 21,
        "previous": 12,
        "verdict": "up",
        "change_ratio": 0.75,
    }
    assert signups["month_to_date"]["previous"] == 25
