"""The render plan: what every rendering of a Report shows, decided once; pure.

`plan(report)` turns a Report into a `RenderPlan`: the header, one `MetricRow` per metric
shown, each later section as a titled `Part` of `Line`s, and the footer, with every name
already made safe to show (shared/render/wording.py) and every cut-off ('… and N more')
already decided. The Slack message (slack.py), the terminal preview (text.py), the email's
HTML and text (email_message.py) and the PDF (email_pdf.py) only format this plan, so they
show the same rows, words, figures and cut-offs, and none recomputes or rewords a figure.

Slack is the tightest medium, so the plan is sized in Slack's mrkdwn: `mrkdwn_line` and its
siblings below are both what slack.py posts and the measure the budgets are spent in.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from shared.render.blocks import (
    MAX_FIELD_CHARS,
    MAX_FIELDS,
    MAX_HEADER_CHARS,
    MAX_MESSAGE_TEXT_CHARS,
    MAX_SECTION_TEXT_CHARS,
    chunk_lines,
    fit_count,
    mrkdwn_words,
)
from shared.render.sparkline import metric_sparkline
from shared.render.wording import (
    MAX_EMOJI_CHARS,
    MAX_LINE_CHARS,
    MAX_NAME_CHARS,
    MAX_TIMEZONE_CHARS,
    MAX_URL_CHARS,
    SLACK_MOOD,
    TEXT_MOOD,
    Mood,
    Phrase,
    change_phrase,
    clean,
    human_number,
    local_time,
    more_line,
    percent,
    report_name,
    short_change,
    truncate,
    unit_value,
)
from shared.report.generator import MetricResult, Mover, Report, Verdict

# Budgets of the plan, all within MAX_MESSAGE_TEXT_CHARS of the Slack message.
MAX_FIELD_METRICS = 2 * MAX_FIELDS  # beyond this, metrics are compact lines, not fields
MAX_METRIC_SECTIONS = 3
METRICS_BUDGET = 5000  # characters of block text for the metrics ...
PART_BUDGET = 1200  # ... and for each later section

_LINKABLE = re.compile(r"https?://[^\s<>|]+")


# --- the plan's types -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Span:
    """A run of words on a plan line, unescaped (each renderer escapes for its medium).

    Slack shows `emoji` (a Slack code) before `text` and bolds it when `strong`; text, email
    and PDF show `glyph` (a character) before it instead; with a `link`, Slack shows
    `<link|text>`, the preview 'text: link', email and PDF a hyperlink.
    """

    text: str = ""
    strong: bool = False
    emoji: str = ""
    glyph: str = ""
    link: str = ""


Line = tuple[Span, ...]
"""One line of a plan: its spans, shown separated by one space."""


@dataclass(frozen=True, slots=True)
class MetricRow:
    """One metric as shown: label, value ('unavailable', never 0), reference change, others."""

    emoji: str
    label: str
    value: str
    change: Phrase
    others: tuple[str, ...]
    spark: str = ""  # the daily values as ▁▂▃▄▅▆▇█ ('' when there is no trend to draw)


@dataclass(frozen=True, slots=True)
class Part:
    """A titled list after the metrics; `more` lines did not fit."""

    title: Line
    lines: tuple[Line, ...]
    more: int


@dataclass(frozen=True, slots=True)
class RenderPlan:
    """Everything a rendering shows, in order; renderers only format it.

    `metric_chunks` are the metric rows in Slack's sections (text renderers join them);
    `metrics_more` metrics did not fit; `compact` says the rows are one line each rather than
    Slack fields; `parts` are the sections after the metrics that fit, in order.
    """

    header: str
    metric_chunks: tuple[tuple[MetricRow, ...], ...]
    metrics_more: int
    compact: bool
    parts: tuple[Part, ...]
    footer: tuple[Line, ...]

    @property
    def metric_rows(self) -> tuple[MetricRow, ...]:
        """Every metric row shown, in order (the chunks joined)."""
        return tuple(row for chunk in self.metric_chunks for row in chunk)


def mood_spans(mood: Mood | None) -> tuple[Span, ...]:
    """The mood mark before a phrase (Slack emoji, text glyph), or nothing."""
    return () if mood is None else (Span(emoji=SLACK_MOOD[mood], glyph=TEXT_MOOD[mood]),)


def phrase_spans(phrase: Phrase) -> tuple[Span, ...]:
    """A phrase as spans: its mood mark, then its words."""
    return (*mood_spans(phrase.mood), Span(phrase.words))


# --- the plan as Slack shows it: what slack.py posts and what the budgets measure -------------


def mrkdwn_line(line: Line) -> str:
    """A plan line as mrkdwn: each span literal (blocks.mrkdwn_words), one space between."""
    spans = (mrkdwn_words(s.text, strong=s.strong, emoji=s.emoji, link=s.link) for s in line)
    return " ".join(s for s in spans if s)


def field_lines(row: MetricRow) -> tuple[Line, ...]:
    """A metric as a Slack field: label; value and change; other changes; sparkline."""
    return (
        (Span(row.label, strong=True, emoji=row.emoji),),
        (Span(row.value, strong=True), *phrase_spans(row.change)),
        *((Span(other),) for other in row.others),
        *(((Span(row.spark),),) if row.spark else ()),
    )


def compact_line(row: MetricRow) -> Line:
    """A metric on one line, as shown when the metrics are too many for fields."""
    others = tuple(s for other in row.others for s in (Span("·"), Span(other)))
    return (
        Span(row.label, strong=True, emoji=row.emoji),
        Span(row.value, strong=True),
        *((Span(row.spark),) if row.spark else ()),
        *phrase_spans(row.change),
        *others,
    )


def mrkdwn_field(row: MetricRow) -> str:
    """A metric row as the text of one Slack field."""
    return "\n".join(mrkdwn_line(line) for line in field_lines(row))


def mrkdwn_part(part: Part) -> str:
    """A part as the text of one Slack section: title, lines, '… and N more'."""
    lines = [mrkdwn_line(part.title), *map(mrkdwn_line, part.lines)]
    if part.more:
        lines.append(more_line(part.more))
    return "\n".join(lines)


def mrkdwn_compact(chunks: Sequence[Sequence[MetricRow]], more: int) -> list[str]:
    """Compact metric rows as section texts, one per chunk, the last ending '… and N more'."""
    texts = []
    for i, chunk in enumerate(chunks):
        lines = [mrkdwn_line(compact_line(r)) for r in chunk]
        if more and i == len(chunks) - 1:
            lines.append(more_line(more))
        texts.append("\n".join(lines))
    return texts


# --- what is shown --------------------------------------------------------------------------


def metric_row(metric: MetricResult) -> MetricRow:
    """A metric as shown: its value in its unit, or 'unavailable' / 'n/a' and why."""
    spec = metric.spec
    emoji = clean(spec.emoji, MAX_EMOJI_CHARS)
    label = clean(spec.label, MAX_NAME_CHARS)
    if metric.value is None and metric.undefined:
        return MetricRow(emoji, label, "n/a", Phrase(clean(metric.undefined, MAX_LINE_CHARS)), ())
    if metric.value is None:
        reason = clean(metric.unavailable or "no value from Mixpanel", MAX_LINE_CHARS)
        return MetricRow(emoji, label, "unavailable", Phrase(reason), ())
    unit = spec.unit
    value = unit_value(metric.value, unit)
    mtd = month_to_date_words(metric)
    if not metric.changes:
        return MetricRow(emoji, label, value, Phrase("no comparison"), mtd)
    others = tuple(f"{c.label}: {short_change(c)}" for c in metric.changes[1:])
    return MetricRow(
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
            words = f"{clean(row.label, MAX_NAME_CHARS)}: {shown}"
            if row.change is not None:
                was = (
                    "none" if row.change.baseline is None else unit_value(row.change.baseline, unit)
                )
                words += f" ({short_change(row.change)}, was {was})"
            lines.append(words)
        against = metric.breakdown[0].change.label if metric.breakdown[0].change else ""
        title = f"{clean(metric.spec.label, MAX_NAME_CHARS)} (top {metric.spec.breakdown} values"
        title += f", {against})" if against else ")"
        parts.append((title, lines))
    return parts


def _top_events_part(report: Report) -> tuple[Line, list[Line]]:
    comparisons = report.period.comparisons
    if report.top_events is None:
        subject, reason = "Top events", "no event totals from Mixpanel"
        for note in report.notes:
            if note.startswith("Top events") and ": " in note:
                subject, reason = note.split(": ", 1)
                break
        unavailable: Line = (
            Span(clean(subject, MAX_NAME_CHARS), strong=True),
            Span(f"unavailable: {clean(reason, MAX_LINE_CHARS)}"),
        )
        return unavailable, []
    if not report.top_events:
        return (Span("Top events", strong=True), Span("none in this window")), []
    title: Line = (Span("Top events", strong=True),)
    if comparisons:
        title += (Span(f"({comparisons[0].label})"),)
    lines: list[Line] = []
    for rank, event in enumerate(report.top_events, start=1):
        line: Line = (
            Span(f"{rank}."),
            Span(clean(event.name, MAX_NAME_CHARS)),
            Span(human_number(event.count), strong=True),
        )
        if event.baseline is not None:
            line += (Span(f"(was {human_number(event.baseline)})"),)
        lines.append(line)
    return title, lines


def _mover_line(mover: Mover) -> Line:
    name = Span(clean(mover.name, MAX_NAME_CHARS))
    count = Span(human_number(mover.count), strong=True)
    was = f"was {human_number(mover.baseline)}"
    if mover.verdict is Verdict.NEW:
        return (Span("▲"), name, count, Span(f"(new, {was})"))
    if mover.verdict is Verdict.DROPPED_TO_ZERO:
        return (*mood_spans(Mood.WARNING), Span("▼"), name, count, Span(f"({was}, dropped to 0)"))
    up = mover.verdict is Verdict.UP
    sign = "+" if up else "-"
    ratio = percent(mover.ratio or 0.0)
    return (Span("▲" if up else "▼"), name, count, Span(f"({was}, {sign}{ratio})"))


def _parts(report: Report) -> list[tuple[Line, list[Line]]]:
    """Each section after the metrics as (title, lines), in the order the message shows them."""
    comparisons = report.period.comparisons
    parts: list[tuple[Line, list[Line]]] = [
        ((Span(title, strong=True),), [(Span("•"), Span(line)) for line in lines])
        for title, lines in breakdown_lines(report)
    ]
    parts.append(_top_events_part(report))
    if report.movers:
        title: Line = (Span("Notable changes", strong=True),)
        if comparisons:
            title += (Span(f"({comparisons[0].label})"),)
        parts.append((title, [_mover_line(m) for m in report.movers]))
    if report.warnings:
        parts.append(
            (
                (Span("Data quality", strong=True),),
                [
                    (*mood_spans(Mood.WARNING), Span(clean(w, MAX_LINE_CHARS)))
                    for w in report.warnings
                ],
            )
        )
    if report.insights:
        parts.append(
            (
                (Span("Insights", strong=True),),
                [(Span("•"), Span(clean(i, MAX_LINE_CHARS))) for i in report.insights],
            )
        )
    notes = [
        n for n in report.notes if not (report.top_events is None and n.startswith("Top events"))
    ]
    notes += report.unavailable
    if notes:
        parts.append(
            (
                (Span("Notes", strong=True),),
                [(Span("•"), Span(clean(n, MAX_LINE_CHARS))) for n in notes],
            )
        )
    return parts


def _footer(report: Report) -> tuple[Line, ...]:
    period = report.period
    timezone = clean(report.timezone, MAX_TIMEZONE_CHARS)
    lines: list[Line] = [(Span(f"{period.current.label()} ({timezone})"),)]
    if period.comparisons:
        against = "; ".join(f"{c.label}: {c.window.label()}" for c in period.comparisons)
        lines.append((Span(against),))
    shown = local_time(report.fetched_at, report.timezone)
    lines.append((Span(f"data as of {shown} (source: {report.source})"),))
    url = report.project_url
    if len(url) <= MAX_URL_CHARS and _LINKABLE.fullmatch(url):
        lines.append((Span("Open in Mixpanel", link=url),))
    return tuple(lines)


# --- how much of it fits --------------------------------------------------------------------


def _fit_metrics(
    rows: Sequence[MetricRow], budget: int
) -> tuple[tuple[tuple[MetricRow, ...], ...], int, bool, int]:
    """(sections of rows, rows left out, compact?, characters used) within `budget`."""
    if not rows:
        return (), 0, False, 0
    if len(rows) <= MAX_FIELD_METRICS:
        fields = [mrkdwn_field(r) for r in rows]
        used = sum(map(len, fields))
        if used <= budget and all(len(f) <= MAX_FIELD_CHARS for f in fields):
            chunks = tuple(tuple(rows[i : i + MAX_FIELDS]) for i in range(0, len(rows), MAX_FIELDS))
            return chunks, 0, False, used
    lengths = [len(mrkdwn_line(compact_line(r))) for r in rows]
    k = fit_count(None, lengths, budget)
    if k is None:
        return (), 0, True, 0
    while True:
        more = len(rows) - k
        tail = [len(more_line(more))] if more else []
        sizes = chunk_lines(lengths[:k] + tail, MAX_SECTION_TEXT_CHARS)
        if len(sizes) <= MAX_METRIC_SECTIONS or k == 0:
            break
        k -= 1
    chunks_list: list[tuple[MetricRow, ...]] = []
    start = 0
    for size in sizes:
        end = min(start + size, k)
        chunks_list.append(tuple(rows[start:end]))
        start = end
    chunks = tuple(chunks_list)
    used = sum(len(t) for t in mrkdwn_compact(chunks, more))
    return chunks, more, True, used


def _fit_part(title: Line, lines: Sequence[Line], budget: int) -> Part | None:
    limit = min(budget, MAX_SECTION_TEXT_CHARS)
    k = fit_count(len(mrkdwn_line(title)), [len(mrkdwn_line(x)) for x in lines], limit)
    if k is None:
        return None
    return Part(title, tuple(lines[:k]), len(lines) - k)


def plan(report: Report) -> RenderPlan:
    """What every rendering shows: metrics first, then each section while the budget lasts."""
    header = truncate(
        f"📊 {report_name(report)}: {report.period.current.label()}", MAX_HEADER_CHARS
    )
    footer = _footer(report)
    remaining = MAX_MESSAGE_TEXT_CHARS - len(header) - sum(len(mrkdwn_line(x)) for x in footer)
    rows = [metric_row(m) for m in report.metrics]
    chunks, more, compact, used = _fit_metrics(rows, min(METRICS_BUDGET, remaining))
    remaining -= used
    parts: list[Part] = []
    for title, lines in _parts(report):
        part = _fit_part(title, lines, min(PART_BUDGET, remaining))
        if part is not None:
            remaining -= len(mrkdwn_part(part))
            parts.append(part)
    return RenderPlan(header, chunks, more, compact, tuple(parts), footer)
