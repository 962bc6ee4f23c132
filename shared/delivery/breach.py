"""Once per breach: the open/resolved state of every alert, kept in the delivery ledger.

A breach of rule R to destination D is the pair of deliveries
    DeliveryKey(report=<partition>, start=d, end=d, destination="D|R|open|n")
    DeliveryKey(report=<partition>, start=d, end=d, destination="D|R|resolved|n")
where n numbers R's breaches and d is the local date of the check that opened it. The ledger's
claim is the compare-and-set: of any number of concurrent or repeated fires, one claims
"open n" and posts; the others get None and post nothing. While open n is sent and resolved n
is not, the breach lasts and nothing posts; when the rule stops firing, one run claims
"resolved n". No state lives in process memory: every fire reads the ledger.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import TypeVar

from shared.delivery.ledger import DeliveryKey, DeliveryLedger, DeliveryRecord, DeliveryStatus
from shared.delivery.once import deliver
from shared.delivery.port import Message, Poster

M = TypeVar("M", bound=Message)  # the message type of the destination (Slack blocks, ...)
log = logging.getLogger("analytics_reporter")
SEPARATOR = "|"


class Phase(StrEnum):
    """The two posts of a breach."""

    OPEN = "open"
    RESOLVED = "resolved"


class Outcome(StrEnum):
    """What one step of the state machine did."""

    OPENED = "opened"  # posted the alert
    RESOLVED = "resolved"  # posted the all-clear
    ONGOING = "ongoing"  # still firing, already announced: nothing posted
    CLEAR = "clear"  # not firing, nothing open: nothing posted
    HELD = "held"  # would post, but the rule posted less than its interval ago
    BUSY = "busy"  # another run holds the claim right now


@dataclass(frozen=True, slots=True)
class BreachState:
    """Where a rule stands for one destination, as the ledger records it."""

    number: int  # the latest breach's number (0: never breached)
    opened_on: date | None
    open_status: DeliveryStatus | None
    resolved_status: DeliveryStatus | None
    last_post: datetime | None

    @property
    def is_open(self) -> bool:
        """An announced breach without its all-clear."""
        return self.open_status is DeliveryStatus.SENT and (
            self.resolved_status is not DeliveryStatus.SENT
        )


def breach_key(
    partition: str, destination: str, rule: str, phase: Phase, n: int, on: date
) -> DeliveryKey:
    """The ledger key of one post of breach `n`."""
    if SEPARATOR in destination:
        raise ValueError("the destination fingerprint must not contain '|'")
    return DeliveryKey(partition, on, on, SEPARATOR.join((destination, rule, str(phase), str(n))))


def states(records: list[DeliveryRecord], destination: str) -> dict[str, BreachState]:
    """Every rule's state for `destination` from the ledger rows of one partition."""
    found: dict[str, dict[int, dict[Phase, DeliveryRecord]]] = {}
    prefix = destination + SEPARATOR
    for record in records:
        text = record.key.destination
        if not text.startswith(prefix):
            continue
        rule, phase, number = text[len(prefix) :].rsplit(SEPARATOR, 2)
        if phase not in Phase.__members__.values() or not number.isdigit():
            continue
        found.setdefault(rule, {}).setdefault(int(number), {})[Phase(phase)] = record
    result: dict[str, BreachState] = {}
    for rule, breaches in found.items():
        latest = max(breaches)
        posts = breaches[latest]
        opened, resolved = posts.get(Phase.OPEN), posts.get(Phase.RESOLVED)
        sent = [
            r.updated_at
            for phases in breaches.values()
            for r in phases.values()
            if r.status is DeliveryStatus.SENT
        ]
        first = opened or resolved
        result[rule] = BreachState(
            number=latest,
            opened_on=first.key.start if first else None,
            open_status=opened.status if opened else None,
            resolved_status=resolved.status if resolved else None,
            last_post=max(sent) if sent else None,
        )
    return result


NEVER = BreachState(0, None, None, None, None)


def step(
    ledger: DeliveryLedger,
    poster: Poster[M],
    *,
    partition: str,
    rule: str,
    state: BreachState,
    firing: bool,
    on: date,
    now: datetime,
    min_interval: timedelta,
    opening: Callable[[], M],
    resolving: Callable[[], M],
) -> Outcome:
    """Advance one rule: post its alert when it starts firing, its all-clear when it stops."""
    if state.open_status is DeliveryStatus.CLAIMED and state.resolved_status is None:
        if not firing:  # an alert for a breach already over: let it lapse
            return Outcome.BUSY
        # Another run is posting it, or crashed mid-post: claim() takes over once its lease ends.
        key = breach_key(
            partition, poster.destination, rule, Phase.OPEN, state.number, state.opened_on or on
        )
        return _deliver(ledger, poster, key, now, opening, Phase.OPEN)
    if state.resolved_status is DeliveryStatus.CLAIMED:
        if firing:
            return Outcome.ONGOING
        key = breach_key(
            partition, poster.destination, rule, Phase.RESOLVED, state.number, state.opened_on or on
        )
        return _deliver(ledger, poster, key, now, resolving, Phase.RESOLVED)
    if state.is_open:
        if firing:
            return Outcome.ONGOING
        if _too_soon(state, now, min_interval):
            return Outcome.HELD
        key = breach_key(
            partition, poster.destination, rule, Phase.RESOLVED, state.number, state.opened_on or on
        )
        return _deliver(ledger, poster, key, now, resolving, Phase.RESOLVED)
    if not firing:
        return Outcome.CLEAR
    if state.open_status is DeliveryStatus.FAILED and state.resolved_status is None:
        # The alert's post failed: the same breach tries again.
        key = breach_key(
            partition, poster.destination, rule, Phase.OPEN, state.number, state.opened_on or on
        )
        return _deliver(ledger, poster, key, now, opening, Phase.OPEN)
    if _too_soon(state, now, min_interval):
        return Outcome.HELD
    key = breach_key(partition, poster.destination, rule, Phase.OPEN, state.number + 1, on)
    return _deliver(ledger, poster, key, now, opening, Phase.OPEN)


def _too_soon(state: BreachState, now: datetime, min_interval: timedelta) -> bool:
    return state.last_post is not None and now - state.last_post < min_interval


def _deliver(
    ledger: DeliveryLedger,
    poster: Poster[M],
    key: DeliveryKey,
    now: datetime,
    render: Callable[[], M],
    phase: Phase,
) -> Outcome:
    """Claim, post, record: the one exactly-once path (shared/delivery/once.py)."""
    if not deliver(ledger, poster, key, render, now=now, detail=lambda message: message.text):
        return Outcome.BUSY
    log.info("alert %s: %s posted", key.destination.split(SEPARATOR)[1], phase)
    return Outcome.OPENED if phase is Phase.OPEN else Outcome.RESOLVED
