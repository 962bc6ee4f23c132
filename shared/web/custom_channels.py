"""CustomReport's destinations: which were asked for, their claims in the ledger, the answer's
outcome members, and the dry run's plan (shared/jobs/custom_report.py runs them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared import root
from shared.delivery.ledger import DeliveryLedger
from shared.delivery.port import Poster
from shared.errors import EmailError, LedgerError, SlackError
from shared.render.report_json import period_json
from shared.render.slack import SlackMessage
from shared.report.generator import Report
from shared.root import App
from shared.web.custom_request import CustomRequest
from shared.web.http_api import HttpResult, error_result
from shared.web.ondemand import Outcome, Reservation, reserve_on_demand


@dataclass(slots=True)
class Channel:
    """One destination of this request (Slack or email) and what the ledger said of it."""

    name: str  # "slack" or "email": the answer's member and an error's side
    poster: Poster[Any]
    render: Callable[[Report, SlackMessage], Any]
    reservation: Reservation | None = None
    outcome: dict[str, Any] = field(default_factory=lambda: {"posted": False, "error": None})


def channels(app: App, request: CustomRequest) -> list[Channel] | HttpResult:
    """The destinations asked for, or the 400 saying why one cannot be had."""
    chosen: list[Channel] = []
    if request.send_slack:
        chosen.append(Channel("slack", app.slack(request.report), lambda _, message: message))
    if request.send_email:
        recipients = None
        if request.report is not None:
            spec = next(r for r in app.ctx.config.reports if r.name == request.report)
            recipients = spec.email_to or None
            if recipients is None:
                return error_result(
                    400,
                    "conflicting_parameters",
                    "this report has no email_to; send send_email=false",
                    "send_email",
                )
        email = app.email(recipients)
        if email is None:
            return error_result(
                400,
                "conflicting_parameters",
                "this deployment has no email settings (SMTP_HOST, SMTP_SENDER and EMAIL_TO); "
                "send send_email=false",
                "send_email",
            )
        chosen.append(Channel("email", email.poster, lambda report, _: email.render(report)))
    return chosen


def claim_each(app: App, request: CustomRequest, chosen: list[Channel], now: datetime) -> None:
    """Claim each destination's post in the ledger; a duplicate gets its earlier outcome."""
    for channel in chosen:
        taken = reserve(app, request, channel.poster.destination, now)
        if isinstance(taken, Outcome):
            channel.outcome = taken.as_json()
        else:
            channel.reservation = taken


def post_each(
    chosen: list[Channel], report: Report, message: SlackMessage, now: datetime
) -> tuple[str, Exception] | None:
    """Each claimed post once; the first failure's side and error (None: all went)."""
    failure: tuple[str, Exception] | None = None
    for channel in chosen:
        if channel.reservation is None:
            continue  # a duplicate for this destination: its outcome says so
        try:
            sent = channel.reservation.post(
                channel.poster, channel.render(report, message), now=now
            )
            channel.outcome = sent.as_json()
        except (SlackError, EmailError, LedgerError) as exc:
            channel.outcome = {"posted": False, "error": str(exc)}
            side = "storage" if isinstance(exc, LedgerError) else channel.name
            failure = failure or (side, exc)
    return failure


def release(chosen: list[Channel], now: datetime) -> None:
    for channel in chosen:
        if channel.reservation is not None:
            channel.reservation.release(now=now, detail="not posted: the report was not built")


def outcomes(request: CustomRequest, chosen: list[Channel]) -> dict[str, Any]:
    """The answer's `slack` member (always) and `email` member (when asked to email)."""
    by_name = {channel.name: channel.outcome for channel in chosen}
    answer = {"slack": by_name.get("slack", {"posted": False, "error": None})}
    if request.send_email:
        answer["email"] = by_name["email"]
    return answer


def reserve(
    app: App, request: CustomRequest, destination: str, now: datetime
) -> Reservation | Outcome:
    return reserve_on_demand(
        on_demand_ledger(app),
        destination,
        period=request.period,
        events=request.events,
        idempotency_key=request.idempotency_key,
        repost_seconds=app.settings.custom_repost_seconds,
        report_name=request.report,
        now=now,
    )


def on_demand_ledger(app: App) -> DeliveryLedger:
    return app.ledger() if app.settings.has_storage else root.LOCAL_LEDGER


def plan(request: CustomRequest) -> dict[str, Any]:
    period = request.period
    return {
        "dry_run": True,
        "period": period.kind.value,
        **period_json(period),
        "events": None if request.events is None else list(request.events),
        "send_slack": request.send_slack,
        "format": request.format.value,
    }
