"""CustomReport over HTTP: a report on demand, as JSON, text or Block Kit; never raises.

gather: settings and clients (shared/root.py), the request (shared/web/custom_request.py);
decide: the claims in the ledger (shared/web/ondemand.py), then the report built from the
figures (shared/pipeline.py produce_report, pure over what Mixpanel returned); deliver: each
claimed post once (shared/web/custom_channels.py, through shared/delivery/once.py), then the
HTTP answer (shared/web/custom_answer.py over shared/web/http_api.py).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from shared.clock import utc_now
from shared.errors import (
    ConfigError,
    InvalidRequest,
    LedgerError,
    MixpanelError,
    UnknownEventsError,
    UnknownPropertiesError,
)
from shared.pipeline import produce_report
from shared.render.slack import render_message
from shared.report.cost import request_cost
from shared.root import App, environment
from shared.runlog import http_outcome, logged_run
from shared.sources.budget import Api, Priority
from shared.web import custom_answer as answer
from shared.web import custom_channels as claims
from shared.web.custom_request import CustomRequest, parse_custom_request
from shared.web.http_api import HttpResult, RawRequest, body_of, json_result, mixpanel_error_result
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
        try:
            result = _handle(method, params, body, environ=environ, now=now or utc_now(), raw=raw)
        except Exception:  # a bug must still answer in the documented shape, without internals
            log.exception("CustomReport failed unexpectedly")
            result = answer.internal_error()
        run.set(*http_outcome(result.status, body_of(result)))
        return result


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
        return answer.misconfigured(answer.SETTINGS_INVALID)
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
            return answer.request_refused(exc)
        # decide: a plan, a refusal, or the report (claimed, built, posted)
        if request.dry_run:
            return json_result(200, {**claims.plan(request), **plan_costs(app, request, today)})
        refused = answer.refusal(app, request)
        return refused if refused is not None else _report(app, request, now)


def _report(app: App, request: CustomRequest, now: datetime) -> HttpResult:
    """Claim each post in the ledger first (a duplicate spends no Mixpanel request), then build
    and post; a claim that does not end in a post is released, whatever stopped it."""
    try:
        chosen = claims.channels(app, request)
    except ConfigError as exc:
        log.error("CustomReport: %s", exc)
        return answer.misconfigured(str(exc))
    if isinstance(chosen, HttpResult):
        return chosen
    try:
        claims.claim_each(app, request, chosen, now)
    except LedgerError as exc:
        claims.release(chosen, now)
        return answer.storage_failed(exc)
    if chosen and all(channel.reservation is None for channel in chosen):
        return json_result(200, {"report": None, **claims.outcomes(request, chosen)})
    try:
        return _build_and_post(app, request, now, chosen)
    finally:
        claims.release(chosen, now)


def _build_and_post(
    app: App, request: CustomRequest, now: datetime, chosen: list[claims.Channel]
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
    except (UnknownEventsError, UnknownPropertiesError, MixpanelError) as exc:
        return answer.build_failed(exc)
    if mixpanel.budget_refusal is not None:
        # Another instance spent the last calls after the check above: rather than a report
        # with figures missing, say when to come back (its calls so far are spent).
        return mixpanel_error_result(mixpanel.budget_refusal)

    # deliver: each claimed post once, then the answer
    message = render_message(report)
    failure = claims.post_each(chosen, report, message, now)
    return answer.report_answer(request, report, message, chosen, failure)
