"""Reports and payload readers the render specs share: the golden report, reports of any
event names, hand-built reports, and helpers that read a Slack payload back."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from devtools.slack_standin import explain_slack_rejection, slack_rejection
from shared.render.blocks import (
    MAX_FALLBACK_TEXT_CHARS,
    MAX_MESSAGE_TEXT_CHARS,
    message_text_chars,
)
from shared.report.facts import UniqueCounts
from shared.report.generator import (
    Change,
    Facts,
    MetricResult,
    Report,
    Verdict,
    build_report,
)
from shared.report.metrics import Measure, MetricsConfig, MetricSpec
from shared.schedule.periods import PeriodKind, ReportPeriod, Window, report_period

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


def nasty_names(count: int) -> list[str]:
    """`count` distinct 255-character event names full of <, >, & and a channel mention."""
    return [(f"{NASTY}{i} " + "&<>" * 100)[:255] for i in range(count)]
