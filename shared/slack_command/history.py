"""Delivery history from the ledger, as people read it: report, window, setting name; pure.

A ledger row names its destination by a fingerprint (Secret.fingerprint(), an email list's
hash); `destination_names` fingerprints each configured destination again so a row can say
which SETTING it went to (SLACK_WEBHOOK_URL, a [[report]]'s destination setting, ...). A
fingerprint no setting has any more reads "unknown destination". Never a URL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from shared.addresses import fingerprint as email_fingerprint
from shared.delivery.ledger import DeliveryRecord, DeliveryStatus
from shared.report.reports import ReportSpec
from shared.settings import Secret, Settings

DEFAULT_DAYS = 7
MAX_DAYS = 90
MAX_ERROR_CHARS = 200
UNKNOWN_DESTINATION = "unknown destination"
# The slash command's own answers: private replies, not deliveries anyone scheduled.
COMMAND_PREFIX = "slash:"
# What the ledger's report names mean (shared/web/ondemand.py, shared/pipeline.py).
_PREFIXES = (
    ("ondemand:", "CustomReport (on demand)"),
    ("custom:", "CustomReport (idempotency key)"),
    ("report:", ""),
)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One delivery as the history shows it."""

    report: str
    start: date
    end: date
    destination: str  # a setting's name, or UNKNOWN_DESTINATION
    status: str  # sent, failed, in progress
    delivered_at: datetime | None
    updated_at: datetime
    attempts: int
    last_error: str | None

    def as_json(self) -> dict[str, Any]:
        """One item of DeliveryHistory's `deliveries` (openapi.yaml Delivery)."""
        return {
            "report": self.report,
            "window": {"from": self.start.isoformat(), "to": self.end.isoformat()},
            "destination": self.destination,
            "status": self.status,
            "delivered_at": None if self.delivered_at is None else _iso(self.delivered_at),
            "updated_at": _iso(self.updated_at),
            "attempts": self.attempts,
            "last_error": self.last_error,
        }


def destination_names(
    settings: Settings, reports: Sequence[ReportSpec], webhooks: Mapping[str, Secret]
) -> dict[str, str]:
    """Each configured destination's fingerprint -> the name of the setting(s) holding it."""
    names: dict[str, str] = {}
    if settings.slack_webhook_url.reveal():
        names[settings.slack_webhook_url.fingerprint()] = "SLACK_WEBHOOK_URL"
    if settings.slack_bot_token is not None and settings.slack_channel:
        from shared.delivery.slack_bot import SlackBotPoster  # the one place its key is made

        bot = SlackBotPoster(settings.slack_bot_token, settings.slack_channel)
        names[bot.destination] = "SLACK_BOT_TOKEN + SLACK_CHANNEL"
    if settings.email is not None and settings.email.recipients:
        names[email_fingerprint(settings.email.recipients)] = "EMAIL_TO"
    for spec in reports:
        if spec.destination and spec.name in webhooks:
            names[webhooks[spec.name].fingerprint()] = spec.destination
        if spec.email_to:
            names[email_fingerprint(spec.email_to)] = f"email_to of report {spec.name}"
    return names


def report_label(name: str) -> str:
    """The ledger's report key as a person reads it ('report:growth' is 'growth')."""
    for prefix, label in _PREFIXES:
        if name.startswith(prefix):
            return label or name.removeprefix(prefix)
    return name


def recent_deliveries(
    records: Sequence[DeliveryRecord],
    *,
    names: Mapping[str, str],
    now: datetime,
    days: int = DEFAULT_DAYS,
) -> list[Delivery]:
    """The deliveries updated in the last `days` days, newest first, command answers left out."""
    since = now - timedelta(days=days)
    shown: list[Delivery] = []
    for record in records:
        if record.updated_at < since or record.key.report.startswith(COMMAND_PREFIX):
            continue
        # Alert rows key their destination as 'fingerprint|rule|phase|n'.
        fingerprint = record.key.destination.split("|", 1)[0]
        failed = record.status is DeliveryStatus.FAILED
        uncertain = record.detail.startswith("uncertain:")
        shown.append(
            Delivery(
                report=report_label(record.key.report),
                start=record.key.start,
                end=record.key.end,
                destination=names.get(fingerprint, UNKNOWN_DESTINATION),
                status=_status(record.status),
                delivered_at=record.updated_at if record.status is DeliveryStatus.SENT else None,
                updated_at=record.updated_at,
                attempts=record.attempt,
                last_error=_one_line(record.detail) if failed or uncertain else None,
            )
        )
    return sorted(shown, key=lambda d: d.updated_at, reverse=True)


def _status(status: DeliveryStatus) -> str:
    return "in progress" if status is DeliveryStatus.CLAIMED else str(status)


def _one_line(detail: str) -> str:
    text = " ".join(detail.split()) or "no reason recorded"
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()
