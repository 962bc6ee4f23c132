"""What the command says back: acknowledgement, help, status, refusals and errors; pure."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from shared.errors import MixpanelRateLimited
from shared.render.blocks import (
    MAX_SECTION_TEXT_CHARS,
    context_block,
    escape_mrkdwn,
    fit_lines,
    header_block,
    section_block,
)
from shared.render.slack import SlackMessage
from shared.report.metrics import MetricsConfig
from shared.schedule.periods import PeriodKind, report_period
from shared.slack_command.history import DEFAULT_DAYS, Delivery
from shared.slack_command.parse import ReportAsk
from shared.web.custom_request import MAX_SPAN_DAYS, PERIODS

EPHEMERAL = "ephemeral"
IN_CHANNEL = "in_channel"
DEFAULT_RETRY_SECONDS = 60
_PERIOD_MEANING = {
    PeriodKind.DAILY: "yesterday",
    PeriodKind.WEEKLY: "last week",
    PeriodKind.BIWEEKLY: "the last two weeks",
    PeriodKind.MONTHLY: "last month",
}


@dataclass(frozen=True, slots=True)
class Reply:
    """A message for a command's response_url: ephemeral (the asker only) or in the channel."""

    message: SlackMessage
    response_type: str = EPHEMERAL

    def payload(self) -> dict[str, Any]:
        """The JSON Slack takes at a response_url."""
        return {
            "response_type": self.response_type,
            "replace_original": False,
            **self.message.payload(),
        }


def text_message(text: str) -> SlackMessage:
    """A one-section message (the text is mrkdwn already escaped where it must be)."""
    return SlackMessage(text=text, blocks=(section_block(text=text),))


def ack_text(ask: ReportAsk) -> str:
    """The immediate answer to a report command (Slack shows it only to the asker)."""
    what = f"the *{escape_mrkdwn(ask.report)}* report" if ask.report else "the report"
    where = "posted to this channel" if ask.share else "shown here, only to you"
    return (
        f":hourglass_flowing_sand: Building {what} for {ask.period.current.label()}; "
        f"it will be {where} in a few seconds."
    )


STATUS_ACK = ":hourglass_flowing_sand: Reading the delivery history…"


def help_message(config: MetricsConfig, *, today: date) -> SlackMessage:
    """Everything `/analytics` understands: periods, report names, date ranges, metrics."""
    periods = [
        f"`{word}`: {_PERIOD_MEANING[kind]} ({report_period(kind, today).current.label()})"
        for word, kind in PERIODS.items()
    ]
    yesterday = today - timedelta(days=1)
    start = yesterday - timedelta(days=6)
    reports = [
        f"`{escape_mrkdwn(spec.name)}` ({spec.cadence}): "
        + ", ".join(escape_mrkdwn(m.label) for m in config.report(spec.name).metrics)
        for spec in config.reports
    ]
    default = ", ".join(escape_mrkdwn(m.label) for m in config.metrics)
    parts = [
        "*Periods* (the default metrics: " + default + ")\n" + "\n".join(periods),
        "*Reports*\n" + (fit_lines(reports, 2500) if reports else "none defined"),
        f"*Date range*: `/analytics {start.isoformat()} {yesterday.isoformat()}`: whole days "
        f"up to yesterday, at most {MAX_SPAN_DAYS}",
        "*More*: add `share` to post the answer to the channel "
        "(`/analytics weekly share`); `/analytics status`: what was delivered in the last "
        f"{DEFAULT_DAYS} days and what failed.",
    ]
    blocks = [header_block("/analytics")]
    blocks += [section_block(text=_fit(part)) for part in parts]
    return SlackMessage(
        text="/analytics: periods, reports, date ranges, share, status", blocks=tuple(blocks)
    )


def status_message(deliveries: Sequence[Delivery], *, days: int = DEFAULT_DAYS) -> SlackMessage:
    """The delivery history as one message: delivered, failed, in progress."""
    groups: Mapping[str, list[str]] = {
        "Failed": [_line(d) for d in deliveries if d.status == "failed"],
        "Delivered": [_line(d) for d in deliveries if d.status == "sent"],
        "In progress": [_line(d) for d in deliveries if d.status == "in progress"],
    }
    summary = (
        f"Last {days} days: {len(groups['Delivered'])} delivered, {len(groups['Failed'])} failed"
    )
    blocks = [header_block(f"Deliveries, last {days} days")]
    for title, lines in groups.items():
        if lines:
            blocks.append(
                section_block(text=_fit(f"*{title}* ({len(lines)})\n" + fit_lines(lines, 2800)))
            )
    if len(blocks) == 1:
        blocks.append(section_block(text="Nothing was delivered or attempted."))
    blocks.append(context_block(["Times in UTC. Destinations are setting names, never URLs."]))
    return SlackMessage(text=summary, blocks=tuple(blocks))


def error_text(error: BaseException, *, now: datetime) -> str:
    """One short line for a report that could not be built (no secrets: ReporterError texts)."""
    from shared.pipeline import one_line

    if isinstance(error, MixpanelRateLimited):
        wait = max(1, math.ceil(error.retry_after or DEFAULT_RETRY_SECONDS))
        again = (now + timedelta(seconds=wait)).astimezone(UTC).strftime("%H:%M UTC")
        minutes = max(1, math.ceil(wait / 60))
        return (
            ":warning: Mixpanel's query budget for this project is spent. "
            f"Try again in about {minutes} minute{'s' if minutes != 1 else ''} (after {again})."
        )
    return f":warning: The report could not be built: {escape_mrkdwn(one_line(error))}"


def _line(d: Delivery) -> str:
    window = d.start.isoformat() if d.start == d.end else f"{d.start} to {d.end}"
    when = (d.delivered_at or d.updated_at).astimezone(UTC).strftime("%a %d %b %H:%M")
    verb = {"sent": "delivered", "failed": "failed", "in progress": "started"}[d.status]
    attempts = f"{d.attempts} attempt{'s' if d.attempts != 1 else ''}"
    line = (
        f"• *{escape_mrkdwn(d.report)}* {window} → {escape_mrkdwn(d.destination)}, "
        f"{verb} {when}, {attempts}"
    )
    return line + (f": {escape_mrkdwn(d.last_error)}" if d.last_error else "")


def _fit(text: str) -> str:
    return text if len(text) <= MAX_SECTION_TEXT_CHARS else text[: MAX_SECTION_TEXT_CHARS - 1] + "…"
