"""The Slack digest of a Report and its terminal preview, within every Block Kit limit; pure."""

from __future__ import annotations

import copy
import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.render.charts import chart_blocks
from shared.render.sparkline import metric_sparkline
from shared.render.wording import defang, neutral, one_line, shown
from shared.report.generator import Change, MetricResult, Mover, Report, Verdict
from shared.report.units import COUNT, Unit, UnitKind, format_points, format_value
from shared.schedule.periods import PeriodKind, Window

# Block Kit limits (docs.slack.dev/reference/block-kit); the error text below reuses them.
MAX_BLOCKS = 50
MAX_HEADER_CHARS = 150
MAX_SECTION_TEXT_CHARS = 3000
MAX_FIELDS = 10
MAX_FIELD_CHARS = 2000
MAX_CONTEXT_ELEMENTS = 10
MAX_MESSAGE_TEXT_CHARS = 12_000  # stay below Slack's undocumented ~13k msg_blocks_too_long
MAX_FALLBACK_TEXT_CHARS = 3000

# House caps: with them a report of 200 metrics named by 255-character events still reads in
# ten seconds and fits the limits above. Name and line caps count characters before escaping.
MAX_NAME_CHARS = 80
MAX_LINE_CHARS = 300
MAX_EMOJI_CHARS = 40
MAX_TIMEZONE_CHARS = 64
MAX_URL_CHARS = 500
MAX_ERROR_CHARS = 500
MAX_FIELD_METRICS = 2 * MAX_FIELDS  # beyond this, metrics are compact lines, not fields
MAX_METRIC_SECTIONS = 3
METRICS_BUDGET = 5000  # characters of block text for the metrics ...
PART_BUDGET = 1200  # ... and for each later section; all within MAX_MESSAGE_TEXT_CHARS
TEXT_WIDTH = 80  # columns of the terminal preview

_KIND_WORDS = {
    PeriodKind.DAILY: "daily report",
    PeriodKind.WEEKLY: "weekly report",
    PeriodKind.BIWEEKLY: "bi-weekly report",
    PeriodKind.MONTHLY: "monthly report",
    PeriodKind.CUSTOM: "report",
}
# mrkdwn has no escape for its formatting marks: one that could open or close bold, italic,
# strike or code (not between two letters or digits, as in add_to_cart) is shown as its
# full-width twin, which Slack never parses, so a name like '*PAYROLL*' stays literal.
_MARKS = {"*": "\uff0a", "_": "\uff3f", "~": "\uff5e", "`": "\uff40"}
_FORMATTING_MARK = re.compile(r"(?<![^\W_])[*_~`]|[*_~`](?![^\W_])")
# Slack parses a plain @here, @channel or @everyone as a mention (text objects without
# verbatim): that '@' is shown full-width. Others (a@b.co, <@U1> once escaped) notify nobody.
_MENTION_AT = re.compile(r"(?<!\w)@(?=(?:here|channel|everyone)\b)")
_LINKABLE = re.compile(r"https?://[^\s<>|]+")


# --- words shared by the Slack message, the preview and the fallback text -----------------


def human_number(n: int) -> str:
    """A count, exact with thousands separators: '29,843', never '29.8K'.

    The one number rule of every message (Slack blocks, fallback text, text preview): counts
    are exact, as the insights the report model writes are, so no message mixes '29.8K' with
    '29,843'; changes are whole percents (`percent`).
    """
    return f"{n:,}"


def unit_value(value: float, unit: Unit = COUNT) -> str:
    """A figure in its metric's unit: counts as human_number, the rest by shared/report/units."""
    if unit.kind is UnitKind.COUNT and unit.decimals == 0:
        return human_number(round(value))
    return format_value(value, unit)


def percent(ratio: float) -> str:
    """The size of a relative change, '23%' (as the insights write it, with thousands commas)."""
    if not math.isfinite(ratio):  # never 'inf%' (the report holds no such ratio)
        return "unavailable"
    return f"{abs(ratio):,.0%}"


class Mood(StrEnum):
    """How a change reads at a glance; only notable changes have one."""

    GOOD = "good"
    BAD = "bad"
    WARNING = "warning"


SLACK_MOOD = {
    Mood.GOOD: ":large_green_circle:",
    Mood.BAD: ":red_circle:",
    Mood.WARNING: ":warning:",
}
TEXT_MOOD = {Mood.GOOD: "🟢", Mood.BAD: "🔴", Mood.WARNING: "⚠"}


@dataclass(frozen=True, slots=True)
class Phrase:
    """The words for a change (unescaped) and its mood, rendered by each renderer its own way."""

    words: str
    mood: Mood | None = None


def _good_or_bad(good: bool | None) -> Mood | None:
    if good is None:
        return None
    return Mood.GOOD if good else Mood.BAD


def _size(change: Change) -> str:
    """How big a change is: '23%', or for a rate '3.2 pts' (percentage points)."""
    if change.points is not None:
        return format_points(change.points)
    return percent(change.ratio or 0.0)


def change_phrase(change: Change, unit: Unit = COUNT) -> Phrase:
    """The reference change in full: '▲ 23% vs previous week (1,003)', 'in line ...', 'new ...'."""
    baseline = "none" if change.baseline is None else unit_value(change.baseline, unit)
    verdict = change.verdict
    if verdict in (Verdict.UP, Verdict.DOWN):
        arrow = "▲" if verdict is Verdict.UP else "▼"
        return Phrase(
            f"{arrow} {_size(change)} {change.label} ({baseline})",
            _good_or_bad(change.good),
        )
    if verdict is Verdict.IN_LINE:
        return Phrase(f"in line {change.label} ({baseline})")
    if verdict is Verdict.NEW:
        return Phrase(f"new (none {change.label})", _good_or_bad(change.good))
    if verdict is Verdict.DROPPED_TO_ZERO:
        return Phrase(f"dropped to {unit_value(0, unit)} from {baseline}", Mood.WARNING)
    return Phrase(f"{change.label}: unavailable")


def short_change(change: Change) -> str:
    """A change in a word or two: '▲ 15%', '▼ 15%', 'in line', 'new', 'dropped to 0'."""
    verdict = change.verdict
    if verdict in (Verdict.UP, Verdict.DOWN):
        arrow = "▲" if verdict is Verdict.UP else "▼"
        return f"{arrow} {_size(change)}"
    return {
        Verdict.IN_LINE: "in line",
        Verdict.NEW: "new",
        Verdict.DROPPED_TO_ZERO: "dropped to 0",
    }.get(verdict, "unavailable")


def report_name(report: Report) -> str:
    """'Acme weekly report' (or 'Weekly report' without a company name)."""
    company = _clean(report.company, MAX_NAME_CHARS)
    kind = _KIND_WORDS[report.period.kind]
    if report.title:  # a named report: 'Acme Growth daily report'
        kind = f"{_clean(report.title, MAX_NAME_CHARS)} {kind}"
    return f"{company} {kind}" if company else kind[:1].upper() + kind[1:]


def local_time(moment: datetime, timezone: str) -> str:
    """'25 Nov 2026 09:00 GMT': `moment` in the IANA `timezone` (UTC if unknown or naive)."""
    try:
        zone: tzinfo = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = UTC
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return f"{moment.astimezone(zone):%d %b %Y %H:%M %Z}"


# --- text tools -----------------------------------------------------------------------


def escape_mrkdwn(text: str) -> str:
    """`text` safe inside mrkdwn: & then < and > become entities; not idempotent ('&amp;amp;')."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int, *, suffix: str = "…") -> str:
    """`text` if it fits in `limit` characters, else cut to end in `suffix`; never longer."""
    if limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    if len(text) <= limit:
        return text
    if len(suffix) >= limit:
        return suffix[:limit]
    return text[: limit - len(suffix)].rstrip() + suffix


def _inert(text: str) -> str:
    """`text` with no formatting mark and no mention Slack would parse; same length."""
    return _MENTION_AT.sub("\uff20", _FORMATTING_MARK.sub(lambda m: _MARKS[m.group(0)], text))


def literal_mrkdwn(text: str) -> str:
    """`text` shown literally in mrkdwn: escaped, no mark that could format, no @mention."""
    return escape_mrkdwn(_inert(text))


def escape_truncated(text: str, limit: int, *, suffix: str = "…", defanged: bool = True) -> str:
    """literal_mrkdwn(text) cut to `limit` characters without splitting an entity like '&lt;';
    format characters made visible and (unless not `defanged`) links defanged, as data is."""
    text = neutral(text)
    text = _inert(defang(text) if defanged else text)
    escaped = escape_mrkdwn(text)
    if len(escaped) <= limit:
        return escaped
    room = limit - len(suffix)
    if room <= 0:
        return suffix[:limit]
    kept: list[str] = []
    used = 0
    for char in text:
        piece = escape_mrkdwn(char)
        if used + len(piece) > room:
            break
        kept.append(piece)
        used += len(piece)
    return "".join(kept).rstrip() + suffix


def more_line(n: int) -> str:
    """The line that stands for `n` items left out: '… and 12 more'."""
    return f"… and {n:,} more"


def _fit_count(head: int | None, lengths: Sequence[int], limit: int) -> int | None:
    """How many lines fit after a head line (None: no head) with a final more_line for the rest."""
    n = len(lengths)
    used = 0 if head is None else head
    started = head is not None
    best: int | None = None
    for k in range(n + 1):
        if k:
            used += lengths[k - 1] + (1 if started else 0)
            started = True
        if used > limit:
            break
        tail = 0 if k == n else len(more_line(n - k)) + (1 if started else 0)
        if used + tail <= limit:
            best = k
    return best


def fit_lines(lines: Sequence[str], limit: int) -> str:
    """The lines joined by newlines within `limit` characters, ending '… and N more' if cut."""
    k = _fit_count(None, [len(line) for line in lines], limit)
    if k is None:
        return truncate(more_line(len(lines)), limit)
    shown = list(lines[:k])
    if k < len(lines):
        shown.append(more_line(len(lines) - k))
    return "\n".join(shown)


def _clean(text: str, limit: int) -> str:
    """One line of at most `limit` characters as every renderer shows data (wording.shown):
    control characters become spaces, format characters a visible mark, links defanged."""
    return truncate(shown(text).strip(), limit)


# --- Block Kit builders: each enforces its own limits -----------------------------------


def _mrkdwn(text: str) -> dict[str, Any]:
    if not text:
        raise ValueError("Slack rejects an empty text object")
    return {"type": "mrkdwn", "text": text}


def header_block(text: str) -> dict[str, Any]:
    """A header of plain text (no escaping needed), cut to MAX_HEADER_CHARS."""
    if not text:
        raise ValueError("Slack rejects an empty header")
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": truncate(text, MAX_HEADER_CHARS), "emoji": True},
    }


def section_block(*, text: str | None = None, fields: Sequence[str] = ()) -> dict[str, Any]:
    """A mrkdwn section: text cut to MAX_SECTION_TEXT_CHARS, each field to MAX_FIELD_CHARS."""
    if text is None and not fields:
        raise ValueError("a section needs text or fields")
    if len(fields) > MAX_FIELDS:
        raise ValueError(
            f"a section holds at most MAX_FIELDS={MAX_FIELDS} fields, got {len(fields)}"
        )
    block: dict[str, Any] = {"type": "section"}
    if text is not None:
        block["text"] = _mrkdwn(truncate(text, MAX_SECTION_TEXT_CHARS))
    if fields:
        block["fields"] = [_mrkdwn(truncate(f, MAX_FIELD_CHARS)) for f in fields]
    return block


def context_block(elements: Sequence[str]) -> dict[str, Any]:
    """A context line of mrkdwn elements (1 to MAX_CONTEXT_ELEMENTS, each cut to a section's)."""
    if not 1 <= len(elements) <= MAX_CONTEXT_ELEMENTS:
        raise ValueError(
            f"a context holds 1 to MAX_CONTEXT_ELEMENTS={MAX_CONTEXT_ELEMENTS} elements, "
            f"got {len(elements)}"
        )
    return {
        "type": "context",
        "elements": [_mrkdwn(truncate(e, MAX_SECTION_TEXT_CHARS)) for e in elements],
    }


def divider_block() -> dict[str, Any]:
    """A horizontal rule (it counts toward MAX_BLOCKS)."""
    return {"type": "divider"}


def message_text_chars(blocks: Sequence[Mapping[str, Any]]) -> int:
    """Every character of text in the blocks, as Slack sums it for msg_blocks_too_long."""

    def chars(value: object) -> int:
        if isinstance(value, list | tuple):
            return sum(chars(item) for item in value)
        if isinstance(value, Mapping):
            return sum(
                len(item) if key == "text" and isinstance(item, str) else chars(item)
                for key, item in value.items()
            )
        return 0

    return chars(list(blocks))


@dataclass(frozen=True, slots=True)
class SlackMessage:
    """A message Slack accepts: a non-empty fallback text and blocks within every limit."""

    text: str
    blocks: tuple[dict[str, Any], ...]

    def __post_init__(self) -> None:
        if not self.text.strip():
            raise ValueError("a Slack message needs a non-empty fallback text")
        if len(self.text) > MAX_FALLBACK_TEXT_CHARS:
            raise ValueError(
                f"the fallback text has {len(self.text)} characters; "
                f"MAX_FALLBACK_TEXT_CHARS is {MAX_FALLBACK_TEXT_CHARS}"
            )
        if len(self.blocks) > MAX_BLOCKS:
            raise ValueError(
                f"the message has {len(self.blocks)} blocks; MAX_BLOCKS is {MAX_BLOCKS}"
            )
        total = message_text_chars(self.blocks)
        if total > MAX_MESSAGE_TEXT_CHARS:
            raise ValueError(
                f"the blocks hold {total} characters of text; "
                f"MAX_MESSAGE_TEXT_CHARS is {MAX_MESSAGE_TEXT_CHARS}"
            )

    def payload(self) -> dict[str, Any]:
        """{"text": ..., "blocks": [...]}, a fresh copy ready to JSON-encode."""
        return {"text": self.text, "blocks": copy.deepcopy(list(self.blocks))}


# --- what the message shows, decided once for both renderers ----------------------------


@dataclass(frozen=True, slots=True)
class _Span:
    """A run of words: Slack escapes `text`, shows `emoji` before it and bolds it if strong;
    the preview shows `glyph` before it; a link is `<link|text>` in Slack, 'text: link' in text.
    """

    text: str = ""
    strong: bool = False
    emoji: str = ""
    glyph: str = ""
    link: str = ""


_Line = tuple[_Span, ...]


def _mood(mood: Mood | None) -> tuple[_Span, ...]:
    return () if mood is None else (_Span(emoji=SLACK_MOOD[mood], glyph=TEXT_MOOD[mood]),)


def _phrase(phrase: Phrase) -> tuple[_Span, ...]:
    return (*_mood(phrase.mood), _Span(phrase.words))


@dataclass(frozen=True, slots=True)
class _MetricRow:
    """One metric as shown: label, value ('unavailable', never 0), reference change, others."""

    emoji: str
    label: str
    value: str
    change: Phrase
    others: tuple[str, ...]
    spark: str = ""  # the daily values as ▁▂▃▄▅▆▇█ ('' when there is no trend to draw)


@dataclass(frozen=True, slots=True)
class _Part:
    """A titled list after the metrics; `more` lines did not fit."""

    title: _Line
    lines: tuple[_Line, ...]
    more: int


@dataclass(frozen=True, slots=True)
class _Plan:
    """Everything the message shows, in order; the Slack and text renderers only format it."""

    header: str
    metric_chunks: tuple[tuple[_MetricRow, ...], ...]
    metrics_more: int
    compact: bool
    parts: tuple[_Part, ...]
    footer: tuple[_Line, ...]


def _metric_row(metric: MetricResult) -> _MetricRow:
    spec = metric.spec
    emoji = _clean(spec.emoji, MAX_EMOJI_CHARS)
    label = _clean(spec.label, MAX_NAME_CHARS)
    if metric.value is None and metric.undefined:
        return _MetricRow(emoji, label, "n/a", Phrase(_clean(metric.undefined, MAX_LINE_CHARS)), ())
    if metric.value is None:
        reason = _clean(metric.unavailable or "no value from Mixpanel", MAX_LINE_CHARS)
        return _MetricRow(emoji, label, "unavailable", Phrase(reason), ())
    unit = spec.unit
    value = unit_value(metric.value, unit)
    mtd = month_to_date_words(metric)
    if not metric.changes:
        return _MetricRow(emoji, label, value, Phrase("no comparison"), mtd)
    others = tuple(f"{c.label}: {short_change(c)}" for c in metric.changes[1:])
    return _MetricRow(
        emoji,
        label,
        value,
        change_phrase(metric.changes[0], unit),
        others + mtd,
        metric_sparkline(metric),
    )


def month_to_date_words(metric: MetricResult) -> tuple[str, ...]:
    """'month to date: 1,234 (▲ 5% vs same days of October (1,175))', or nothing."""
    mtd = metric.month_to_date
    if mtd is None:
        return ()
    if mtd.value is None:
        return ("month to date: unavailable",)
    unit = metric.spec.unit
    words = change_phrase(mtd.change, unit).words
    return (f"month to date: {unit_value(mtd.value, unit)} ({words})",)


def breakdown_lines(report: Report) -> list[tuple[str, list[str]]]:
    """Per breakdown metric: its title and one line per top value ('GB 120 ▲ 12%'), then other."""
    parts = []
    for metric in report.metrics:
        if not metric.breakdown:
            continue
        unit = metric.spec.unit
        lines = []
        for row in metric.breakdown:
            shown = "n/a" if row.value is None else unit_value(row.value, unit)
            words = f"{_clean(row.label, MAX_NAME_CHARS)}: {shown}"
            if row.change is not None:
                was = (
                    "none" if row.change.baseline is None else unit_value(row.change.baseline, unit)
                )
                words += f" ({short_change(row.change)}, was {was})"
            lines.append(words)
        against = metric.breakdown[0].change.label if metric.breakdown[0].change else ""
        title = f"{_clean(metric.spec.label, MAX_NAME_CHARS)} (top {metric.spec.breakdown} values"
        title += f", {against})" if against else ")"
        parts.append((title, lines))
    return parts


def _field_lines(row: _MetricRow) -> tuple[_Line, ...]:
    return (
        (_Span(row.label, strong=True, emoji=row.emoji),),
        (_Span(row.value, strong=True), *_phrase(row.change)),
        *((_Span(other),) for other in row.others),
        *(((_Span(row.spark),),) if row.spark else ()),
    )


def _compact_line(row: _MetricRow) -> _Line:
    others = tuple(s for other in row.others for s in (_Span("·"), _Span(other)))
    return (
        _Span(row.label, strong=True, emoji=row.emoji),
        _Span(row.value, strong=True),
        *((_Span(row.spark),) if row.spark else ()),
        *_phrase(row.change),
        *others,
    )


def _slack_span(span: _Span) -> str:
    if span.link:
        return f"<{span.link}|{escape_mrkdwn(span.text)}>"
    body = " ".join(p for p in (escape_mrkdwn(span.emoji), literal_mrkdwn(span.text)) if p)
    return f"*{body}*" if span.strong and body else body


def _slack_line(line: _Line) -> str:
    return " ".join(s for s in map(_slack_span, line) if s)


def _slack_field(row: _MetricRow) -> str:
    return "\n".join(_slack_line(line) for line in _field_lines(row))


def _slack_part(part: _Part) -> str:
    lines = [_slack_line(part.title), *map(_slack_line, part.lines)]
    if part.more:
        lines.append(more_line(part.more))
    return "\n".join(lines)


def _chunk(lengths: Sequence[int], limit: int) -> list[int]:
    """Greedy: how many consecutive lines go in each text of at most `limit` characters."""
    sizes: list[int] = []
    used = -1
    for length in lengths:
        if sizes and used + 1 + length <= limit:
            sizes[-1] += 1
            used += 1 + length
        else:
            sizes.append(1)
            used = length
    return sizes


def _fit_metrics(
    rows: Sequence[_MetricRow], budget: int
) -> tuple[tuple[tuple[_MetricRow, ...], ...], int, bool, int]:
    """(sections of rows, rows left out, compact?, characters used) within `budget`."""
    if not rows:
        return (), 0, False, 0
    if len(rows) <= MAX_FIELD_METRICS:
        fields = [_slack_field(r) for r in rows]
        used = sum(map(len, fields))
        if used <= budget and all(len(f) <= MAX_FIELD_CHARS for f in fields):
            chunks = tuple(tuple(rows[i : i + MAX_FIELDS]) for i in range(0, len(rows), MAX_FIELDS))
            return chunks, 0, False, used
    lengths = [len(_slack_line(_compact_line(r))) for r in rows]
    k = _fit_count(None, lengths, budget)
    if k is None:
        return (), 0, True, 0
    while True:
        more = len(rows) - k
        tail = [len(more_line(more))] if more else []
        sizes = _chunk(lengths[:k] + tail, MAX_SECTION_TEXT_CHARS)
        if len(sizes) <= MAX_METRIC_SECTIONS or k == 0:
            break
        k -= 1
    chunks_list: list[tuple[_MetricRow, ...]] = []
    start = 0
    for size in sizes:
        end = min(start + size, k)
        chunks_list.append(tuple(rows[start:end]))
        start = end
    chunks = tuple(chunks_list)
    used = sum(len(t) for t in _compact_texts(chunks, more))
    return chunks, more, True, used


def _compact_texts(chunks: Sequence[Sequence[_MetricRow]], more: int) -> list[str]:
    texts = []
    for i, chunk in enumerate(chunks):
        lines = [_slack_line(_compact_line(r)) for r in chunk]
        if more and i == len(chunks) - 1:
            lines.append(more_line(more))
        texts.append("\n".join(lines))
    return texts


def _fit_part(title: _Line, lines: Sequence[_Line], budget: int) -> _Part | None:
    limit = min(budget, MAX_SECTION_TEXT_CHARS)
    k = _fit_count(len(_slack_line(title)), [len(_slack_line(x)) for x in lines], limit)
    if k is None:
        return None
    return _Part(title, tuple(lines[:k]), len(lines) - k)


def _top_events_part(report: Report) -> tuple[_Line, list[_Line]]:
    comparisons = report.period.comparisons
    if report.top_events is None:
        subject, reason = "Top events", "no event totals from Mixpanel"
        for note in report.notes:
            if note.startswith("Top events") and ": " in note:
                subject, reason = note.split(": ", 1)
                break
        unavailable: _Line = (
            _Span(_clean(subject, MAX_NAME_CHARS), strong=True),
            _Span(f"unavailable: {_clean(reason, MAX_LINE_CHARS)}"),
        )
        return unavailable, []
    if not report.top_events:
        return (_Span("Top events", strong=True), _Span("none in this window")), []
    title: _Line = (_Span("Top events", strong=True),)
    if comparisons:
        title += (_Span(f"({comparisons[0].label})"),)
    lines: list[_Line] = []
    for rank, event in enumerate(report.top_events, start=1):
        line: _Line = (
            _Span(f"{rank}."),
            _Span(_clean(event.name, MAX_NAME_CHARS)),
            _Span(human_number(event.count), strong=True),
        )
        if event.baseline is not None:
            line += (_Span(f"(was {human_number(event.baseline)})"),)
        lines.append(line)
    return title, lines


def _mover_line(mover: Mover) -> _Line:
    name = _Span(_clean(mover.name, MAX_NAME_CHARS))
    count = _Span(human_number(mover.count), strong=True)
    was = f"was {human_number(mover.baseline)}"
    if mover.verdict is Verdict.NEW:
        return (_Span("▲"), name, count, _Span(f"(new, {was})"))
    if mover.verdict is Verdict.DROPPED_TO_ZERO:
        return (*_mood(Mood.WARNING), _Span("▼"), name, count, _Span(f"({was}, dropped to 0)"))
    up = mover.verdict is Verdict.UP
    sign = "+" if up else "-"
    ratio = percent(mover.ratio or 0.0)
    return (_Span("▲" if up else "▼"), name, count, _Span(f"({was}, {sign}{ratio})"))


def _parts(report: Report) -> list[tuple[_Line, list[_Line]]]:
    """Each section after the metrics as (title, lines), in the order the message shows them."""
    comparisons = report.period.comparisons
    parts: list[tuple[_Line, list[_Line]]] = [
        ((_Span(title, strong=True),), [(_Span("•"), _Span(line)) for line in lines])
        for title, lines in breakdown_lines(report)
    ]
    parts.append(_top_events_part(report))
    if report.movers:
        title: _Line = (_Span("Notable changes", strong=True),)
        if comparisons:
            title += (_Span(f"({comparisons[0].label})"),)
        parts.append((title, [_mover_line(m) for m in report.movers]))
    if report.warnings:
        parts.append(
            (
                (_Span("Data quality", strong=True),),
                [(*_mood(Mood.WARNING), _Span(_clean(w, MAX_LINE_CHARS))) for w in report.warnings],
            )
        )
    if report.insights:
        parts.append(
            (
                (_Span("Insights", strong=True),),
                [(_Span("•"), _Span(_clean(i, MAX_LINE_CHARS))) for i in report.insights],
            )
        )
    notes = [
        n for n in report.notes if not (report.top_events is None and n.startswith("Top events"))
    ]
    notes += report.unavailable
    if notes:
        parts.append(
            (
                (_Span("Notes", strong=True),),
                [(_Span("•"), _Span(_clean(n, MAX_LINE_CHARS))) for n in notes],
            )
        )
    return parts


def _footer(report: Report) -> tuple[_Line, ...]:
    period = report.period
    timezone = _clean(report.timezone, MAX_TIMEZONE_CHARS)
    lines: list[_Line] = [(_Span(f"{period.current.label()} ({timezone})"),)]
    if period.comparisons:
        against = "; ".join(f"{c.label}: {c.window.label()}" for c in period.comparisons)
        lines.append((_Span(against),))
    shown = local_time(report.fetched_at, report.timezone)
    lines.append((_Span(f"data as of {shown} (source: {report.source})"),))
    url = report.project_url
    if len(url) <= MAX_URL_CHARS and _LINKABLE.fullmatch(url):
        lines.append((_Span("Open in Mixpanel", link=url),))
    return tuple(lines)


def _plan(report: Report) -> _Plan:
    """What the message shows: metrics first, then each section while the text budget lasts."""
    header = truncate(
        f"📊 {report_name(report)}: {report.period.current.label()}", MAX_HEADER_CHARS
    )
    footer = _footer(report)
    remaining = MAX_MESSAGE_TEXT_CHARS - len(header) - sum(len(_slack_line(x)) for x in footer)
    rows = [_metric_row(m) for m in report.metrics]
    chunks, more, compact, used = _fit_metrics(rows, min(METRICS_BUDGET, remaining))
    remaining -= used
    parts: list[_Part] = []
    for title, lines in _parts(report):
        part = _fit_part(title, lines, min(PART_BUDGET, remaining))
        if part is not None:
            remaining -= len(_slack_part(part))
            parts.append(part)
    return _Plan(header, chunks, more, compact, tuple(parts), footer)


def _fallback(report: Report) -> str:
    summaries = []
    for metric in report.metrics:
        label = _clean(metric.spec.label, MAX_NAME_CHARS)
        spark = metric_sparkline(metric)
        if spark:
            label = f"{label} {spark}"
        if metric.value is None:
            summaries.append(f"{label} {'n/a' if metric.undefined else 'unavailable'}")
        elif not metric.changes or metric.changes[0].verdict is Verdict.UNAVAILABLE:
            summaries.append(f"{label} {unit_value(metric.value, metric.spec.unit)}")
        else:
            summaries.append(
                f"{label} {unit_value(metric.value, metric.spec.unit)} "
                f"({short_change(metric.changes[0])})"
            )
    text = f"{report_name(report)} {report.period.current.label()}"
    if summaries:
        text += ": " + ", ".join(summaries)
    return escape_truncated(text, MAX_FALLBACK_TEXT_CHARS)


# --- the two renderers -------------------------------------------------------------------


def render_message(report: Report) -> SlackMessage:
    """The digest as Block Kit: numbers first, every data string escaped, within every limit."""
    plan = _plan(report)
    blocks: list[dict[str, Any]] = [header_block(plan.header)]
    if plan.compact:
        blocks += [
            section_block(text=t) for t in _compact_texts(plan.metric_chunks, plan.metrics_more)
        ]
    else:
        blocks += [
            section_block(fields=[_slack_field(r) for r in chunk]) for chunk in plan.metric_chunks
        ]
    blocks += chart_blocks(report)  # Slack's native charts; shared.delivery drops them if refused
    if plan.parts:
        blocks.append(divider_block())
        blocks += [section_block(text=_slack_part(part)) for part in plan.parts]
    blocks.append(divider_block())
    blocks.append(context_block([_slack_line(line) for line in plan.footer]))
    return SlackMessage(text=_fallback(report), blocks=tuple(blocks))


def _width(text: str) -> int:
    """Terminal columns: wide characters (emoji, CJK) take two, combining marks none."""
    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
        for c in text
    )


def _split_at_width(word: str, width: int) -> tuple[str, str]:
    used = 0
    for i, char in enumerate(word):
        used += _width(char)
        if used > width:
            return word[: max(i, 1)], word[max(i, 1) :]
    return word, ""


def _wrap(line: str, indent: str, width: int = TEXT_WIDTH) -> list[str]:
    """`line` in rows of at most `width` columns, continuing after `indent`; long words split."""
    if _width(line) <= width:
        return [line]
    rows: list[str] = []
    current = ""
    for word in line.split(" "):
        candidate = f"{current} {word}" if current else word
        if _width(candidate) <= width:
            current = candidate
            continue
        if current.strip():
            rows.append(current.rstrip())
            current = indent + word
        else:
            current = candidate
        while _width(current) > width:
            head, tail = _split_at_width(current, width)
            rows.append(head)
            current = indent + tail
    if current.strip():
        rows.append(current.rstrip())
    return rows


def _text_span(span: _Span) -> str:
    if span.link:
        return f"{span.text}: {span.link}"
    return " ".join(p for p in (span.glyph, span.text) if p)


def _text_line(line: _Line) -> str:
    return " ".join(s for s in map(_text_span, line) if s)


def _pad(text: str, width: int, *, right: bool = False) -> str:
    gap = " " * max(width - _width(text), 0)
    return gap + text if right else text + gap


def _text_metrics(plan: _Plan) -> list[str]:
    rows = [row for chunk in plan.metric_chunks for row in chunk]
    if not rows:
        return [more_line(plan.metrics_more)] if plan.metrics_more else []
    label_width = min(max(_width(r.label) for r in rows), 24)
    value_width = max(_width(r.value) for r in rows)
    column = label_width + value_width + 4
    indent = " " * column if column <= 40 else "    "
    out: list[str] = []
    for row in rows:
        label = row.label
        if _width(label) > label_width:
            out += _wrap(label, "  ")
            label = ""
        change = _text_line(_phrase(row.change))
        line = f"{_pad(label, label_width)}  {_pad(row.value, value_width, right=True)}  {change}"
        out += _wrap(line, indent)
        for other in row.others:
            out += [indent + r for r in _wrap(other, "", TEXT_WIDTH - len(indent))]
        if row.spark:
            out += [indent + r for r in _wrap(row.spark, "", TEXT_WIDTH - len(indent))]
    if plan.metrics_more:
        out.append(more_line(plan.metrics_more))
    return out


def render_text(report: Report) -> str:
    """The same digest as plain text for a terminal: same numbers and words, 80 columns."""
    plan = _plan(report)
    out = [*_wrap(plan.header, "  "), "=" * min(_width(plan.header), TEXT_WIDTH), ""]
    metrics = _text_metrics(plan)
    if metrics:
        out += [*metrics, ""]
    for part in plan.parts:
        out += _wrap(_text_line(part.title), "  ")
        for line in part.lines:
            out += _wrap(_text_line(line), "   ")
        if part.more:
            out.append(more_line(part.more))
        out.append("")
    out.append("-" * TEXT_WIDTH)
    for line in plan.footer:
        out += _wrap(_text_line(line), "  ")
    return "\n".join(out) + "\n"


def render_failure(
    *,
    report: str,
    window: Window | None,
    error: str,
    when: datetime,
    will_retry: bool | None = None,
) -> SlackMessage:
    """A short notice that a report failed and posted no numbers; `error` must hold no secret."""
    name = _clean(report, MAX_NAME_CHARS) or "report"
    if not name.lower().endswith("report"):
        name = f"{name} report"
    name = name[:1].upper() + name[1:]
    where = f" for {window.label()}" if window else ""
    # The error is the app's own words (addresses and URLs it names stay readable as they are),
    # still one line with no format character.
    detail = truncate(one_line(error).strip(), MAX_ERROR_CHARS) or "unknown error"
    posted = "No numbers were posted for this window." if window else "No numbers were posted."
    # None: whether the host retries is unknown, so the notice promises nothing.
    retry = ""
    if will_retry is not None:
        retry = " It will be retried." if will_retry else " It will not be retried automatically."
    text = (
        f":x: *{literal_mrkdwn(name)} failed*{where}\n"
        f"Error: {literal_mrkdwn(detail)}\n"
        f"{posted}{retry}"
    )
    moment = when if when.tzinfo else when.replace(tzinfo=UTC)
    blocks = (
        section_block(text=text),
        context_block([escape_mrkdwn(f"failed at {moment:%d %b %Y %H:%M %Z}")]),
    )
    fallback = escape_truncated(
        f"{name} failed{where}: {detail}. {posted}", MAX_FALLBACK_TEXT_CHARS, defanged=False
    )
    return SlackMessage(text=fallback, blocks=blocks)
