"""The report as an email: subject, HTML and plain-text parts (and a PDF copy); pure, no I/O.

One more formatter of the render plan the Slack message and the terminal preview share
(shared/render/plan.py): the same rows, words, numbers, verdicts, footer and
"… and N more" cut-offs, so every figure in the email is the Slack message's figure. The HTML
uses tables and inline styles only: no script, no stylesheet link, no web font, no remote image.
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Sequence
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime
from typing import Any

from shared.render.plan import Line, MetricRow, Part, RenderPlan, plan
from shared.render.text import render_text
from shared.render.wording import (
    MAX_NAME_CHARS,
    TEXT_MOOD,
    Mood,
    Phrase,
    clean,
    more_line,
    report_name,
    short_change,
    truncate,
    unit_value,
)
from shared.report.generator import Report, Verdict

MAX_SUBJECT_CHARS = 150  # clients show ~70; the rest is for search and the preview pane
MAX_HTML_BYTES = 100_000  # Gmail clips a message whose HTML passes 102 KB
MAX_HEADLINE_METRICS = 3  # figures named in the subject
BAR_MAX_PX = 160  # widest bar of the top-events chart

FONT = "Arial,Helvetica,sans-serif"  # installed everywhere: nothing is fetched
INK, MUTED, RULE, PAGE = "#1f2328", "#59636e", "#d1d9e0", "#f6f8fa"
MOOD_COLOUR = {Mood.GOOD: "#1a7f37", Mood.BAD: "#cf222e", Mood.WARNING: "#9a6700"}
_GLYPH_MOOD = {glyph: mood for mood, glyph in TEXT_MOOD.items()}


# --- the mail policy ---------------------------------------------------------------------


class _MailPolicy(EmailPolicy):
    """The SMTP policy (CRLF, newlines in header values refused), with its own subject folding.

    CPython's folder can leave a space that mail clients show: between an ASCII word and an
    encoded word ('1,234  ▲ 23%'), or before the first word when it folds right after
    'Subject:'. So the subject is folded here: ASCII at spaces, non-ASCII as encoded words
    only (whitespace between encoded words is ignored when decoding); both unfold exactly.
    """

    def fold(self, name: str, value: Any) -> str:
        if name.lower() == "subject":
            return _fold_subject(name, str(value), self.linesep)
        return str(super().fold(name, value))

    def fold_binary(self, name: str, value: Any) -> bytes:
        if name.lower() == "subject":
            return _fold_subject(name, str(value), self.linesep).encode("ascii")
        return bytes(super().fold_binary(name, value))


def _fold_subject(name: str, value: str, linesep: str, limit: int = 78) -> str:
    if not value.isascii():
        encoded = Header(value, "utf-8", header_name=name).encode(linesep=linesep)
        return f"{name}: {encoded}{linesep}"
    words = value.split(" ")
    lines = [f"{name}: {words[0]}"]
    for word in words[1:]:
        if len(lines[-1]) + 1 + len(word) > limit:
            lines.append(f" {word}")  # the fold's space is the one between the words
        else:
            lines[-1] += f" {word}"
    return linesep.join(lines) + linesep


MAIL_POLICY = _MailPolicy(linesep="\r\n")


# --- subject ------------------------------------------------------------------------------


def render_subject(report: Report) -> str:
    """'Acme weekly report, 16 Nov - 22 Nov 2026: Active users 6,123 ▲ 12%, …'; one line.

    The headline figures are the first metrics, worded as in Slack's fallback text; control
    characters from labels or names become spaces, so the subject cannot carry a header.
    """
    head = f"{report_name(report)}, {report.period.current.label()}"
    items = []
    for metric in report.metrics[:MAX_HEADLINE_METRICS]:
        label = clean(metric.spec.label, MAX_NAME_CHARS)
        if metric.value is None:
            items.append(f"{label} unavailable")
        elif not metric.changes or metric.changes[0].verdict is Verdict.UNAVAILABLE:
            items.append(f"{label} {unit_value(metric.value, metric.spec.unit)}")
        else:
            value = unit_value(metric.value, metric.spec.unit)
            items.append(f"{label} {value} {short_change(metric.changes[0])}")
    left = len(report.metrics) - len(items)
    subject = head
    for n in range(len(items), -1, -1):
        more = left + len(items) - n
        shown = items[:n] + ([more_line(more)] if more else [])
        candidate = f"{head}: {', '.join(shown)}" if shown else head
        if len(candidate) <= MAX_SUBJECT_CHARS or n == 0:
            subject = candidate
            break
    return truncate(" ".join(subject.split()), MAX_SUBJECT_CHARS)


# --- HTML ---------------------------------------------------------------------------------


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _mood_style(mood: Mood | None) -> str:
    return f"color:{MOOD_COLOUR[mood]};" if mood else ""


def _html_phrase(phrase: Phrase) -> str:
    glyph = f"{TEXT_MOOD[phrase.mood]} " if phrase.mood else ""
    return f'<span style="{_mood_style(phrase.mood)}">{_e(glyph + phrase.words)}</span>'


def _html_line(line: Line) -> str:
    """A plan line: glyphs and words as in the preview, strong spans bold, moods coloured."""
    out: list[str] = []
    mood: Mood | None = None
    for span in line:
        if span.glyph in _GLYPH_MOOD:
            mood = _GLYPH_MOOD[span.glyph]
        if span.link:
            out.append(f'<a href="{_e(span.link)}" style="color:#0969da;">{_e(span.text)}</a>')
            continue
        text = " ".join(p for p in (span.glyph, span.text) if p)
        if not text:
            continue
        style = _mood_style(mood) if span.glyph else ""
        if span.strong:
            out.append(f'<strong style="{style}">{_e(text)}</strong>')
        elif style:
            out.append(f'<span style="{style}">{_e(text)}</span>')
        else:
            out.append(_e(text))
    return " ".join(out)


def _metric_row_html(row: MetricRow) -> str:
    others = "".join(
        f'<div style="font-size:12px;color:{MUTED};">{_e(other)}</div>' for other in row.others
    )
    cell = f"padding:8px 10px;border-bottom:1px solid {RULE};vertical-align:top;"
    return (
        '<tr class="metric">'
        f'<td style="{cell}font-weight:bold;">{_e(row.label)}</td>'
        f'<td style="{cell}font-weight:bold;font-size:18px;text-align:right;white-space:nowrap;">'
        f"{_e(row.value)}</td>"
        f'<td style="{cell}">{_html_phrase(row.change)}{others}</td>'
        "</tr>"
    )


def _metrics_html(shown: RenderPlan) -> str:
    rows = shown.metric_rows
    if not rows and not shown.metrics_more:
        return ""
    body = "".join(_metric_row_html(row) for row in rows)
    if shown.metrics_more:
        body += (
            f'<tr><td colspan="3" style="padding:8px 10px;color:{MUTED};">'
            f"{_e(more_line(shown.metrics_more))}</td></tr>"
        )
    return (
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" '
        f'style="border-collapse:collapse;font-family:{FONT};font-size:14px;color:{INK};">'
        f"{body}</table>"
    )


def bar_cell(value: int, largest: int) -> str:
    """A horizontal bar drawn as a table cell, `value`/`largest` of BAR_MAX_PX wide.

    Only the width is computed here; the figure beside it is the plan's own text.
    """
    width = 0 if largest <= 0 or value <= 0 else max(1, round(BAR_MAX_PX * value / largest))
    return (
        f'<table role="presentation" cellpadding="0" cellspacing="0"><tr>'
        f'<td width="{width}" height="10" style="width:{width}px;height:10px;'
        f'background:#54aeff;font-size:0;line-height:0;">&nbsp;</td></tr></table>'
    )


def _part_html(part: Part, bars: Sequence[int] | None) -> str:
    """A titled list; `bars` (the top events' counts, in the plan's order) adds a bar column."""
    largest = max(bars, default=0) if bars else 0
    rows = []
    for i, line in enumerate(part.lines):
        bar = ""
        if bars is not None and i < len(bars):
            bar = f'<td style="padding:3px 0 3px 10px;">{bar_cell(bars[i], largest)}</td>'
        rows.append(f'<tr><td style="padding:3px 0;">{_html_line(line)}</td>{bar}</tr>')
    if part.more:
        rows.append(
            f'<tr><td style="padding:3px 0;color:{MUTED};">{_e(more_line(part.more))}</td></tr>'
        )
    return (
        f'<p style="margin:16px 0 6px;font-size:15px;">{_html_line(part.title)}</p>'
        '<table role="presentation" cellpadding="0" cellspacing="0" '
        f'style="font-family:{FONT};font-size:14px;color:{INK};">{"".join(rows)}</table>'
    )


def _top_event_counts(report: Report, part: Part) -> list[int] | None:
    """The counts behind the top-events lines (same order, same cut), or None for other parts."""
    if not report.top_events or not part.title or part.title[0].text != "Top events":
        return None
    if not part.lines:
        return None
    return [event.count for event in report.top_events[: len(part.lines)]]


def daily_chart_html(report: Report) -> str:
    """Per-day charts of the metrics, drawn with table cells (bar_cell): the seam for series.

    The Report carries no per-day series yet (shared/report/generator.py); once it does, they
    are drawn here from the Report, never recomputed from events. Until then it adds nothing.
    """
    del report
    return ""


def render_html(report: Report) -> str:
    """The digest as one HTML document that mail clients show as the sender meant."""
    shown = plan(report)
    sections = [
        f'<h1 style="margin:0 0 12px;font-size:20px;line-height:1.3;font-family:{FONT};">'
        f"{_e(shown.header)}</h1>",
        _metrics_html(shown),
        daily_chart_html(report),
    ]
    if shown.parts:
        sections.append(f'<hr style="border:0;border-top:1px solid {RULE};margin:16px 0;">')
    sections += [_part_html(part, _top_event_counts(report, part)) for part in shown.parts]
    footer = "".join(
        f'<div style="margin:2px 0;">{_html_line(line)}</div>' for line in shown.footer
    )
    sections.append(
        f'<hr style="border:0;border-top:1px solid {RULE};margin:16px 0;">'
        f'<div style="font-size:12px;color:{MUTED};font-family:{FONT};">{footer}</div>'
    )
    document = (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(render_subject(report))}</title></head>"
        f'<body style="margin:0;padding:0;background:{PAGE};">'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" '
        f'style="background:{PAGE};"><tr><td align="center" style="padding:24px 12px;">'
        '<table role="presentation" width="640" cellpadding="0" cellspacing="0" '
        f'style="width:100%;max-width:640px;background:#ffffff;border:1px solid {RULE};'
        f'font-family:{FONT};font-size:14px;line-height:1.45;color:{INK};">'
        f'<tr><td style="padding:20px 24px;">{"".join(s for s in sections if s)}</td></tr>'
        "</table></td></tr></table></body></html>\n"
    )
    size = len(document.encode("utf-8"))
    if size > MAX_HTML_BYTES:  # the plan's caps keep every report far below this
        raise ValueError(f"the HTML part has {size} bytes; MAX_HTML_BYTES is {MAX_HTML_BYTES}")
    return document


# --- the message --------------------------------------------------------------------------


def message_id(report: Report, destination: str, sender: Address) -> str:
    """A Message-ID fixed by (report, window, recipients): a resent copy is the same message."""
    window = report.period.current
    seed = f"{report.period.kind}|{window.start}|{window.end}|{destination}"
    digest = hashlib.sha256(seed.encode()).hexdigest()[:24]
    return f"<report.{digest}@{sender.domain}>"


def render_email(
    report: Report,
    *,
    sender: Address,
    recipients: Sequence[Address],
    destination: str,
    pdf: bytes | None = None,
) -> EmailMessage:
    """The report as a MIME message: text and HTML alternatives, and the PDF when given.

    Headers are set through EmailMessage with the SMTP policy, which refuses a newline in any
    header value; the addresses were validated when the settings were read.
    """
    if not recipients:
        raise ValueError("an email needs at least one recipient")
    message = EmailMessage(policy=MAIL_POLICY)
    message["Subject"] = render_subject(report)
    message["From"] = sender
    message["To"] = tuple(recipients)
    message["Date"] = format_datetime(report.fetched_at)
    message["Message-ID"] = message_id(report, destination, sender)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies
    message["X-Auto-Response-Suppress"] = "All"  # the same, for Exchange
    message.set_content(render_text(report), subtype="plain", charset="utf-8")
    message.add_alternative(render_html(report), subtype="html", charset="utf-8")
    if pdf is not None:
        message.add_attachment(
            pdf, maintype="application", subtype="pdf", filename=pdf_filename(report)
        )
    return message


def pdf_filename(report: Report) -> str:
    """'weekly-report-2026-11-16-to-2026-11-22.pdf': ASCII, no spaces, from the window."""
    window = report.period.current
    kind = str(report.period.kind)
    if window.start == window.end:
        return f"{kind}-report-{window.start.isoformat()}.pdf"
    return f"{kind}-report-{window.start.isoformat()}-to-{window.end.isoformat()}.pdf"
