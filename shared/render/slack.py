"""Slack messages: the digest of a Report (the render plan as Block Kit) and the failure
notice, each a `SlackMessage` Slack accepts, within every limit of shared/render/blocks.py; pure.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shared.render.blocks import (
    MAX_BLOCKS,
    MAX_FALLBACK_TEXT_CHARS,
    MAX_MESSAGE_TEXT_CHARS,
    context_block,
    divider_block,
    escape_mrkdwn,
    escape_truncated,
    header_block,
    literal_mrkdwn,
    message_text_chars,
    section_block,
)
from shared.render.plan import mrkdwn_compact, mrkdwn_field, mrkdwn_line, mrkdwn_part, plan
from shared.render.sparkline import metric_sparkline
from shared.render.wording import (
    MAX_ERROR_CHARS,
    MAX_NAME_CHARS,
    clean,
    one_line,
    report_name,
    short_change,
    truncate,
    unit_value,
)
from shared.report.generator import Report, Verdict
from shared.schedule.periods import Window


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

    def has_charts(self) -> bool:
        """True when the message holds a data_visualization block."""
        return has_charts(self)

    def without_charts(self) -> SlackMessage:
        """The same message without its charts (what a chart-refusing destination gets)."""
        return without_charts(self)


MAX_SUMMARY_CHARS = 600  # one chart's numbers as a context line when the chart is dropped


def has_charts(message: SlackMessage) -> bool:
    """True when the message holds a data_visualization block."""
    from shared.render.charts import is_chart  # loaded with the charts, not with every import

    return any(is_chart(b) for b in message.blocks)


def without_charts(message: SlackMessage) -> SlackMessage:
    """The same message with each chart replaced by a context line of its numbers (if room)."""
    from shared.render.charts import chart_summary, is_chart

    kept = [b for b in message.blocks if not is_chart(b)]
    room = MAX_MESSAGE_TEXT_CHARS - message_text_chars(kept)
    blocks: list[dict[str, Any]] = []
    for block in message.blocks:
        if not is_chart(block):
            blocks.append(block)
            continue
        # The chart's strings are escaped already: cut, but do not escape them twice.
        line = truncate(f"📈 {chart_summary(block)}", max(0, min(MAX_SUMMARY_CHARS, room)))
        if len(line) >= 20:  # else there is no room left for a useful line: drop the chart
            blocks.append(context_block([line]))
            room -= len(line)
    return SlackMessage(text=message.text, blocks=tuple(blocks))


def fallback_text(report: Report) -> str:
    """The notification text: the report's name, window and each metric in a few words."""
    summaries = []
    for metric in report.metrics:
        label = clean(metric.spec.label, MAX_NAME_CHARS)
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


def render_message(report: Report) -> SlackMessage:
    """The digest as Block Kit: numbers first, every data string escaped, within every limit."""
    from shared.render.charts import chart_blocks  # loaded when a message is rendered, not before

    shown = plan(report)
    blocks: list[dict[str, Any]] = [header_block(shown.header)]
    if shown.compact:
        blocks += [
            section_block(text=t) for t in mrkdwn_compact(shown.metric_chunks, shown.metrics_more)
        ]
    else:
        blocks += [
            section_block(fields=[mrkdwn_field(r) for r in chunk]) for chunk in shown.metric_chunks
        ]
    blocks += chart_blocks(report)  # Slack's native charts; shared.delivery drops them if refused
    if shown.parts:
        blocks.append(divider_block())
        blocks += [section_block(text=mrkdwn_part(part)) for part in shown.parts]
    blocks.append(divider_block())
    blocks.append(context_block([mrkdwn_line(line) for line in shown.footer]))
    return SlackMessage(text=fallback_text(report), blocks=tuple(blocks))


def render_failure(
    *,
    report: str,
    window: Window | None,
    error: str,
    when: datetime,
    will_retry: bool | None = None,
) -> SlackMessage:
    """A short notice that a report failed and posted no numbers; `error` must hold no secret."""
    name = clean(report, MAX_NAME_CHARS) or "report"
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


def render_recovered(report: str, now: datetime) -> SlackMessage:
    """One line: the report works again."""
    name = report if report.lower().endswith("report") else f"{report} report"
    name = name[:1].upper() + name[1:]
    text = f":white_check_mark: {name} recovered: the last run succeeded."
    return SlackMessage(
        text=text,
        blocks=(
            section_block(text=escape_mrkdwn(text)),
            context_block([escape_mrkdwn(f"at {now.astimezone(UTC):%d %b %Y %H:%M %Z}")]),
        ),
    )
