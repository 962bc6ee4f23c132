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

from shared.delivery.breach import NEVER, M, Outcome, states, step
from shared.delivery.ledger import DeliveryLedger
from shared.delivery.port import Poster
from shared.errors import ReporterError

log = logging.getLogger("analytics_reporter")
PARTITION = "failures"
UTC_ZONE = ZoneInfo("UTC")


def failure_once(
    ledger: DeliveryLedger,
    poster: Poster[M],
    *,
    report: str,
    now: datetime,
    notice: Callable[[], M],
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
        resolving=notice,  # never used while firing
    )


def recovered(
    ledger: DeliveryLedger,
    poster: Poster[M],
    *,
    report: str,
    now: datetime,
    line: Callable[[], M],
) -> None:
    """After a successful run: end an open failure streak with one "recovered" `line` (built
    by the caller's renderer, e.g. shared/render/slack.py render_recovered).

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
            opening=line,  # never used when not firing
            resolving=line,
        )
    except ReporterError as exc:
        log.warning("could not post the recovered line for the %s report: %s", report, exc)
