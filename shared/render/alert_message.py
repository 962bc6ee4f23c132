"""The Slack posts of alerts: one when a breach starts, one when it is over; pure."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from shared.alerts.evaluate import Finding
from shared.render.blocks import (
    MAX_FALLBACK_TEXT_CHARS,
    context_block,
    escape_mrkdwn,
    escape_truncated,
    section_block,
)
from shared.render.slack import SlackMessage
from shared.render.wording import MAX_LINE_CHARS


def _local(moment: datetime, tz: ZoneInfo) -> str:
    return f"{moment.astimezone(tz):%a %d %b %H:%M %Z}"


def render_alert(finding: Finding, *, company: str, now: datetime, tz: ZoneInfo) -> SlackMessage:
    """The alert: what broke, since when, expected against seen."""
    title = escape_truncated(finding.title, MAX_LINE_CHARS)
    detail = escape_truncated(finding.detail, MAX_LINE_CHARS)
    text = f":rotating_light: *{title}*\n{detail}"
    blocks = (
        section_block(text=text),
        context_block(
            [
                escape_mrkdwn(
                    f"{company} alert · checked {_local(now, tz)} · one post per breach; "
                    "a resolved post follows when it is over"
                )
            ]
        ),
    )
    fallback = escape_truncated(
        f"Alert: {finding.title}. {finding.detail}", MAX_FALLBACK_TEXT_CHARS
    )
    return SlackMessage(text=fallback, blocks=blocks)


def render_resolved(
    title: str, *, company: str, now: datetime, tz: ZoneInfo, since: str | None = None
) -> SlackMessage:
    """The all-clear that ends a breach."""
    name = escape_truncated(title, MAX_LINE_CHARS)
    opened = f" (alert raised {since})" if since else ""
    text = f":white_check_mark: *Resolved: {name}*{escape_mrkdwn(opened)}"
    blocks = (
        section_block(text=text),
        context_block([escape_mrkdwn(f"{company} alert · back to normal by {_local(now, tz)}")]),
    )
    fallback = escape_truncated(f"Resolved: {title}{opened}", MAX_FALLBACK_TEXT_CHARS)
    return SlackMessage(text=fallback, blocks=blocks)
