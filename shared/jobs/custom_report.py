"""CustomReport over HTTP: a report on demand, as JSON, text or Block Kit; never raises.

gather: settings and clients (shared/root.py), the request (shared/web/custom_request.py);
decide: the claims in the ledger (shared/web/ondemand.py), then the report built from the
figures (shared/pipeline.py produce_report, pure over what Mixpanel returned); deliver: each
claimed post once (shared/delivery/once.py through the reservation), then the HTTP answer
(shared/web/http_api.py).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from shared.clock import utc_now
from shared.errors import (
    ConfigError,
    EmailError,
    InvalidRequest,
    LedgerError,
    MixpanelError,
    SlackError,
    UnknownEventsError,
    UnknownPropertiesError,
)
from shared.pipeline import produce_report
from shared.render.report_json import report_to_json
from shared.render.slack import render_message
from shared.render.text import render_text
from shared.report.cost import request_cost
from shared.root import App, environment
from shared.runlog import http_outcome, logged_run
from shared.sources.budget import Api, Priority
from shared.web.custom_channels import Channel, channels, outcomes, plan, release, reserve
from shared.web.custom_request import CustomRequest, OutputFormat, parse_custom_request
from shared.web.http_api import (
    HttpResult,
    RawRequest,
    body_of,
    error_result,
    json_result,
    method_not_allowed,
    mixpanel_error_result,
    unknown_events_message,
)
from shared.web.ondemand import Outcome
from shared.web.plan_cost import plan_costs

log = logging.getLogger("analytics_reporter")


def handle_custom_report(
    method: str,
    params: Mapping[str, str],
    body: bytes,
    *,
    environ: Mapping[str, str] | None = None,
    now: datetime | None = None,
    raw: RawRequest | None = None,
) -> HttpResult:
    """Answer one /api/CustomReport request, logged as one run line; never raises."""
    environ = environment() if environ is None else environ
    with logged_run("CustomReport", params.get("report") or "custom") as run:
        result = _answer(method, params, body, environ=environ, now=now, raw=raw)
        run.set(*http_outcome(result.status, body_of(result)))
        return result


def _answer(
    method: str,
    params: Mapping[str, str],
    body: bytes,
    *,
    environ: Mapping[str, str],
    now: datetime | None,
    raw: RawRequest | None,
) -> HttpResult:
    try:
        return _handle(method, params, body, environ=environ, now=now or utc_now(), raw=raw)
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
    raw: RawRequest | None,
) -> HttpResult:
    # gather: settings and clients, then the request
    raw = raw or RawRequest()
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
            request = parse_custom_request(
                method,
                params,
                body,
                today=today,
                reports=reports,
                query_string=raw.query_string,
                content_type=raw.content_type,
            )
        except InvalidRequest as exc:
            if exc.code == "method_not_allowed":
                return method_not_allowed(exc.message)
            if exc.code == "unsupported_media_type":
                return error_result(415, exc.code, exc.message, exc.field)
            return error_result(400, exc.code, exc.message, exc.field)
        # decide: a plan, a refusal, or the report (claimed, built, posted)
        if request.dry_run:
            return json_result(200, {**plan(request), **plan_costs(app, request, today)})
        if request.send_slack and request.report is not None and request.report not in app.webhooks:
            return error_result(
                400,
                "conflicting_parameters",
                "this report has no Slack destination (it is emailed only); send send_slack=false",
                "send_slack",
            )
        if request.send_slack and request.idempotency_key and not app.settings.has_storage:
            return error_result(
                503,
                "storage_unavailable",
                "idempotency_key needs the delivery ledger's storage (AzureWebJobsStorage), "
                "which this deployment does not have; send the request without "
                "idempotency_key, or give the app its storage",
                "idempotency_key",
                side="storage",
            )
        return _report(app, request, now)


def _report(app: App, request: CustomRequest, now: datetime) -> HttpResult:
    """Claim each post in the ledger first (a duplicate spends no Mixpanel request), then build
    and post; a claim that does not end in a post is released, whatever stopped it."""
    try:
        chosen = channels(app, request)
    except ConfigError as exc:
        log.error("CustomReport: %s", exc)
        return error_result(500, "server_misconfigured", str(exc))
    if isinstance(chosen, HttpResult):
        return chosen
    try:
        for channel in chosen:
            taken = reserve(app, request, channel.poster.destination, now)
            if isinstance(taken, Outcome):
                channel.outcome = taken.as_json()
            else:
                channel.reservation = taken
    except LedgerError as exc:
        release(chosen, now)
        return error_result(
            502,
            "storage_failed",
            f"nothing was built or posted: the delivery ledger failed: {exc}",
            side="storage",
        )
    if chosen and all(channel.reservation is None for channel in chosen):
        return json_result(200, {"report": None, **outcomes(request, chosen)})
    try:
        return _build_and_post(app, request, now, chosen)
    finally:
        release(chosen, now)


def _build_and_post(
    app: App, request: CustomRequest, now: datetime, chosen: list[Channel]
) -> HttpResult:
    ctx = app.ctx
    if request.events is not None:
        ctx = replace(ctx, config=ctx.config.with_events(request.events))
    if request.report is not None:
        ctx = app.report_context(next(r for r in ctx.config.reports if r.name == request.report))
    mixpanel = app.mixpanel()
    try:
        # Refused at once, before any call, when the hour has too few calls left for it.
        cost = request_cost(ctx.config, request.period, today=now.astimezone(ctx.timezone).date())
        app.call_budget().ensure_room(
            mixpanel.project_key,
            {Api.QUERY: cost["query_api"], Api.EXPORT: cost["export_api"]},
            Priority.ON_DEMAND,
            endpoint="/events",
        )
        report = produce_report(
            request.period,
            ctx,
            mixpanel=mixpanel,
            now=now,
            events_field="events"
            if request.events
            else f"{ctx.config.source}: report {request.report!r}"
            if request.report
            else "metrics file",
        )
    except UnknownEventsError as exc:
        if exc.where == "events":
            return error_result(400, "unknown_event", unknown_events_message(exc), "events")
        log.error("CustomReport: %s", exc)
        return error_result(500, "server_misconfigured", str(exc))
    except UnknownPropertiesError as exc:
        log.error("CustomReport: %s", exc)
        return error_result(500, "server_misconfigured", str(exc))
    except MixpanelError as exc:
        return mixpanel_error_result(exc)
    if mixpanel.budget_refusal is not None:
        # Another instance spent the last calls after the check above: rather than a report
        # with figures missing, say when to come back (its calls so far are spent).
        return mixpanel_error_result(mixpanel.budget_refusal)

    # deliver: each claimed post once, then the answer
    message = render_message(report)
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
    if failure is not None:
        side, problem = failure
        return error_result(
            502,
            f"{side}_failed",
            f"the report was built but not posted: {problem}",
            side=side,
            extra={"report": report_to_json(report), **outcomes(request, chosen)},
        )
    if request.format is OutputFormat.TEXT:
        return HttpResult(200, render_text(report).encode("utf-8"), "text/plain")
    if request.format is OutputFormat.BLOCKS:
        return json_result(200, message.payload())
    return json_result(200, {"report": report_to_json(report), **outcomes(request, chosen)})
