"""CustomReport over HTTP: request in, status and JSON out; the only place errors become codes."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from shared.app import App
from shared.clock import utc_now
from shared.delivery.ledger import DeliveryKey
from shared.errors import (
    ConfigError,
    InvalidRequest,
    LedgerError,
    MixpanelAuthError,
    MixpanelError,
    MixpanelRateLimited,
    MixpanelUnavailable,
    SlackError,
    UnknownEventsError,
    UnknownPropertiesError,
)
from shared.pipeline import produce_report
from shared.render.report_json import period_json, report_to_json
from shared.render.slack_message import render_message, render_text
from shared.report.generator import Report
from shared.web.custom_request import CustomRequest, OutputFormat, parse_custom_request
from shared.web.plan_cost import plan_costs

log = logging.getLogger("analytics_reporter")
JSON = "application/json"


@dataclass(frozen=True, slots=True)
class HttpResult:
    """What the adapter turns into a func.HttpResponse."""

    status: int
    body: bytes
    mimetype: str = JSON
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        """The body parsed as JSON (for tests and the dev server)."""
        return json.loads(self.body)


def _json(status: int, value: object, headers: dict[str, str] | None = None) -> HttpResult:
    body = json.dumps(value, ensure_ascii=False, indent=2).encode("utf-8")
    return HttpResult(status, body, JSON, headers or {})


def error_result(
    status: int,
    code: str,
    message: str,
    field_name: str | None = None,
    *,
    side: str | None = None,
    retry_after: float | None = None,
    extra: Mapping[str, Any] | None = None,
) -> HttpResult:
    """The documented error shape: {"error": {"code", "message", "field"[, "side"]}}."""
    error: dict[str, Any] = {"code": code, "message": message, "field": field_name}
    if side:
        error["side"] = side
    headers = {"Retry-After": str(max(1, math.ceil(retry_after)))} if retry_after else {}
    return _json(status, {"error": error, **(extra or {})}, headers)


def handle_custom_report(
    method: str,
    params: Mapping[str, str],
    body: bytes,
    *,
    environ: Mapping[str, str],
    now: datetime | None = None,
) -> HttpResult:
    """Answer one /api/CustomReport request; never raises."""
    try:
        return _handle(method, params, body, environ=environ, now=now or utc_now())
    except Exception:  # a bug must still answer in the documented shape, without internals
        log.exception("CustomReport failed unexpectedly")
        return error_result(500, "internal_error", "internal error; see the function logs")


def _handle(
    method: str,
    params: Mapping[str, str],
    body: bytes,
    *,
    environ: Mapping[str, str],
    now: datetime,
) -> HttpResult:
    try:
        app = App.from_environ(environ)
    except ConfigError as exc:
        log.error("CustomReport: %s", exc)
        return error_result(
            500,
            "server_misconfigured",
            "the reporter's settings are invalid; see the function logs",
        )
    with app.session:
        today = now.astimezone(app.settings.timezone).date()
        try:
            reports = {r.name: r.cadence for r in app.ctx.config.reports}
            request = parse_custom_request(method, params, body, today=today, reports=reports)
        except InvalidRequest as exc:
            if exc.code == "method_not_allowed":
                result = error_result(405, exc.code, exc.message, exc.field)
                return replace(result, headers={**result.headers, "Allow": "GET, POST"})
            return error_result(400, exc.code, exc.message, exc.field)
        if request.dry_run:
            return _json(200, {**_plan(request), **plan_costs(app, request, today)})
        return _report(app, request, now)


def _report(app: App, request: CustomRequest, now: datetime) -> HttpResult:
    ctx = app.ctx
    if request.events is not None:
        ctx = replace(ctx, config=ctx.config.with_events(request.events))
    if request.report is not None:
        ctx = app.report_context(next(r for r in ctx.config.reports if r.name == request.report))
    try:
        report = produce_report(
            request.period,
            ctx,
            mixpanel=app.mixpanel(),
            now=now,
            events_field="events"
            if request.events
            else f"{ctx.config.source}: report {request.report!r}"
            if request.report
            else "metrics file",
        )
    except UnknownEventsError as exc:
        if exc.where == "events":
            return error_result(400, "unknown_event", str(exc), "events")
        log.error("CustomReport: %s", exc)
        return error_result(500, "server_misconfigured", str(exc))
    except UnknownPropertiesError as exc:
        log.error("CustomReport: %s", exc)
        return error_result(500, "server_misconfigured", str(exc))
    except MixpanelRateLimited as exc:
        return error_result(
            429,
            "mixpanel_rate_limited",
            "Mixpanel's query budget for this project is spent; try again later",
            side="mixpanel",
            retry_after=exc.retry_after or 60,
        )
    except MixpanelAuthError:
        return error_result(
            502,
            "mixpanel_auth",
            "Mixpanel rejected the service account credentials or project access",
            side="mixpanel",
        )
    except MixpanelUnavailable as exc:
        return error_result(503, "mixpanel_unavailable", str(exc), side="mixpanel", retry_after=30)
    except MixpanelError as exc:
        return error_result(502, "mixpanel_error", str(exc), side="mixpanel")

    message = render_message(report)
    slack: dict[str, Any] = {"posted": False, "error": None}
    if request.send_slack:
        try:
            slack = _post(app, request, report, message, now)
        except ConfigError as exc:
            log.error("CustomReport: %s", exc)
            return error_result(500, "server_misconfigured", str(exc))
        except (SlackError, LedgerError) as exc:
            side = "slack" if isinstance(exc, SlackError) else "storage"
            return error_result(
                502,
                f"{side}_failed",
                f"the report was built but not posted: {exc}",
                side=side,
                extra={
                    "report": report_to_json(report),
                    "slack": {"posted": False, "error": str(exc)},
                },
            )
    if request.format is OutputFormat.TEXT:
        return HttpResult(200, render_text(report).encode("utf-8"), "text/plain")
    if request.format is OutputFormat.BLOCKS:
        return _json(200, message.payload())
    return _json(200, {"report": report_to_json(report), "slack": slack})


def _post(
    app: App, request: CustomRequest, report: Report, message: Any, now: datetime
) -> dict[str, Any]:
    """Post once; with an idempotency key, a repeat of the same request posts nothing."""
    slack = app.slack(request.report)
    if request.idempotency_key is None:
        slack.post(message)
        return {"posted": True, "error": None}
    window = report.period.current
    ledger = app.ledger()
    claim = ledger.claim(
        DeliveryKey(
            f"custom:{request.idempotency_key}", window.start, window.end, slack.destination
        ),
        now=now,
    )
    if claim is None:
        return {"posted": False, "error": None, "duplicate": True}
    try:
        slack.post(message)
    except SlackError as exc:
        if exc.maybe_posted:
            ledger.mark_sent(claim, now=now, detail=f"uncertain: {exc}")
        else:
            ledger.mark_failed(claim, now=now, detail=str(exc))
        raise
    ledger.mark_sent(claim, now=now, detail=f"custom {window.label()}")
    return {"posted": True, "error": None}


def _plan(request: CustomRequest) -> dict[str, Any]:
    period = request.period
    return {
        "dry_run": True,
        "period": period.kind.value,
        **period_json(period),
        "events": None if request.events is None else list(request.events),
        "send_slack": request.send_slack,
        "format": request.format.value,
    }
