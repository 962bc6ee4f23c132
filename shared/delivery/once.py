"""Exactly once: the one claim, post, mark path every delivery takes.

Scheduled and named reports, their emails, on-demand posts, alerts and their all-clears,
failure notices and recovered lines all reach a destination through `deliver` (or `hold`, when
the claim must be taken before the message is built, so a duplicate costs nothing). The rules,
in one place:

- a delivery is claimed in the ledger first; a claim refused (sent, or held by another run)
  posts nothing;
- the message is posted once; a post the destination took is marked sent;
- a DeliveryError with `maybe_posted` (a timeout after the request went out) is marked sent
  "uncertain: ...": never posted again, since a second copy is worse than a doubt;
- any other failure after the claim, whatever raised it, marks the claim failed, so a later
  run may deliver it at once and no claim is left hanging until its lease runs out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from shared.delivery.ledger import Claim, DeliveryKey, DeliveryLedger
from shared.delivery.port import Poster
from shared.errors import DeliveryError, ReporterError

log = logging.getLogger("analytics_reporter")
M = TypeVar("M")
MAX_DETAIL_CHARS = 500


def failure_detail(error: BaseException) -> str:
    """One line naming a failure: our own error's words, or only the type of anything else
    (a bug's text may hold internals; it goes to the function logs, not to a ledger or Slack)."""
    if isinstance(error, ReporterError):
        text = str(error)
    else:
        text = f"internal error ({type(error).__name__}); see the function logs"
    return " ".join(text.split())[:MAX_DETAIL_CHARS]


@dataclass(slots=True)
class Held:
    """A claim on one delivery, taken before the message exists: posted once, or released."""

    ledger: DeliveryLedger
    claim: Claim
    settled: bool = False

    @property
    def key(self) -> DeliveryKey:
        """What this claim delivers."""
        return self.claim.key

    def post(self, poster: Poster[M], message: M, *, now: datetime, detail: str) -> None:
        """Post `message` and mark the claim sent (with `detail`); on failure mark it failed, or
        sent "uncertain" when the destination may have it, and raise the failure."""
        if self.settled:
            raise RuntimeError(f"the claim on {self.claim.key} was already settled")
        self.settled = True
        try:
            poster.post(message)
        except DeliveryError as exc:
            if exc.maybe_posted:  # never risk a second copy: record it, and say so
                self.ledger.mark_sent(
                    self.claim, now=now, detail=f"uncertain: {failure_detail(exc)}"
                )
            else:
                self.ledger.mark_failed(self.claim, now=now, detail=failure_detail(exc))
            raise
        except BaseException as exc:
            self.ledger.mark_failed(self.claim, now=now, detail=failure_detail(exc))
            raise
        self.ledger.mark_sent(self.claim, now=now, detail=detail)

    def release(self, *, now: datetime, detail: str) -> None:
        """Mark the claim failed unless it was posted or released already: nothing was sent."""
        if not self.settled:
            self.settled = True
            self.ledger.mark_failed(self.claim, now=now, detail=detail)


def hold(ledger: DeliveryLedger, key: DeliveryKey, *, now: datetime) -> Held | None:
    """The claim on `key`, or None when it was sent already or another run is delivering it.

    Raises LedgerError when the ledger cannot tell: then nothing may be posted."""
    claim = ledger.claim(key, now=now)
    return None if claim is None else Held(ledger, claim)


def deliver(
    ledger: DeliveryLedger,
    poster: Poster[M],
    key: DeliveryKey,
    message: Callable[[], M],
    *,
    now: datetime,
    detail: Callable[[M], str] | str,
) -> bool:
    """Claim `key`, build the message, post it once, mark it: True when this call posted it,
    False when the ledger says it is sent or being sent. Failures are marked and raised."""
    held = hold(ledger, key, now=now)
    if held is None:
        return False
    try:
        built = message()
    except BaseException as exc:
        held.release(now=now, detail=failure_detail(exc))
        raise
    held.post(poster, built, now=now, detail=detail if isinstance(detail, str) else detail(built))
    return True
