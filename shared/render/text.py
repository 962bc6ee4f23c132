"""The terminal preview of a Report: the render plan as plain text in 80 columns; pure."""

from __future__ import annotations

import unicodedata

from shared.render.plan import Line, RenderPlan, Span, phrase_spans, plan
from shared.render.wording import more_line
from shared.report.generator import Report

TEXT_WIDTH = 80  # columns of the terminal preview


def text_width(text: str) -> int:
    """Terminal columns: wide characters (emoji, CJK) take two, combining marks none."""
    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
        for c in text
    )


def _split_at_width(word: str, width: int) -> tuple[str, str]:
    used = 0
    for i, char in enumerate(word):
        used += text_width(char)
        if used > width:
            return word[: max(i, 1)], word[max(i, 1) :]
    return word, ""


def wrap(line: str, indent: str, width: int = TEXT_WIDTH) -> list[str]:
    """`line` in rows of at most `width` columns, continuing after `indent`; long words split."""
    if text_width(line) <= width:
        return [line]
    rows: list[str] = []
    current = ""
    for word in line.split(" "):
        candidate = f"{current} {word}" if current else word
        if text_width(candidate) <= width:
            current = candidate
            continue
        if current.strip():
            rows.append(current.rstrip())
            current = indent + word
        else:
            current = candidate
        while text_width(current) > width:
            head, tail = _split_at_width(current, width)
            rows.append(head)
            current = indent + tail
    if current.strip():
        rows.append(current.rstrip())
    return rows


def text_span(span: Span) -> str:
    """A span as plain text: its glyph then its words; a link as 'text: link'."""
    if span.link:
        return f"{span.text}: {span.link}"
    return " ".join(p for p in (span.glyph, span.text) if p)


def text_line(line: Line) -> str:
    """A plan line as plain text, one space between its spans."""
    return " ".join(s for s in map(text_span, line) if s)


def _pad(text: str, width: int, *, right: bool = False) -> str:
    gap = " " * max(width - text_width(text), 0)
    return gap + text if right else text + gap


def _text_metrics(shown: RenderPlan) -> list[str]:
    rows = shown.metric_rows
    if not rows:
        return [more_line(shown.metrics_more)] if shown.metrics_more else []
    label_width = min(max(text_width(r.label) for r in rows), 24)
    value_width = max(text_width(r.value) for r in rows)
    column = label_width + value_width + 4
    indent = " " * column if column <= 40 else "    "
    out: list[str] = []
    for row in rows:
        label = row.label
        if text_width(label) > label_width:
            out += wrap(label, "  ")
            label = ""
        change = text_line(phrase_spans(row.change))
        line = f"{_pad(label, label_width)}  {_pad(row.value, value_width, right=True)}  {change}"
        out += wrap(line, indent)
        for other in row.others:
            out += [indent + r for r in wrap(other, "", TEXT_WIDTH - len(indent))]
        if row.spark:
            out += [indent + r for r in wrap(row.spark, "", TEXT_WIDTH - len(indent))]
    if shown.metrics_more:
        out.append(more_line(shown.metrics_more))
    return out


def render_text(report: Report) -> str:
    """The same digest as plain text for a terminal: same numbers and words, 80 columns."""
    shown = plan(report)
    out = [*wrap(shown.header, "  "), "=" * min(text_width(shown.header), TEXT_WIDTH), ""]
    metrics = _text_metrics(shown)
    if metrics:
        out += [*metrics, ""]
    for part in shown.parts:
        out += wrap(text_line(part.title), "  ")
        for line in part.lines:
            out += wrap(text_line(line), "   ")
        if part.more:
            out.append(more_line(part.more))
        out.append("")
    out.append("-" * TEXT_WIDTH)
    for line in shown.footer:
        out += wrap(text_line(line), "  ")
    return "\n".join(out) + "\n"
