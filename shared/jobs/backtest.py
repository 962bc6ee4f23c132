"""AlertBacktest over HTTP: when each alert would have fired over the last days; never raises.

gather: the request (shared/web/backtest_request.py), settings, alerts and the hourly source
(shared/root.py); decide: the alerts replayed hour by hour (shared/alerts/check.py `backtest`,
pure over the fetched counts); deliver: the JSON answer (a dry run: nothing is posted).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from shared.alerts.check import backtest
from shared.clock import utc_now
from shared.errors import ConfigError, InvalidRequest, MixpanelError
from shared.report.metrics import unknown_events
from shared.root import App, alert_context, environment, hourly_source, parse
from shared.runlog import http_outcome, logged_run
from shared.sources.budget import Priority
from shared.web.backtest_request import (
    ALLOW,
    WATCH_PREFIX,
    backtest_answer,
    is_watch,
    parse_backtest_request,
    unknown_rule,
)
from shared.web.http_api import (
    HttpResult,
    RawRequest,
    body_of,
    error_result,
    mixpanel_error_result,
    unknown_events_message,
)

log = logging.getLogger("analytics_reporter")


def handle_alert_backtest(
    method: str,
    params: Mapping[str, str],
    *,
    environ: Mapping[str, str] | None = None,
    now: datetime | None = None,
    raw: RawRequest | None = None,
    body: bytes = b"",
) -> HttpResult:
    """Answer one /api/AlertBacktest request, logged as one run line; never raises."""
    with logged_run("AlertBacktest", "alert backtest") as run:
        try:
            result = _handle(
                method,
                params,
                environ=environment() if environ is None else environ,
                now=now or utc_now(),
                raw=raw or RawRequest(),
                body=body,
            )
        except Exception:  # a bug must still answer in the documented shape, without internals
            log.exception("AlertBacktest failed unexpectedly")
            result = error_result(500, "internal_error", "internal error; see the function logs")
        run.set(*http_outcome(result.status, body_of(result)))
        return result


def _handle(
    method: str,
    params: Mapping[str, str],
    *,
    environ: Mapping[str, str],
    now: datetime,
    raw: RawRequest,
    body: bytes,
) -> HttpResult:
    # gather: the request, then settings, alerts and the hourly source
    try:
        request = parse_backtest_request(method, params, query_string=raw.query_string, body=body)
    except InvalidRequest as exc:
        if exc.code == "method_not_allowed":
            result = error_result(405, exc.code, exc.message, exc.field)
            return replace(result, headers={**result.headers, "Allow": ALLOW})
        return error_result(400, exc.code, exc.message, exc.field)
    try:
        app = App.from_parse(parse(environ, alerts=True))
        ctx = alert_context(app)
    except ConfigError as exc:
        log.error("AlertBacktest: %s", exc)
        return error_result(
            500, "server_misconfigured", "the alert settings are invalid; see the function logs"
        )
    keys: frozenset[str] | None = None
    with app.session:
        source = hourly_source(app, Priority.ON_DEMAND)  # not the scheduled runs' reserve
        if request.rules is not None:
            refused = unknown_rule(request.rules, sorted(r.name for r in ctx.alerts.rules))
            if refused is not None:
                return refused
            watched = [n.removeprefix(WATCH_PREFIX) for n in request.rules if is_watch(n)]
            try:
                if watched:
                    problem = unknown_events(watched, source.event_names(), where="rule")
                    if problem is not None:
                        return error_result(
                            400, "unknown_event", unknown_events_message(problem), "rule"
                        )
            except MixpanelError as exc:
                return mixpanel_error_result(exc)
            keys = frozenset(n if is_watch(n) else f"rule:{n}" for n in request.rules)
        # decide: the replay (pure over the counts the source returns)
        try:
            found = backtest(ctx, source, now=now, days=request.days, rules=keys)
        except MixpanelError as exc:
            return mixpanel_error_result(exc)
    # deliver: the answer
    return backtest_answer(request, found, app.settings.timezone)
