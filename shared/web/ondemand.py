"""On-demand posts go through the delivery ledger, like the timers: claim, post, mark.

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
from typing import Any, Protocol

from shared.delivery.ledger import DeliveryKey, DeliveryLedger, DeliveryStatus
from shared.errors import SlackError
from shared.schedule.periods import ReportPeriod

ON_DEMAND_PREFIX = "ondemand"
KEYED_PREFIX = "custom"


class Poster(Protocol):
    """The Slack side: where it posts (a fingerprint, never the URL) and how."""

    @property
    def destination(self) -> str:
        """A non-secret fingerprint of the destination."""
        ...

    def post(self, message: Any) -> None:
        """Post once; raises SlackError."""
        ...


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


def post_on_demand(
    ledger: DeliveryLedger,
    slack: Poster,
    message: Any,
    *,
    period: ReportPeriod,
    events: tuple[str, ...] | None,
    idempotency_key: str | None,
    repost_seconds: int,
    now: datetime,
    report_name: str | None = None,
) -> Outcome:
    """Claim, post, mark; a repeat inside the interval (or of the same key) posts nothing."""
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
    key = DeliveryKey(report, window.start, window.end, slack.destination)
    claim = ledger.claim(key, now=now)
    if claim is None:
        if idempotency_key is not None:
            return Outcome(posted=False, duplicate=True, reason="this idempotency_key was used")
        last = _recent_post(ledger, report, now=now, interval=timedelta(days=1))
        return _suppressed(last or now, timedelta(seconds=repost_seconds))
    try:
        slack.post(message)
    except SlackError as exc:
        if exc.maybe_posted:
            ledger.mark_sent(claim, now=now, detail=f"uncertain: {exc}")
        else:
            ledger.mark_failed(claim, now=now, detail=str(exc))
        raise
    ledger.mark_sent(claim, now=now, detail=f"on demand {window.label()}")
    return Outcome(posted=True)


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
