"""AlertBacktest over HTTP: strict parameters, a dry run of the alerts, JSON out; never raises."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from shared.alerts.app import alert_context, hourly_source
from shared.alerts.breach import Outcome
from shared.alerts.check import BACKTEST_DAYS, backtest
from shared.app import App
from shared.clock import utc_now
from shared.errors import (
    ConfigError,
    InvalidRequest,
    MixpanelError,
)
from shared.runlog import http_outcome, logged_run
from shared.sources.budget import Priority
from shared.web.http_api import (
    HttpResult,
    body_of,
    error_result,
    json_result,
    mixpanel_error_result,
)

log = logging.getLogger("analytics_reporter")
PARAMS = frozenset({"rule", "days", "dry_run"})
MAX_RULES = 50


@dataclass(frozen=True, slots=True)
class BacktestRequest:
    """A validated backtest request."""

    rules: tuple[str, ...] | None
    days: int


def parse_backtest_request(method: str, params: Mapping[str, str]) -> BacktestRequest:
    """The request's rules and days; InvalidRequest names the first bad field."""
    if method.upper() != "GET":
        raise InvalidRequest(None, "use GET", code="method_not_allowed")
    for name in sorted(params):
        if name not in PARAMS and name != "code":  # `code` is the Functions key
            raise InvalidRequest(
                name,
                f"unknown parameter {name!r}; expected {', '.join(sorted(PARAMS))}",
                code="unknown_parameter",
            )
    dry_run = params.get("dry_run", "true").strip().lower()
    if dry_run != "true":
        raise InvalidRequest("dry_run", "a backtest only replays: dry_run must be true")
    raw_days = params.get("days", str(BACKTEST_DAYS)).strip()
    if not raw_days.isdigit() or not 1 <= int(raw_days) <= BACKTEST_DAYS:
        raise InvalidRequest("days", f"days must be a whole number from 1 to {BACKTEST_DAYS}")
    rules: tuple[str, ...] | None = None
    if "rule" in params:
        names = [n.strip() for n in params["rule"].split(",")]
        if not all(names) or len(names) > MAX_RULES:
            raise InvalidRequest(
                "rule", f"rule must list 1 to {MAX_RULES} rule names separated by commas"
            )
        rules = tuple(dict.fromkeys(names))
    return BacktestRequest(rules, int(raw_days))


def handle_alert_backtest(
    method: str,
    params: Mapping[str, str],
    *,
    environ: Mapping[str, str],
    now: datetime | None = None,
) -> HttpResult:
    """Answer one /api/AlertBacktest request, logged as one run line; never raises."""
    with logged_run("AlertBacktest", "alert backtest") as run:
        try:
            result = _handle(method, params, environ=environ, now=now or utc_now())
        except Exception:  # a bug must still answer in the documented shape, without internals
            log.exception("AlertBacktest failed unexpectedly")
            result = error_result(500, "internal_error", "internal error; see the function logs")
        run.set(*http_outcome(result.status, body_of(result)))
        return result


def _handle(
    method: str, params: Mapping[str, str], *, environ: Mapping[str, str], now: datetime
) -> HttpResult:
    try:
        request = parse_backtest_request(method, params)
    except InvalidRequest as exc:
        if exc.code == "method_not_allowed":
            result = error_result(405, exc.code, exc.message, exc.field)
            return replace(result, headers={**result.headers, "Allow": "GET"})
        return error_result(400, exc.code, exc.message, exc.field)
    try:
        app = App.from_environ(environ)
        ctx = alert_context(app)
    except ConfigError as exc:
        log.error("AlertBacktest: %s", exc)
        return error_result(
            500, "server_misconfigured", "the alert settings are invalid; see the function logs"
        )
    keys: frozenset[str] | None = None
    if request.rules is not None:
        known = {r.name for r in ctx.alerts.rules}
        for name in request.rules:
            if not name.startswith("watch:") and name not in known:
                return error_result(
                    400,
                    "unknown_rule",
                    f"no rule {name!r} in the alerts file; known: {', '.join(sorted(known))}"
                    ' (or "watch:<event>")',
                    "rule",
                )
        keys = frozenset(n if n.startswith("watch:") else f"rule:{n}" for n in request.rules)
    with app.session:
        try:
            source = hourly_source(app, Priority.ON_DEMAND)  # not the scheduled runs' reserve
            found = backtest(ctx, source, now=now, days=request.days, rules=keys)
        except MixpanelError as exc:
            return mixpanel_error_result(exc)
    tz = app.settings.timezone
    return json_result(
        200,
        {
            "dry_run": True,
            "days": request.days,
            "rules": None if request.rules is None else list(request.rules),
            "alerts": sum(p.outcome is Outcome.OPENED for p in found),
            "would_post": [
                {
                    "at": post.at.astimezone(tz).isoformat(),
                    "rule": post.rule,
                    "kind": "alert" if post.outcome is Outcome.OPENED else "resolved",
                    "text": post.text,
                }
                for post in found
            ],
        },
    )
