"""On-demand posts go through the delivery ledger, like the timers: claim, post, mark.

The claim is taken before the report is built (reserve_on_demand), so a duplicate costs no
Mixpanel request; a claim that does not end in a post is released (marked failed).

Two kinds of key (shared/delivery/ledger.py DeliveryKey, one per window and destination):
- with an `idempotency_key`, the caller's key: that key posts at most once per window, ever;
- without one, the canonical request (period, window, events) in a time bucket of
  CUSTOM_REPOST_SECONDS: a link unfurler, a browser prefetch or a double click re-fetching the
  same URL within the interval posts nothing more. The previous bucket is read too, so the
  interval is measured from the last post, not from a bucket boundary.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.delivery.ledger import Claim, DeliveryKey, DeliveryLedger, DeliveryStatus
from shared.delivery.once import Held, hold
from shared.delivery.port import Poster
from shared.schedule.periods import ReportPeriod

ON_DEMAND_PREFIX = "ondemand"
KEYED_PREFIX = "custom"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one on-demand post."""

    posted: bool
    duplicate: bool = False
    reason: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The `slack` member of the answer (openapi.yaml SlackOutcome)."""
        answer: dict[str, Any] = {"posted": self.posted, "error": None}
        if self.duplicate:
            answer["duplicate"] = True
        if self.reason:
            answer["reason"] = self.reason
        return answer


def request_digest(
    period: ReportPeriod, events: tuple[str, ...] | None, report: str | None = None
) -> str:
    """A short stable digest of what an on-demand report contains (not how it is answered)."""
    window = period.current
    canonical = json.dumps(
        {
            "period": period.kind.value,
            "from": window.start.isoformat(),
            "to": window.end.isoformat(),
            "events": None if events is None else list(events),
            **({"report": report} if report is not None else {}),
        },
        sort_keys=True,
        ensure_ascii=True,
    )
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()[:20]


def repost_bucket(now: datetime, interval_seconds: int) -> int:
    """The time bucket `now` falls in (buckets are `interval_seconds` long, from the epoch)."""
    return int(now.astimezone(UTC).timestamp() // interval_seconds)


def on_demand_report_name(digest: str, bucket: int | str) -> str:
    """The ledger's report name for one canonical request in one bucket."""
    return f"{ON_DEMAND_PREFIX}:{digest}:{bucket}"


def _recent_post(
    ledger: DeliveryLedger, report: str, *, now: datetime, interval: timedelta
) -> datetime | None:
    """When `report` was last posted or claimed, if that is less than `interval` ago."""
    for record in ledger.history(report=report):
        if record.status is DeliveryStatus.FAILED:
            continue
        if now - record.updated_at < interval:
            return record.updated_at
    return None


@dataclass(slots=True)
class Reservation:
    """The claim on one on-demand post, taken before the report is built or rendered.

    Taken first, so a duplicate is recognised before a single Mixpanel request is spent; then
    posted (`post`) or, if anything stops the post, released (`release`), so a repeat may try
    again at once instead of being answered as a duplicate until the lease runs out. Both go
    through the one delivery path (shared/delivery/once.py).
    """

    held: Held
    label: str

    @property
    def claim(self) -> Claim:
        """The ledger claim this reservation holds."""
        return self.held.claim

    def post(self, slack: Poster[Any], message: Any, *, now: datetime) -> Outcome:
        """Post once and mark the claim sent; a Slack (or email) failure marks it failed (or
        sent, if the destination may have the message) and is raised."""
        self.held.post(slack, message, now=now, detail=f"on demand {self.label}")
        return Outcome(posted=True)

    def release(self, *, now: datetime, detail: str) -> None:
        """Mark the claim failed unless it was already settled: nothing reached Slack."""
        self.held.release(now=now, detail=detail)


def reserve_on_demand(
    ledger: DeliveryLedger,
    destination: str,
    *,
    period: ReportPeriod,
    events: tuple[str, ...] | None,
    idempotency_key: str | None,
    repost_seconds: int,
    now: datetime,
    report_name: str | None = None,
) -> Reservation | Outcome:
    """The claim for this post, or the duplicate Outcome when the ledger says it is a repeat.

    Reads and claims only the ledger: a repeat of a used idempotency_key, or of the same
    report inside CUSTOM_REPOST_SECONDS, costs no Mixpanel request at all.
    """
    window = period.current
    if idempotency_key is not None:
        report = f"{KEYED_PREFIX}:{idempotency_key}"
    elif repost_seconds > 0:
        digest = request_digest(period, events, report_name)
        bucket = repost_bucket(now, repost_seconds)
        report = on_demand_report_name(digest, bucket)
        interval = timedelta(seconds=repost_seconds)
        previous = on_demand_report_name(digest, bucket - 1)
        last = _recent_post(ledger, previous, now=now, interval=interval)
        if last is not None:
            return _suppressed(last, interval)
    else:
        report = on_demand_report_name("always", uuid.uuid4().hex)
    key = DeliveryKey(report, window.start, window.end, destination)
    held = hold(ledger, key, now=now)
    if held is None:
        if idempotency_key is not None:
            return Outcome(posted=False, duplicate=True, reason="this idempotency_key was used")
        last = _recent_post(ledger, report, now=now, interval=timedelta(days=1))
        return _suppressed(last or now, timedelta(seconds=repost_seconds))
    return Reservation(held, window.label())


def post_on_demand(
    ledger: DeliveryLedger,
    slack: Poster[Any],
    message: Any,
    *,
    period: ReportPeriod,
    events: tuple[str, ...] | None,
    idempotency_key: str | None,
    repost_seconds: int,
    now: datetime,
    report_name: str | None = None,
) -> Outcome:
    """Claim, post, mark; a repeat inside the interval (or of the same key) posts nothing.

    Any failure to post (a Slack error, or any other exception) leaves no claim behind.
    """
    taken = reserve_on_demand(
        ledger,
        slack.destination,
        period=period,
        events=events,
        idempotency_key=idempotency_key,
        repost_seconds=repost_seconds,
        now=now,
        report_name=report_name,
    )
    if isinstance(taken, Outcome):
        return taken
    try:
        return taken.post(slack, message, now=now)
    except BaseException as exc:
        taken.release(now=now, detail=f"not posted: {type(exc).__name__}")
        raise


def _suppressed(last: datetime, interval: timedelta) -> Outcome:
    again = (last + interval).astimezone(UTC).replace(microsecond=0)
    return Outcome(
        posted=False,
        duplicate=True,
        reason=(
            f"the same report was posted to this destination at "
            f"{last.astimezone(UTC).replace(microsecond=0).isoformat()}; it posts again from "
            f"{again.isoformat()} (CUSTOM_REPOST_SECONDS), or at once with a new idempotency_key"
        ),
    )
