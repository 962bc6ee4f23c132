"""Failure notices once per failure streak, and one "recovered" line when a run succeeds again.

A streak is a breach (shared/delivery/breach.py) of the rule "failure:<report>" in the ledger
partition "failures": the first failed attempt of a streak posts its notice; further failed
attempts and runs post nothing; the next success posts one recovered line and ends the streak.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from shared.delivery.breach import NEVER, Outcome, states, step
from shared.delivery.ledger import DeliveryLedger
from shared.delivery.port import Poster
from shared.errors import ReporterError
from shared.render.slack_message import (
    SlackMessage,
    context_block,
    escape_mrkdwn,
    section_block,
)

log = logging.getLogger("analytics_reporter")
PARTITION = "failures"
UTC_ZONE = ZoneInfo("UTC")


def failure_once(
    ledger: DeliveryLedger,
    poster: Poster[SlackMessage],
    *,
    report: str,
    now: datetime,
    notice: Callable[[], SlackMessage],
) -> Outcome:
    """Post `notice` if this failure starts a streak; raises LedgerError if the ledger fails."""
    rule = f"failure:{report}"
    state = states(ledger.history(report=PARTITION), poster.destination).get(rule, NEVER)
    return step(
        ledger,
        poster,
        partition=PARTITION,
        rule=rule,
        state=state,
        firing=True,
        on=now.astimezone(UTC_ZONE).date(),
        now=now,
        min_interval=timedelta(0),
        opening=notice,
        resolving=lambda: render_recovered(report, now),
    )


def recovered(
    ledger: DeliveryLedger, poster: Poster[SlackMessage], *, report: str, now: datetime
) -> None:
    """After a successful run: end an open failure streak with one "recovered" line.

    Never raises: the run itself succeeded, and a failed all-clear is retried next run.
    """
    rule = f"failure:{report}"
    try:
        state = states(ledger.history(report=PARTITION), poster.destination).get(rule, NEVER)
        if not state.is_open and state.open_status is None:
            return
        step(
            ledger,
            poster,
            partition=PARTITION,
            rule=rule,
            state=state,
            firing=False,
            on=now.astimezone(UTC_ZONE).date(),
            now=now,
            min_interval=timedelta(0),
            opening=lambda: render_recovered(report, now),  # never used when not firing
            resolving=lambda: render_recovered(report, now),
        )
    except ReporterError as exc:
        log.warning("could not post the recovered line for the %s report: %s", report, exc)


def render_recovered(report: str, now: datetime) -> SlackMessage:
    """One line: the report works again."""
    name = report if report.lower().endswith("report") else f"{report} report"
    name = name[:1].upper() + name[1:]
    text = f":white_check_mark: {name} recovered: the last run succeeded."
    return SlackMessage(
        text=text,
        blocks=(
            section_block(text=escape_mrkdwn(text)),
            context_block([escape_mrkdwn(f"at {now.astimezone(UTC_ZONE):%d %b %Y %H:%M %Z}")]),
        ),
    )
