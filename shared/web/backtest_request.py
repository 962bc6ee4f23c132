"""AlertBacktest's front door: strict parameters in, documented errors out (the job is
shared/jobs/backtest.py).

Held to CustomReport's contract (openapi.yaml): each parameter at most once (the raw query
string is read, so a repeat is seen), values bounded and free of control and format
characters, every echoed name clipped, every error in the documented shape naming the field.
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from shared.alerts.check import BACKTEST_DAYS, WouldPost
from shared.delivery.breach import Outcome
from shared.errors import InvalidRequest
from shared.web.custom_request import (
    FUNCTION_KEY_PARAMETER,
    MAX_EVENT_NAME_CHARS,
    MAX_QUERY_VALUE_CHARS,
    check_query_value,
    repeated_names,
    safe_field,
    shown_names,
)
from shared.web.http_api import HttpResult, error_result, json_result

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


def is_watch(name: str) -> bool:
    return name.startswith(WATCH_PREFIX)


def unknown_rule(rules: tuple[str, ...], known: list[str]) -> HttpResult | None:
    """400 unknown_rule for the first name that is neither configured nor a watch, else None."""
    for name in rules:
        if is_watch(name) or name in known:
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


def backtest_answer(
    request: BacktestRequest, found: Sequence[WouldPost], timezone: ZoneInfo
) -> HttpResult:
    """The 200 answer: what each alert would have posted, at local times."""
    return json_result(
        200,
        {
            "dry_run": True,
            "days": request.days,
            "rules": None if request.rules is None else list(request.rules),
            "alerts": sum(p.outcome is Outcome.OPENED for p in found),
            "would_post": [
                {
                    "at": post.at.astimezone(timezone).isoformat(),
                    "rule": post.rule,
                    "kind": "alert" if post.outcome is Outcome.OPENED else "resolved",
                    "text": post.text,
                }
                for post in found
            ],
        },
    )
