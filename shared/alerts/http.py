"""AlertBacktest over HTTP: strict parameters, a dry run of the alerts, JSON out; never raises.

Held to CustomReport's contract (openapi.yaml): each parameter at most once (the raw query
string is read, so a repeat is seen), values bounded and free of control and format
characters, every echoed name clipped, every error in the documented shape naming the field.
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from shared.alerts.app import alert_context, hourly_source
from shared.alerts.check import BACKTEST_DAYS, backtest
from shared.app import App
from shared.clock import utc_now
from shared.delivery.breach import Outcome
from shared.errors import ConfigError, InvalidRequest, MixpanelError
from shared.report.metrics import unknown_events
from shared.runlog import http_outcome, logged_run
from shared.sources.budget import Priority
from shared.web.custom_request import (
    FUNCTION_KEY_PARAMETER,
    MAX_EVENT_NAME_CHARS,
    MAX_QUERY_VALUE_CHARS,
    check_query_value,
    repeated_names,
    safe_field,
    shown_names,
)
from shared.web.http_api import (
    HttpResult,
    RawRequest,
    body_of,
    error_result,
    json_result,
    mixpanel_error_result,
    unknown_events_message,
)

log = logging.getLogger("analytics_reporter")
ALLOWED_PARAMETERS = ("rule", "days", "dry_run")
PARAMS = frozenset(ALLOWED_PARAMETERS)
ALLOW = "GET"
MAX_RULES = 50
WATCH_PREFIX = "watch:"
# A configured rule's name, or watch: and one Mixpanel event name.
MAX_RULE_CHARS = len(WATCH_PREFIX) + MAX_EVENT_NAME_CHARS
# 1 to 30 in ASCII digits, no sign, no leading zero: '²' and '٣' are digits to str.isdigit().
_DAYS = re.compile(r"[1-9][0-9]?")
TRUE_WORDS = ("true", "1", "yes")
# Unicode category Cc, and the line and paragraph separators (as in CustomReport's events).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


@dataclass(frozen=True, slots=True)
class BacktestRequest:
    """A validated backtest request."""

    rules: tuple[str, ...] | None
    days: int


def parse_backtest_request(
    method: str, params: Mapping[str, str], *, query_string: str | None = None, body: bytes = b""
) -> BacktestRequest:
    """The request's rules and days; InvalidRequest names the first bad field.

    `params` is the query string as the host folded it; `query_string` the raw one (when
    known), in which a repeated name is still visible.
    """
    verb = method.upper() if method.isascii() else method
    if verb != "GET":
        raise InvalidRequest(
            None,
            f"method {shown_names([method])} is not allowed; use GET",
            code="method_not_allowed",
        )
    if body:
        raise InvalidRequest(
            "body",
            "a GET request takes its parameters from the query string; its body must be empty",
            code="invalid_body",
        )
    repeated = repeated_names(query_string or "")
    if repeated:
        raise InvalidRequest(
            safe_field(repeated[0]),
            f"{'parameter' if len(repeated) == 1 else 'parameters'} {shown_names(repeated)} "
            f"{'is' if len(repeated) == 1 else 'are'} given more than once in the query "
            "string; give each parameter once",
            code="duplicate_parameter",
        )
    unknown = sorted(set(params) - PARAMS - {FUNCTION_KEY_PARAMETER})
    if unknown:
        raise InvalidRequest(
            safe_field(unknown[0]),
            f"unknown {'parameter' if len(unknown) == 1 else 'parameters'} "
            f"{shown_names(unknown)}; allowed: {', '.join(ALLOWED_PARAMETERS)}",
            code="unknown_parameter",
        )
    for name in ALLOWED_PARAMETERS:  # the function key is the host's: never read here
        if name in params:
            if len(params[name]) > MAX_QUERY_VALUE_CHARS:
                raise InvalidRequest(
                    name, f"{name} must be at most {MAX_QUERY_VALUE_CHARS} characters"
                )
            check_query_value(name, params[name])
    if "dry_run" in params and params["dry_run"].strip().lower() not in TRUE_WORDS:
        raise InvalidRequest(
            "dry_run", "a backtest only replays: dry_run must be true (or left out)"
        )
    days = BACKTEST_DAYS
    if "days" in params:
        raw_days = params["days"]
        if not _DAYS.fullmatch(raw_days) or not 1 <= int(raw_days) <= BACKTEST_DAYS:
            raise InvalidRequest(
                "days", f"days must be a whole number from 1 to {BACKTEST_DAYS} in ASCII digits"
            )
        days = int(raw_days)
    return BacktestRequest(_rules(params["rule"]) if "rule" in params else None, days)


def _rules(value: str) -> tuple[str, ...]:
    """The rule names asked for, trimmed, first occurrence kept."""
    items = value.split(",")
    if len(items) > MAX_RULES:
        raise InvalidRequest(
            "rule", f"rule must list 1 to {MAX_RULES} rule names separated by commas"
        )
    names: dict[str, None] = {}
    for position, item in enumerate(items, start=1):
        if _CONTROL.search(item):
            raise InvalidRequest("rule", f"rule: name {position} contains a control character")
        name = item.strip()
        if not name or name == WATCH_PREFIX:
            raise InvalidRequest(
                "rule", f"rule: name {position} is empty (check for a stray comma)"
            )
        if len(name) > MAX_RULE_CHARS:
            raise InvalidRequest(
                "rule", f"rule: name {position} is longer than {MAX_RULE_CHARS} characters"
            )
        names.setdefault(name)
    return tuple(names)


def handle_alert_backtest(
    method: str,
    params: Mapping[str, str],
    *,
    environ: Mapping[str, str],
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
                environ=environ,
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
    try:
        request = parse_backtest_request(method, params, query_string=raw.query_string, body=body)
    except InvalidRequest as exc:
        if exc.code == "method_not_allowed":
            result = error_result(405, exc.code, exc.message, exc.field)
            return replace(result, headers={**result.headers, "Allow": ALLOW})
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
    with app.session:
        source = hourly_source(app, Priority.ON_DEMAND)  # not the scheduled runs' reserve
        if request.rules is not None:
            known = sorted(r.name for r in ctx.alerts.rules)
            refused = _unknown_rule(request.rules, known)
            if refused is not None:
                return refused
            watched = [n.removeprefix(WATCH_PREFIX) for n in request.rules if _is_watch(n)]
            try:
                if watched:
                    problem = unknown_events(watched, source.event_names(), where="rule")
                    if problem is not None:
                        return error_result(
                            400, "unknown_event", unknown_events_message(problem), "rule"
                        )
            except MixpanelError as exc:
                return mixpanel_error_result(exc)
            keys = frozenset(n if _is_watch(n) else f"rule:{n}" for n in request.rules)
        try:
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


def _is_watch(name: str) -> bool:
    return name.startswith(WATCH_PREFIX)


def _unknown_rule(rules: tuple[str, ...], known: list[str]) -> HttpResult | None:
    """400 unknown_rule for the first name that is neither configured nor a watch, else None."""
    for name in rules:
        if _is_watch(name) or name in known:
            continue
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
        hint = f" (did you mean {shown_names(close)}?)" if close else ""
        listed = f"known: {shown_names(known)}" if known else "the alerts file defines no rules"
        return error_result(
            400,
            "unknown_rule",
            f"no rule {shown_names([name])} in the alerts file{hint}; {listed} "
            '(or "watch:<event>" for the tracking watch of one event)',
            "rule",
        )
    return None
