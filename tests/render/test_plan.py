"""Specs for the render plan (shared/render/plan.py): what every rendering shows, decided once.

The plan holds the rows, words and cut-offs; Slack, the preview, the email and the PDF only
format it. These specs pin the plan itself, its budgets, and that each renderer shows it.
"""

from __future__ import annotations

import re

import pytest

from shared.render.blocks import MAX_MESSAGE_TEXT_CHARS, MAX_SECTION_TEXT_CHARS
from shared.render.plan import (
    METRICS_BUDGET,
    PART_BUDGET,
    MetricRow,
    Part,
    RenderPlan,
    Span,
    mrkdwn_compact,
    mrkdwn_field,
    mrkdwn_line,
    mrkdwn_part,
    plan,
)
from shared.render.slack import render_message
from shared.render.wording import Mood, Phrase
from shared.report.generator import MetricResult, Verdict
from shared.schedule.periods import PeriodKind, report_period
from tests.render.renderings import every_rendering
from tests.render.reports import (
    NASTY,
    PROJECT_URL,
    SIGNUPS,
    TODAY,
    events_report,
    golden_report,
    nasty_names,
    report_of,
    weekly_change,
)


def text_of(line: tuple[Span, ...]) -> str:
    """A plan line's words, glyphs left out."""
    return " ".join(s.text for s in line if s.text)


def test_the_golden_report_plans_its_rows_sections_and_footer() -> None:
    """The plan of the golden report: one row per metric, each section titled, the footer."""
    shown = plan(golden_report())
    assert shown.header == "📊 Acme weekly report: 16 Nov - 22 Nov 2026"
    assert not shown.compact
    assert shown.metrics_more == 0
    assert [(r.label, r.value, r.change) for r in shown.metric_rows] == [
        ("Active users", "1,234", Phrase("▲ 23% vs previous week (1,003)", Mood.GOOD)),
        ("New signups", "89", Phrase("in line vs previous week (85)")),
        ("Receipts failed", "30", Phrase("▲ 150% vs previous week (12)", Mood.BAD)),
        ("Vouchers redeemed", "0", Phrase("dropped to 0 from 42", Mood.WARNING)),
    ]
    assert [text_of(p.title) for p in shown.parts] == [
        "Top events (vs previous week)",
        "Notable changes (vs previous week)",
        "Data quality",
        "Insights",
    ]
    assert [p.more for p in shown.parts] == [0, 0, 0, 0]
    assert [text_of(line) for line in shown.footer] == [
        "16 Nov - 22 Nov 2026 (Europe/London)",
        "vs previous week: 09 Nov - 15 Nov 2026",
        "data as of 25 Nov 2026 09:00 GMT (source: query)",
        "Open in Mixpanel",
    ]
    assert shown.footer[-1][0].link == PROJECT_URL


def test_metric_rows_are_the_chunks_joined_in_order() -> None:
    """`metric_rows` is every row of every chunk, in order: what text renderers list."""
    shown = plan(events_report([f"Event {i}" for i in range(15)]))
    assert [len(c) for c in shown.metric_chunks] == [10, 5]
    assert shown.metric_rows == tuple(r for c in shown.metric_chunks for r in c)
    assert [r.label for r in shown.metric_rows] == [f"Event {i}" for i in range(15)]


def test_the_plan_holds_names_as_shown_never_as_sent() -> None:
    """Names in the plan are one line, links defanged, unescaped (each renderer escapes)."""
    shown = plan(events_report([f"{NASTY}\nhttps://evil.example/x"]))
    assert shown.metric_rows[0].label == "<!channel> & <b> https[:]//evil[.]example/x"


@pytest.mark.parametrize(
    ("span", "mrkdwn"),
    [
        (Span("1,234", strong=True), "*1,234*"),
        (Span("Active users", strong=True, emoji=":busts_in_silhouette:"),
         "*:busts_in_silhouette: Active users*"),
        (Span("*PAYROLL* @here <b>"), "\uff0aPAYROLL\uff0a \uff20here &lt;b&gt;"),
        (Span("Open in Mixpanel", link=PROJECT_URL), f"<{PROJECT_URL}|Open in Mixpanel>"),
        (Span(emoji=":warning:", glyph="⚠"), ":warning:"),
        (Span(glyph="•"), ""),
    ],
    ids=["strong", "emoji-and-strong", "literal", "link", "mood-mark", "glyph-only-is-nothing"],
)  # fmt: skip
def test_a_span_in_mrkdwn_is_literal_with_its_emoji_and_emphasis(span: Span, mrkdwn: str) -> None:
    """Slack's form of a span: escaped, marks and mentions inert, emoji code, bold, link."""
    assert mrkdwn_line((Span("x"), span)) == f"x {mrkdwn}".rstrip()


def test_a_field_and_a_part_are_their_lines_in_mrkdwn() -> None:
    """A metric field is label, value and change, other changes, sparkline; a part its lines."""
    row = MetricRow(":new:", "Sign ups", "12", Phrase("new", Mood.GOOD), ("vs day: ▲ 5%",), "▁█")
    assert mrkdwn_field(row) == (
        "*:new: Sign ups*\n*12* :large_green_circle: new\nvs day: ▲ 5%\n▁█"
    )
    part = Part((Span("Notes", strong=True),), ((Span("•"), Span("a & b")),), more=3)
    assert mrkdwn_part(part) == "*Notes*\n• a &amp; b\n… and 3 more"
    assert mrkdwn_compact([[row]], 2) == [
        "*:new: Sign ups* *12* ▁█ :large_green_circle: new · vs day: ▲ 5%\n… and 2 more"
    ]


def spent(shown: RenderPlan) -> tuple[int, list[int]]:
    """(characters of mrkdwn the metrics take, characters of each part)."""
    if shown.compact:
        metrics = sum(map(len, mrkdwn_compact(shown.metric_chunks, shown.metrics_more)))
    else:
        metrics = sum(len(mrkdwn_field(r)) for r in shown.metric_rows)
    return metrics, [len(mrkdwn_part(p)) for p in shown.parts]


@pytest.mark.parametrize("count", [1, 20, 21, 200], ids=lambda n: f"{n}-events")
@pytest.mark.parametrize("kind", [PeriodKind.WEEKLY, PeriodKind.DAILY], ids=["weekly", "daily"])
def test_the_plan_spends_no_more_than_its_budgets(count: int, kind: PeriodKind) -> None:
    """Metrics within METRICS_BUDGET, each part within PART_BUDGET, all within the message."""
    shown = plan(events_report(nasty_names(count), report_period(kind, TODAY), company=NASTY))
    metrics, parts = spent(shown)
    footer = sum(len(mrkdwn_line(line)) for line in shown.footer)
    assert metrics <= METRICS_BUDGET
    assert all(p <= min(PART_BUDGET, MAX_SECTION_TEXT_CHARS) for p in parts)
    assert len(shown.header) + metrics + sum(parts) + footer <= MAX_MESSAGE_TEXT_CHARS
    assert len(shown.metric_rows) + shown.metrics_more == count


def test_the_slack_message_is_the_plan_in_blocks() -> None:
    """Header, fields, sections and footer of the message are the plan's mrkdwn, in order."""
    report = golden_report()
    shown = plan(report)
    blocks = render_message(report).payload()["blocks"]
    sections = [b for b in blocks if b["type"] == "section"]
    assert blocks[0]["text"]["text"] == shown.header
    assert [f["text"] for b in sections for f in b.get("fields", [])] == [
        mrkdwn_field(r) for r in shown.metric_rows
    ]
    assert [b["text"]["text"] for b in sections if "text" in b] == [
        mrkdwn_part(p) for p in shown.parts
    ]
    assert [e["text"] for e in blocks[-1]["elements"]] == [mrkdwn_line(x) for x in shown.footer]


@pytest.mark.parametrize(
    "rendering", ["slack", "text", "email text", "email html", "pdf", "html preview"]
)
def test_each_rendering_leaves_out_what_the_plan_leaves_out(rendering: str) -> None:
    """The plan's '… and N more' is said, with the same N, by every rendering of the digest."""
    report = events_report(nasty_names(200))
    shown = plan(report)
    assert shown.metrics_more > 0
    said = every_rendering(report)[rendering]
    assert f"and {shown.metrics_more:,} more" in said


@pytest.mark.parametrize(
    "rendering", ["slack", "text", "email text", "email html", "pdf", "html preview"]
)
def test_each_rendering_shows_the_plans_value_and_change_words(rendering: str) -> None:
    """A value and its change words come from the plan, so every rendering shows them as is."""
    change = weekly_change(1_003, Verdict.UP, 0.2303, good=True)
    report = report_of(MetricResult(SIGNUPS, 1_234, (change,)))
    row = plan(report).metric_rows[0]
    said = every_rendering(report)[rendering]
    assert row.value == "1,234"
    assert row.change.words == "▲ 23% vs previous week (1,003)"
    assert re.search(re.escape(row.value) + r"\b", said)
    assert row.change.words in said
