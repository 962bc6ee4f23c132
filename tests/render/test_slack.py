"""Specs for the Slack digest and failure notice (shared/render/slack.py): exact words,
escaping, and every Block Kit limit the message as a whole must keep."""

from __future__ import annotations

import dataclasses
import html
import json
import os
import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.render.blocks import (
    MAX_BLOCKS,
    MAX_FIELDS,
    MAX_HEADER_CHARS,
    MAX_MESSAGE_TEXT_CHARS,
    divider_block,
    message_text_chars,
    section_block,
)
from shared.render.slack import SlackMessage, render_failure, render_message
from shared.render.text import render_text
from shared.report.facts import UniqueCounts
from shared.report.generator import (
    Change,
    EventCount,
    Facts,
    MetricResult,
    Mover,
    Report,
    Unavailable,
    Verdict,
    build_report,
)
from shared.report.metrics import MetricsConfig
from shared.schedule.periods import Comparison, PeriodKind, ReportPeriod, Window, report_period
from tests.render.reports import (
    ACTIVE,
    DAILY,
    FETCHED_AT,
    GOLDEN,
    NASTY,
    PROJECT_URL,
    SIGNUPS,
    TODAY,
    WEEKLY,
    events_report,
    golden_report,
    metric_blocks,
    mrkdwn_texts,
    nasty_names,
    rejection,
    report_of,
    sections,
    texts,
    weekly_change,
)

# --- golden ----------------------------------------------------------------------------------


def test_a_small_weekly_report_renders_exactly_the_golden_payload() -> None:
    """The whole payload of a small weekly report is fixed (UPDATE_GOLDEN=1 rewrites it)."""
    payload = render_message(golden_report()).payload()
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(
            json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    assert payload == json.loads(GOLDEN.read_text(encoding="utf-8"))


def test_the_golden_payload_is_accepted_by_slack() -> None:
    """The golden payload breaks no Block Kit rule and escapes every data string."""
    assert rejection(render_message(golden_report()).payload()) is None


def test_payload_is_a_fresh_copy_each_time() -> None:
    """Mutating a payload never changes the message it came from."""
    message = render_message(golden_report())
    payload = message.payload()
    payload["blocks"][0]["text"]["text"] = "changed"
    assert message.payload()["blocks"][0]["text"]["text"] != "changed"


def test_a_very_long_company_name_keeps_the_header_within_its_limit() -> None:
    """The rendered header never exceeds MAX_HEADER_CHARS, whatever the company name."""
    report = events_report(["Sign Up"], company="Acme Holdings " * 100)
    header = render_message(report).payload()["blocks"][0]
    assert header["type"] == "header"
    assert len(header["text"]["text"]) <= MAX_HEADER_CHARS


# --- the message as a whole -------------------------------------------------------------


def test_a_message_holds_50_blocks() -> None:
    """Fifty blocks make a valid message."""
    message = SlackMessage(text="t", blocks=tuple(divider_block() for _ in range(MAX_BLOCKS)))
    assert len(message.payload()["blocks"]) == MAX_BLOCKS


def test_a_message_refuses_51_blocks_naming_the_limit() -> None:
    """A 51st block is reported with the limit's name and value."""
    with pytest.raises(ValueError, match=r"51 blocks; MAX_BLOCKS is 50"):
        SlackMessage(text="t", blocks=tuple(divider_block() for _ in range(MAX_BLOCKS + 1)))


@pytest.mark.parametrize(
    ("total", "ok"),
    [(MAX_MESSAGE_TEXT_CHARS, True), (MAX_MESSAGE_TEXT_CHARS + 1, False)],
    ids=["12000-ok", "12001-refused"],
)
def test_a_message_holds_12000_characters_of_block_text(total: int, ok: bool) -> None:
    """Block text up to MAX_MESSAGE_TEXT_CHARS is accepted; one more is refused."""
    blocks = [section_block(text="x" * 3000) for _ in range(total // 3000)]
    if total % 3000:
        blocks.append(section_block(text="x" * (total % 3000)))
    assert message_text_chars(blocks) == total
    if ok:
        SlackMessage(text="t", blocks=tuple(blocks))
    else:
        with pytest.raises(ValueError, match=r"12001 characters of text; MAX_MESSAGE_TEXT_CHARS"):
            SlackMessage(text="t", blocks=tuple(blocks))


def test_a_message_refuses_an_empty_fallback_text() -> None:
    """Every message carries a non-empty fallback text."""
    with pytest.raises(ValueError, match="non-empty fallback text"):
        SlackMessage(text=" ", blocks=())


@pytest.mark.parametrize(
    ("metrics", "layout"),
    [
        (1, [1]),
        (MAX_FIELDS, [10]),
        (MAX_FIELDS + 1, [10, 1]),
        (2 * MAX_FIELDS, [10, 10]),
        (2 * MAX_FIELDS + 1, ["text"]),
    ],
    ids=["1-field", "10-fields-one-section", "11-split-10-1", "20-split-10-10", "21-compact-lines"],
)
def test_metrics_fill_sections_of_at_most_10_fields(metrics: int, layout: list[object]) -> None:
    """Metrics become fields, 10 per section; beyond 20 they become compact text lines."""
    payload = render_message(events_report([f"Event {i}" for i in range(metrics)])).payload()
    shown = [len(b["fields"]) if "fields" in b else "text" for b in metric_blocks(payload)]
    assert shown == layout
    assert rejection(payload) is None


# --- the words of each verdict -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "change", "slack", "preview"),
    [
        (
            1234,
            weekly_change(1003, Verdict.UP, 0.2303, good=True),
            "*1,234* :large_green_circle: ▲ 23% vs previous week (1,003)",
            "1,234  🟢 ▲ 23% vs previous week (1,003)",
        ),
        (
            1234,
            weekly_change(1003, Verdict.UP, 0.2303, good=False),
            "*1,234* :red_circle: ▲ 23% vs previous week (1,003)",
            "1,234  🔴 ▲ 23% vs previous week (1,003)",
        ),
        (
            883,
            weekly_change(1003, Verdict.DOWN, -0.1196, good=False),
            "*883* :red_circle: ▼ 12% vs previous week (1,003)",
            "883  🔴 ▼ 12% vs previous week (1,003)",
        ),
        (
            883,
            weekly_change(1003, Verdict.DOWN, -0.1196, good=True),
            "*883* :large_green_circle: ▼ 12% vs previous week (1,003)",
            "883  🟢 ▼ 12% vs previous week (1,003)",
        ),
        (
            1010,
            weekly_change(1003, Verdict.IN_LINE, 0.007),
            "*1,010* in line vs previous week (1,003)",
            "1,010  in line vs previous week (1,003)",
        ),
        (
            12,
            weekly_change(0, Verdict.NEW, good=True),
            "*12* :large_green_circle: new (none vs previous week)",
            "12  🟢 new (none vs previous week)",
        ),
        (
            0,
            weekly_change(1234, Verdict.DROPPED_TO_ZERO, -1.0, good=False),
            "*0* :warning: dropped to 0 from 1,234",
            "0  ⚠ dropped to 0 from 1,234",
        ),
        (
            1234,
            weekly_change(None, Verdict.UNAVAILABLE),
            "*1,234* vs previous week: unavailable",
            "1,234  vs previous week: unavailable",
        ),
        (
            54_321,
            weekly_change(12_000, Verdict.UP, 3.5268, good=True),
            "*54,321* :large_green_circle: ▲ 353% vs previous week (12,000)",
            "54,321  🟢 ▲ 353% vs previous week (12,000)",
        ),
    ],
    ids=[
        "up-good",
        "up-bad",
        "down-bad",
        "down-good",
        "in-line-no-percentage",
        "new",
        "dropped-to-zero",
        "baseline-unavailable",
        "big-numbers-human",
    ],
)
def test_each_verdict_reads_the_same_in_slack_and_in_the_preview(
    value: int, change: Change, slack: str, preview: str
) -> None:
    """Each verdict has its words; good or bad news has its colour, in-line has none."""
    report = report_of(MetricResult(ACTIVE, value, (change,)))
    field = sections(render_message(report).payload())[0]["fields"][0]["text"]
    assert field == f"*:busts_in_silhouette: Active users*\n{slack}"
    assert f"\nActive users  {preview}\n" in render_text(report)


def test_an_unavailable_metric_says_unavailable_and_why_never_zero() -> None:
    """A metric Mixpanel could not give shows 'unavailable' and its reason, never 0."""
    reference = WEEKLY.comparisons[0]
    metric = MetricResult(
        ACTIVE,
        None,
        (Change(reference.label, reference.window, None, Verdict.UNAVAILABLE),),
        unavailable="Mixpanel export timed out after 60 s",
    )
    report = report_of(metric)
    message = render_message(report)
    field = sections(message.payload())[0]["fields"][0]["text"]
    assert field == (
        "*:busts_in_silhouette: Active users*\n*unavailable* Mixpanel export timed out after 60 s"
    )
    assert message.text == "Acme weekly report 16 Nov - 22 Nov 2026: Active users unavailable"
    assert "Active users  unavailable  Mixpanel export timed out after 60 s" in render_text(report)


def test_unavailable_facts_never_render_as_zero_anywhere() -> None:
    """When Mixpanel answers nothing, no metric, fallback or preview shows a 0 for it."""
    facts = Facts(
        Unavailable("Mixpanel /events answered 503"),
        Unavailable("Mixpanel export answered 503"),
        Unavailable("Mixpanel /events/names answered 503"),
        FETCHED_AT,
    )
    config = MetricsConfig((ACTIVE, SIGNUPS))
    report = build_report(
        config, WEEKLY, facts, company="Acme", timezone="Europe/London", project_url=PROJECT_URL
    )
    payload = render_message(report).payload()
    fields = [f["text"] for f in sections(payload)[0]["fields"]]
    assert fields == [
        "*:busts_in_silhouette: Active users*\n*unavailable* Mixpanel export answered 503",
        "*:new: New signups*\n*unavailable* Mixpanel /events answered 503",
    ]
    assert payload["text"] == (
        "Acme weekly report 16 Nov - 22 Nov 2026: Active users unavailable, New signups unavailable"
    )
    assert not re.search(r"\b0\b", " ".join(texts(payload["blocks"])))
    assert rejection(payload) is None


def test_top_events_unavailable_say_why_and_are_not_listed_again_in_notes() -> None:
    """Without event totals the top events section gives the reason from the notes, once."""
    facts = Facts(
        Unavailable("Mixpanel /events answered 503"),
        Unavailable("Mixpanel export answered 503"),
        frozenset(),
        FETCHED_AT,
    )
    report = build_report(
        MetricsConfig((SIGNUPS,)),
        WEEKLY,
        facts,
        company="Acme",
        timezone="Europe/London",
        project_url=PROJECT_URL,
        notes=("Custom window requested by <@U123>",),
    )
    bodies = [s["text"]["text"] for s in sections(render_message(report).payload()) if "text" in s]
    assert bodies == [
        "*Top events and notable changes* unavailable: Mixpanel /events answered 503",
        "*Notes*\n• Custom window requested by &lt;@U123&gt;\n"
        "• New signups: Mixpanel /events answered 503",
    ]


def test_the_daily_report_shows_both_comparisons() -> None:
    """Daily metrics compare with the same weekday last week first, then the previous day."""
    yesterday, week_ago, day_before = date(2026, 11, 24), date(2026, 11, 17), date(2026, 11, 23)
    counts = {"Sign Up": {yesterday: 1150, week_ago: 800, day_before: 1000}}
    facts = Facts(counts, UniqueCounts({}, frozenset(), 0), frozenset(counts), FETCHED_AT)
    report = build_report(
        MetricsConfig((SIGNUPS,)),
        DAILY,
        facts,
        company="Acme",
        timezone="Europe/London",
        project_url=PROJECT_URL,
    )
    payload = render_message(report).payload()
    assert payload["blocks"][0]["text"]["text"] == "📊 Acme daily report: Tue 24 Nov 2026"
    assert sections(payload)[0]["fields"][0]["text"] == (
        "*:new: New signups*\n"
        "*1,150* :large_green_circle: ▲ 44% vs previous Tuesday (800)\n"
        "vs previous day: ▲ 15%"
    )
    assert payload["text"] == "Acme daily report Tue 24 Nov 2026: New signups 1,150 (▲ 44%)"
    preview = render_text(report)
    assert "New signups  1,150  🟢 ▲ 44% vs previous Tuesday (800)" in preview
    assert "vs previous day: ▲ 15%" in preview
    assert "vs previous Tuesday: Tue 17 Nov 2026; vs previous day: Mon 23 Nov 2026" in preview


@pytest.mark.parametrize(
    ("mover", "line"),
    [
        (
            Mover("Email Sent", 1234, 800, Verdict.UP, 0.5425),
            "▲ Email Sent *1,234* (was 800, +54%)",
        ),
        (Mover("Email Sent", 400, 800, Verdict.DOWN, -0.5), "▼ Email Sent *400* (was 800, -50%)"),
        (Mover("Promo", 120, 0, Verdict.NEW, None), "▲ Promo *120* (new, was 0)"),
        (
            Mover("Checkout", 0, 1234, Verdict.DROPPED_TO_ZERO, -1.0),
            ":warning: ▼ Checkout *0* (was 1,234, dropped to 0)",
        ),
        (
            Mover(NASTY, 12_345, 1000, Verdict.UP, 11.345),
            "▲ &lt;!channel&gt; &amp; &lt;b&gt; *12,345* (was 1,000, +1,134%)",
        ),
    ],
    ids=["up", "down", "new", "dropped-to-zero-flagged", "escaped-name"],
)
def test_notable_changes_read_as_specified(mover: Mover, line: str) -> None:
    """Each notable change shows direction, name, count, previous count and change."""
    report = report_of(MetricResult(SIGNUPS, 1, ()), movers=(mover,))
    bodies = [s["text"]["text"] for s in sections(render_message(report).payload()) if "text" in s]
    assert f"*Notable changes* (vs previous week)\n{line}" in bodies


def test_top_events_are_numbered_with_counts_and_previous_counts() -> None:
    """Top events list rank, escaped name, human count and the reference count."""
    report = report_of(
        MetricResult(SIGNUPS, 1, ()),
        top_events=(EventCount("App Opened", 12_345, 11_900), EventCount(NASTY, 64, None)),
    )
    bodies = [s["text"]["text"] for s in sections(render_message(report).payload()) if "text" in s]
    assert bodies[0] == (
        "*Top events* (vs previous week)\n"
        "1. App Opened *12,345* (was 11,900)\n"
        "2. &lt;!channel&gt; &amp; &lt;b&gt; *64*"
    )


def test_empty_sections_are_left_out() -> None:
    """No movers, warnings, insights or notes: only the metrics and top events remain."""
    report = report_of(MetricResult(SIGNUPS, 1, ()))
    kinds = [b["type"] for b in render_message(report).payload()["blocks"]]
    assert kinds == ["header", "section", "divider", "section", "divider", "context"]


@pytest.mark.parametrize(
    ("fetched_at", "timezone", "shown"),
    [
        (datetime(2026, 11, 25, 9, 0, tzinfo=UTC), "Europe/London", "25 Nov 2026 09:00 GMT"),
        (datetime(2026, 7, 1, 8, 0, tzinfo=UTC), "Europe/London", "01 Jul 2026 09:00 BST"),
        (datetime(2026, 7, 1, 8, 0, tzinfo=UTC), "America/New_York", "01 Jul 2026 04:00 EDT"),
        (datetime(2026, 7, 1, 8, 0, tzinfo=UTC), "Not/AZone", "01 Jul 2026 08:00 UTC"),
    ],
    ids=["winter-gmt", "summer-bst", "new-york", "unknown-zone-falls-back-to-utc"],
)
def test_the_footer_gives_data_as_of_in_the_report_timezone(
    fetched_at: datetime, timezone: str, shown: str
) -> None:
    """The footer shows the window, timezone, fetch time in that zone and an unescaped link."""
    report = Report(
        company="Acme",
        period=WEEKLY,
        timezone=timezone,
        fetched_at=fetched_at,
        project_url=PROJECT_URL,
        metrics=(MetricResult(SIGNUPS, 1, ()),),
        top_events=(),
        movers=(),
        warnings=(),
        insights=(),
    )
    footer = render_message(report).payload()["blocks"][-1]
    assert [e["text"] for e in footer["elements"]] == [
        f"16 Nov - 22 Nov 2026 ({timezone})",
        "vs previous week: 09 Nov - 15 Nov 2026",
        f"data as of {shown} (source: query)",
        f"<{PROJECT_URL}|Open in Mixpanel>",
    ]


# --- whatever the report, it fits ------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 2, 10, 50, 199, 200], ids=lambda n: f"{n}-events")
@pytest.mark.parametrize("kind", [PeriodKind.WEEKLY, PeriodKind.DAILY], ids=["weekly", "daily"])
def test_any_number_of_long_hostile_event_names_fits_slack(count: int, kind: PeriodKind) -> None:
    """1 to 200 events of 255 characters with <, >, & and <!channel> render within every limit."""
    report = events_report(nasty_names(count), report_period(kind, TODAY), company=NASTY * 30)
    payload = render_message(report).payload()
    assert rejection(payload) is None
    assert all("<!" not in t for t in mrkdwn_texts(payload))
    metric_texts = [
        o["text"] for b in metric_blocks(payload) for o in b.get("fields", [b.get("text")])
    ]
    lines = "\n".join(metric_texts).split("\n")
    shown = sum(line.startswith("*:small_blue_diamond:") for line in lines)
    left_out = sum(int(m) for line in lines for m in re.findall(r"^… and (\d+) more$", line))
    assert shown + left_out == count
    assert shown >= min(count, 10)


@settings(max_examples=60, deadline=None)
@given(
    names=st.lists(
        st.text(alphabet=st.sampled_from("<>&!*_~`\n @abcXYZ€🙂"), min_size=1, max_size=255).filter(
            lambda s: s.strip() and not s.startswith("$")
        ),
        min_size=1,
        max_size=40,
        unique=True,
    ),
    company=st.text(max_size=300),
)
def test_random_event_names_always_render_within_slack_limits(
    names: list[str], company: str
) -> None:
    """Whatever the event and company names, Slack would accept the message."""
    payload = render_message(events_report(names, company=company)).payload()
    assert rejection(payload) is None


# --- failures ----------------------------------------------------------------------------------


def test_a_failure_notice_says_what_failed_and_that_nothing_was_posted() -> None:
    """The notice names the report, window and error, and says no numbers were posted."""
    message = render_failure(
        report="weekly",
        window=WEEKLY.current,
        error="MixpanelError: Mixpanel answered 503 Service Unavailable on /api/query/events",
        when=datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Europe/London")),
        will_retry=True,
    )
    assert message.payload() == {
        "text": "Weekly report failed for 16 Nov - 22 Nov 2026: MixpanelError: Mixpanel answered "
        "503 Service Unavailable on /api/query/events. No numbers were posted for this window.",
        "blocks": [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": ":x: *Weekly report failed* for 16 Nov - 22 Nov 2026\n"
                    "Error: MixpanelError: Mixpanel answered 503 Service Unavailable on "
                    "/api/query/events\n"
                    "No numbers were posted for this window. It will be retried.",
                },
            },
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": "failed at 23 Nov 2026 09:00 GMT"}],
            },
        ],
    }


@pytest.mark.parametrize(
    ("report", "window", "will_retry", "first_line", "last_line"),
    [
        (
            "CustomReport",
            None,
            False,
            ":x: *CustomReport failed*",
            "No numbers were posted. It will not be retried automatically.",
        ),
        (
            "daily report",
            DAILY.current,
            False,
            ":x: *Daily report failed* for Tue 24 Nov 2026",
            "No numbers were posted for this window. It will not be retried automatically.",
        ),
    ],
    ids=["no-window", "daily-window"],
)
def test_a_failure_notice_names_the_report_once(
    report: str, window: Window | None, will_retry: bool, first_line: str, last_line: str
) -> None:
    """'report' is not repeated, a missing window is left out, and retrying is stated."""
    message = render_failure(
        report=report, window=window, error="boom", when=FETCHED_AT, will_retry=will_retry
    )
    lines = message.payload()["blocks"][0]["text"]["text"].split("\n")
    assert (lines[0], lines[-1]) == (first_line, last_line)


def test_a_failure_notice_escapes_and_shortens_the_error() -> None:
    """A hostile or huge error line is escaped, cut and still fits Slack."""
    message = render_failure(
        report=NASTY,
        window=WEEKLY.current,
        error=NASTY * 2000,
        when=datetime(2026, 11, 23, 9, 0, tzinfo=UTC),
    )
    payload = message.payload()
    assert rejection(payload) is None
    assert all("<!" not in t for t in mrkdwn_texts(payload))
    error_line = payload["blocks"][0]["text"]["text"].split("\n")[1]
    assert html.unescape(error_line) == "Error: " + (NASTY * 2000)[:499] + "…"
    assert payload["blocks"][1]["elements"][0]["text"] == "failed at 23 Nov 2026 09:00 UTC"


def test_a_failure_notice_is_never_without_an_error_line() -> None:
    """An empty error still gives a readable notice."""
    message = render_failure(report="weekly", window=None, error="", when=FETCHED_AT)
    assert "Error: unknown error" in message.payload()["blocks"][0]["text"]["text"]


def test_a_report_period_with_a_custom_window_has_a_plain_title() -> None:
    """A custom report is 'Acme report: <window>'; without a company it is 'Report: <window>'."""
    period = ReportPeriod(
        PeriodKind.CUSTOM,
        Window(date(2026, 11, 1), date(2026, 11, 10)),
        (Comparison("vs previous 10 days", Window(date(2026, 10, 22), date(2026, 10, 31))),),
    )
    report = report_of(MetricResult(SIGNUPS, 5, ()), period=period)
    assert render_message(report).payload()["blocks"][0]["text"]["text"] == (
        "📊 Acme report: 01 Nov - 10 Nov 2026"
    )
    anonymous = dataclasses.replace(report, company=" ")
    assert render_message(anonymous).payload()["blocks"][0]["text"]["text"] == (
        "📊 Report: 01 Nov - 10 Nov 2026"
    )
