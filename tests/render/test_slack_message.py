"""Specs for the Slack digest renderer: exact words, escaping, and every Block Kit limit."""

from __future__ import annotations

import dataclasses
import html
import json
import os
import re
import unicodedata
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devtools.slack_standin import explain_slack_rejection, slack_rejection
from shared.render.blocks import (
    MAX_BLOCKS,
    MAX_CONTEXT_ELEMENTS,
    MAX_FALLBACK_TEXT_CHARS,
    MAX_FIELD_CHARS,
    MAX_FIELDS,
    MAX_HEADER_CHARS,
    MAX_MESSAGE_TEXT_CHARS,
    MAX_SECTION_TEXT_CHARS,
    context_block,
    divider_block,
    escape_mrkdwn,
    escape_truncated,
    fit_lines,
    header_block,
    message_text_chars,
    section_block,
)
from shared.render.slack import SlackMessage, render_failure, render_message
from shared.render.text import render_text
from shared.render.wording import human_number, truncate
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
from shared.report.metrics import Measure, MetricsConfig, MetricSpec
from shared.schedule.periods import Comparison, PeriodKind, ReportPeriod, Window, report_period
from shared.sources.uniques import UniqueCounts

GOLDEN = Path(__file__).parents[1] / "fixtures" / "golden_weekly_message.json"
TODAY = date(2026, 11, 25)  # a Wednesday: the weekly report covers Mon 16 - Sun 22 Nov
FETCHED_AT = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
PROJECT_URL = "https://eu.mixpanel.com/project/12345"
WEEKLY = report_period(PeriodKind.WEEKLY, TODAY)
DAILY = report_period(PeriodKind.DAILY, TODAY)
ACTIVE = MetricSpec("active_users", "Active users", ":busts_in_silhouette:", ("*",), Measure.UNIQUE)
SIGNUPS = MetricSpec("new_signups", "New signups", ":new:", ("Sign Up",))
FAILED = MetricSpec(
    "receipts_failed", "Receipts failed", ":x:", ("Receipt Failed",), higher_is_better=False
)
VOUCHERS = MetricSpec("vouchers_redeemed", "Vouchers redeemed", ":gift:", ("Voucher Redeemed",))
NASTY = "<!channel> & <b>"
ENTITY_OR_LINK = re.compile(r"&(amp|lt|gt);|<https?://[^\s<>|]+\|[^<>]*>")


# --- helpers -------------------------------------------------------------------------------


def spread(total: int, window: Window) -> dict[date, int]:
    """`total` spread as evenly as possible over the days of `window`."""
    days = list(window.dates())
    base, extra = divmod(total, len(days))
    return {d: base + (1 if i < extra else 0) for i, d in enumerate(days)}


def weekly_counts(now: int, before: int) -> dict[date, int]:
    """Daily counts totalling `now` this week and `before` the week before."""
    return {**spread(now, WEEKLY.current), **spread(before, WEEKLY.comparisons[0].window)}


def golden_report() -> Report:
    """The small fixed weekly report of the golden payload (one of each verdict and section)."""
    counts = {
        "Sign Up": weekly_counts(89, 85),
        "Receipt Failed": weekly_counts(30, 12),
        "Voucher Redeemed": weekly_counts(0, 42),
        "App Opened": weekly_counts(12_345, 11_900),
        "Email Sent": weekly_counts(1_234, 800),
        f"{NASTY} Promo": weekly_counts(64, 0),
        "$identify": weekly_counts(500, 500),
    }
    current, previous = WEEKLY.current, WEEKLY.comparisons[0].window
    uniques = UniqueCounts(
        users={current: {"active_users": 1234}, previous: {"active_users": 1003}},
        seen_events=frozenset(),
        lines=0,
    )
    facts = Facts(counts, uniques, frozenset(counts), FETCHED_AT)
    config = MetricsConfig((ACTIVE, SIGNUPS, FAILED, VOUCHERS))
    return build_report(
        config, WEEKLY, facts, company="Acme", timezone="Europe/London", project_url=PROJECT_URL
    )


def events_report(names: list[str], period: ReportPeriod = WEEKLY, company: str = "Acme") -> Report:
    """A custom `events` report: one metric per event, counts varying by event and window."""
    counts = {
        name: {
            day: (i * 7 + w * 13) % 50
            for w, window in enumerate(period.windows)
            for day in window.dates()
        }
        for i, name in enumerate(names)
    }
    facts = Facts(counts, UniqueCounts({}, frozenset(), 0), frozenset(names), FETCHED_AT)
    config = MetricsConfig(()).with_events(names)
    return build_report(
        config, period, facts, company=company, timezone="Europe/London", project_url=PROJECT_URL
    )


def report_of(*metrics: MetricResult, period: ReportPeriod = WEEKLY, **parts: Any) -> Report:
    """A Report built directly: the given metrics, empty sections unless given."""
    fields: dict[str, Any] = {
        "top_events": (),
        "movers": (),
        "warnings": (),
        "insights": (),
        **parts,
    }
    return Report(
        company="Acme",
        period=period,
        timezone="Europe/London",
        fetched_at=FETCHED_AT,
        project_url=PROJECT_URL,
        metrics=metrics,
        **fields,
    )


def weekly_change(
    baseline: int | None, verdict: Verdict, ratio: float | None = None, good: bool | None = None
) -> Change:
    """A change against the previous week."""
    reference = WEEKLY.comparisons[0]
    return Change(reference.label, reference.window, baseline, verdict, ratio, good)


def texts(blocks: list[dict[str, Any]]) -> list[str]:
    """Every text string in the blocks, in order."""
    found: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, Mapping):
            for key, item in value.items():
                if key == "text" and isinstance(item, str):
                    found.append(item)
                else:
                    walk(item)

    walk(blocks)
    return found


def mrkdwn_texts(payload: dict[str, Any]) -> list[str]:
    """The fallback text and every mrkdwn text object: the strings Slack parses for markup."""
    found = [payload["text"]]
    for block in payload["blocks"]:
        objects = [block.get("text"), *block.get("fields", []), *block.get("elements", [])]
        found += [o["text"] for o in objects if isinstance(o, dict) and o["type"] == "mrkdwn"]
    return found


def rejection(payload: dict[str, Any]) -> str | None:
    """Why Slack would reject the payload (the stand-in's rules plus escaping), or None."""
    if slack_rejection(payload) is not None:
        return explain_slack_rejection(payload)
    if not payload["text"] or len(payload["text"]) > MAX_FALLBACK_TEXT_CHARS:
        return f"fallback text of {len(payload['text'])} characters"
    if message_text_chars(payload["blocks"]) > MAX_MESSAGE_TEXT_CHARS:
        return "over MAX_MESSAGE_TEXT_CHARS"
    for text in mrkdwn_texts(payload):
        bare = ENTITY_OR_LINK.sub("", text)
        if any(c in bare for c in "<>&"):
            return f"unescaped markup in {text[:80]!r}"
    return None


def columns(line: str) -> int:
    """Terminal columns of a line (wide characters count two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)


def numbers(text: str) -> Counter[str]:
    """Every figure in a text ('1,234', '12.3K', '23%', dates and times), counted."""
    return Counter(re.findall(r"\d[\d,.:]*[KM%]?", text))


def sections(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The section blocks of a payload."""
    return [b for b in payload["blocks"] if b["type"] == "section"]


def metric_blocks(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The blocks between the header and the first divider but the charts: the key metrics."""
    blocks: list[dict[str, Any]] = payload["blocks"]
    kinds = [b["type"] for b in blocks]
    return [b for b in blocks[1 : kinds.index("divider")] if b["type"] != "data_visualization"]


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


# --- human_number, escape, truncate ------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (0, "0"),
        (999, "999"),
        (1234, "1,234"),
        (9999, "9,999"),
        (10_000, "10,000"),
        (29_843, "29,843"),
        (999_999, "999,999"),
        (1_234_567, "1,234,567"),
        (2_345_678_901, "2,345,678,901"),
        (-1500, "-1,500"),
        (-12_345, "-12,345"),
    ],
    ids=["zero", "999", "thousands-comma", "last-four-digits", "ten-thousand", "no-29.8K",
         "no-1M", "millions", "billions", "negative", "negative-large"],
)  # fmt: skip
def test_human_number_is_exact_with_thousands_separators(n: int, expected: str) -> None:
    """One number rule per message: every count exact, with commas, never abbreviated."""
    assert human_number(n) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<!channel>", "&lt;!channel&gt;"),
        ("Tom & Jerry", "Tom &amp; Jerry"),
        ("a<b>c", "a&lt;b&gt;c"),
        ("&amp;", "&amp;amp;"),
        ("&lt;", "&amp;lt;"),
        ("*bold* _it_ ~s~ `code`", "*bold* _it_ ~s~ `code`"),
        ("<https://x.io|x>", "&lt;https://x.io|x&gt;"),
        ("", ""),
    ],
    ids=[
        "channel-mention",
        "ampersand",
        "angle-brackets",
        "escaped-amp-is-escaped-again",
        "escaped-lt-is-escaped-again",
        "formatting-untouched",
        "link-syntax-neutralised",
        "empty",
    ],
)
def test_escape_mrkdwn_replaces_only_ampersand_and_angle_brackets(text: str, expected: str) -> None:
    """& first, then < and >; nothing else; not idempotent (an escaped string escapes again)."""
    assert escape_mrkdwn(text) == expected


@pytest.mark.parametrize(
    ("text", "limit", "suffix", "expected"),
    [
        ("abc", 3, "…", "abc"),
        ("abcd", 3, "…", "ab…"),
        ("ab cd", 4, "…", "ab…"),
        ("abcdef", 5, "...", "ab..."),
        ("abcd", 1, "…", "…"),
        ("abcd", 0, "…", ""),
        ("", 0, "…", ""),
    ],
    ids=["fits", "cut", "no-space-before-suffix", "custom-suffix", "suffix-only", "zero", "empty"],
)
def test_truncate_cuts_to_the_limit_ending_in_the_suffix(
    text: str, limit: int, suffix: str, expected: str
) -> None:
    """Text that fits is unchanged; longer text ends in the suffix within the limit."""
    assert truncate(text, limit, suffix=suffix) == expected


def test_truncate_rejects_a_negative_limit() -> None:
    """A negative limit is a bug in the caller."""
    with pytest.raises(ValueError, match="limit must be >= 0, got -1"):
        truncate("abc", -1)


@given(text=st.text(max_size=300), limit=st.integers(min_value=0, max_value=320))
def test_truncate_never_exceeds_the_limit(text: str, limit: int) -> None:
    """Whatever the text, the result fits, and text that fits comes back unchanged."""
    result = truncate(text, limit)
    assert len(result) <= limit
    assert (result == text) == (len(text) <= limit)


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("a<b", 6, "a&lt;b"),
        ("a<b", 5, "a…"),
        ("<<<", 8, "&lt;…"),
        ("&&", 10, "&amp;&amp;"),
        ("&&", 9, "&amp;…"),
    ],
    ids=["fits", "entity-not-split", "two-entities-do-not-fit", "fits-exactly", "cut-whole"],
)
def test_escape_truncated_never_splits_an_entity(text: str, limit: int, expected: str) -> None:
    """The escaped text is cut between entities, never inside '&lt;'."""
    assert escape_truncated(text, limit) == expected


@given(text=st.text(alphabet="<>&a !", max_size=300), limit=st.integers(0, 400))
def test_escape_truncated_is_always_safe_mrkdwn(text: str, limit: int) -> None:
    """The result fits the limit and every &, <, > in it belongs to a whole entity."""
    result = escape_truncated(text, limit)
    assert len(result) <= limit
    assert not any(c in ENTITY_OR_LINK.sub("", result) for c in "<>&")


# --- boundary pairs at each Block Kit limit ------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "expected_length", "cut"),
    [(MAX_HEADER_CHARS, MAX_HEADER_CHARS, False), (MAX_HEADER_CHARS + 1, MAX_HEADER_CHARS, True)],
    ids=["150-ok", "151-truncated"],
)
def test_a_header_holds_150_characters(length: int, expected_length: int, cut: bool) -> None:
    """A 150-character header is kept; one character more is cut to 150 ending in '…'."""
    text = "h" * length
    shown = header_block(text)["text"]["text"]
    assert len(shown) == expected_length
    assert shown.endswith("…") is cut


def test_a_very_long_company_name_keeps_the_header_within_its_limit() -> None:
    """The rendered header never exceeds MAX_HEADER_CHARS, whatever the company name."""
    report = events_report(["Sign Up"], company="Acme Holdings " * 100)
    header = render_message(report).payload()["blocks"][0]
    assert header["type"] == "header"
    assert len(header["text"]["text"]) <= MAX_HEADER_CHARS


@pytest.mark.parametrize(
    ("length", "expected_length"),
    [(MAX_SECTION_TEXT_CHARS, MAX_SECTION_TEXT_CHARS), (MAX_SECTION_TEXT_CHARS + 1, 3000)],
    ids=["3000-ok", "3001-truncated"],
)
def test_a_section_text_holds_3000_characters(length: int, expected_length: int) -> None:
    """Section text of 3000 characters is kept whole; longer text is cut to 3000."""
    shown = section_block(text="s" * length)["text"]["text"]
    assert len(shown) == expected_length
    assert shown.endswith("…") is (length > MAX_SECTION_TEXT_CHARS)


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["a" * 1499, "b" * 1500], "a" * 1499 + "\n" + "b" * 1500),
        (["a" * 1499, "b" * 1501], "a" * 1499 + "\n… and 1 more"),
        (["a" * 3001], "… and 1 more"),
        (["x"] * 3, "x\nx\nx"),
    ],
    ids=["3000-all-shown", "3001-last-line-becomes-more", "one-line-too-long", "short"],
)
def test_fit_lines_ends_with_and_n_more_when_lines_do_not_fit(
    lines: list[str], expected: str
) -> None:
    """Lines that fit in 3000 characters are kept; otherwise the rest becomes '… and N more'."""
    result = fit_lines(lines, MAX_SECTION_TEXT_CHARS)
    assert result == expected
    assert len(result) <= MAX_SECTION_TEXT_CHARS


def test_a_section_holds_10_fields() -> None:
    """Ten fields make one section."""
    assert len(section_block(fields=["f"] * MAX_FIELDS)["fields"]) == MAX_FIELDS


def test_a_section_refuses_11_fields_naming_the_limit() -> None:
    """An eleventh field is a renderer bug, reported with the limit's name and value."""
    with pytest.raises(ValueError, match=r"at most MAX_FIELDS=10 fields, got 11"):
        section_block(fields=["f"] * (MAX_FIELDS + 1))


@pytest.mark.parametrize(
    ("length", "expected_length"),
    [(MAX_FIELD_CHARS, MAX_FIELD_CHARS), (MAX_FIELD_CHARS + 1, MAX_FIELD_CHARS)],
    ids=["2000-ok", "2001-truncated"],
)
def test_a_field_holds_2000_characters(length: int, expected_length: int) -> None:
    """A field of 2000 characters is kept whole; longer is cut to 2000."""
    shown = section_block(fields=["f" * length])["fields"][0]["text"]
    assert len(shown) == expected_length
    assert shown.endswith("…") is (length > MAX_FIELD_CHARS)


def test_a_context_holds_10_elements() -> None:
    """Ten context elements are fine."""
    assert len(context_block(["c"] * MAX_CONTEXT_ELEMENTS)["elements"]) == MAX_CONTEXT_ELEMENTS


def test_a_context_refuses_11_elements_naming_the_limit() -> None:
    """An eleventh element is reported with the limit's name and value."""
    with pytest.raises(ValueError, match=r"1 to MAX_CONTEXT_ELEMENTS=10 elements, got 11"):
        context_block(["c"] * (MAX_CONTEXT_ELEMENTS + 1))


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


def nasty_names(count: int) -> list[str]:
    """`count` distinct 255-character event names full of <, >, & and a channel mention."""
    return [(f"{NASTY}{i} " + "&<>" * 100)[:255] for i in range(count)]


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


# --- the preview --------------------------------------------------------------------------------


def test_the_preview_shows_the_same_figures_as_the_message() -> None:
    """render_text carries exactly the numbers of the Slack blocks, no more, no fewer."""
    report = golden_report()
    blocks = render_message(report).payload()["blocks"]
    assert numbers("\n".join(texts(blocks))) == numbers(render_text(report))


def test_the_preview_of_a_weekly_report_reads_as_plain_text() -> None:
    """No mrkdwn markers, no emoji codes, no escaping: words and numbers for a terminal."""
    assert render_text(golden_report()) == (
        "📊 Acme weekly report: 16 Nov - 22 Nov 2026\n"
        "===========================================\n"
        "\n"
        "Active users       1,234  🟢 ▲ 23% vs previous week (1,003)\n"
        "New signups           89  in line vs previous week (85)\n"
        "                          █████▁▁\n"
        "Receipts failed       30  🔴 ▲ 150% vs previous week (12)\n"
        "                          ██▁▁▁▁▁\n"
        "Vouchers redeemed      0  ⚠ dropped to 0 from 42\n"
        "                          ▁▁▁▁▁▁▁\n"
        "\n"
        "Top events (vs previous week)\n"
        "1. App Opened 12,345 (was 11,900)\n"
        "2. Email Sent 1,234 (was 800)\n"
        "3. Sign Up 89 (was 85)\n"
        "4. <!channel> & <b> Promo 64 (was 0)\n"
        "5. Receipt Failed 30 (was 12)\n"
        "\n"
        "Notable changes (vs previous week)\n"
        "▲ <!channel> & <b> Promo 64 (new, was 0)\n"
        "▲ Receipt Failed 30 (was 12, +150%)\n"
        "▲ Email Sent 1,234 (was 800, +54%)\n"
        "⚠ ▼ Voucher Redeemed 0 (was 42, dropped to 0)\n"
        "\n"
        "Data quality\n"
        "⚠ Voucher Redeemed: no events this period after 42 vs previous week - tracking\n"
        "   may be broken\n"
        "\n"
        "Insights\n"
        "• Receipts failed rose 150% vs previous week (12 to 30).\n"
        "• Active users rose 23% vs previous week (1,003 to 1,234).\n"
        "• Most frequent event: App Opened (12,345 times).\n"
        "• New this period: <!channel> & <b> Promo (64 times, none before).\n"
        "• Busiest day: Monday 16 Nov (1,969 events).\n"
        "\n" + "-" * 80 + "\n"
        "16 Nov - 22 Nov 2026 (Europe/London)\n"
        "vs previous week: 09 Nov - 15 Nov 2026\n"
        "data as of 25 Nov 2026 09:00 GMT (source: query)\n"
        f"Open in Mixpanel: {PROJECT_URL}\n"
    )


@pytest.mark.parametrize("count", [1, 21, 200], ids=lambda n: f"{n}-events")
def test_the_preview_fits_80_columns(count: int) -> None:
    """Every preview line fits an 80-column terminal, even with 255-character names."""
    preview = render_text(events_report(nasty_names(count), DAILY, company="Acme " * 60))
    assert max(columns(line) for line in preview.splitlines()) <= 80


def test_the_preview_says_and_n_more_where_the_message_does() -> None:
    """The preview leaves out the same metrics as the message and says so the same way."""
    report = events_report(nasty_names(200))
    message_more = re.findall(
        r"… and \d+ more", "\n".join(texts(render_message(report).payload()["blocks"]))
    )
    assert message_more
    assert re.findall(r"… and \d+ more", render_text(report)) == message_more


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
