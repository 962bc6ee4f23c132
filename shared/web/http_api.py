"""The HTTP front door's answers: the documented error shape, Mixpanel's failures as codes.

The jobs answering HTTP (shared/jobs/custom_report.py, backtest.py) build their answers here.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from shared.errors import (
    MixpanelAuthError,
    MixpanelBudgetSpent,
    MixpanelError,
    MixpanelRateLimited,
    MixpanelUnavailable,
    UnknownEventsError,
)
from shared.web.custom_request import (
    MAX_SHOWN_NAMES,
    shown_names,
)

log = logging.getLogger("analytics_reporter")
JSON = "application/json"
ALLOW = "GET, POST"


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


def json_result(status: int, value: object, headers: dict[str, str] | None = None) -> HttpResult:
    body = json.dumps(value, ensure_ascii=False, indent=2, allow_nan=False).encode("utf-8")
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
    return json_result(status, {"error": error, **(extra or {})}, headers)


@dataclass(frozen=True, slots=True)
class RawRequest:
    """What the HTTP layer knows beyond method, params and body: the raw query and Content-Type."""

    query_string: str | None = None
    content_type: str | None = JSON


def query_of(url: str) -> str | None:
    """The raw query string of a request URL (None without one): repeats are visible in it."""
    return urlsplit(url).query or None


def mixpanel_error_result(exc: MixpanelError) -> HttpResult:
    """Mixpanel's failure as the documented answer: 429 with Retry-After, 502 or 503."""
    if isinstance(exc, MixpanelBudgetSpent):  # our shared budget, before asking Mixpanel
        return error_result(
            429, "mixpanel_rate_limited", exc.reason, side="mixpanel", retry_after=exc.retry_after
        )
    if isinstance(exc, MixpanelRateLimited):
        return error_result(
            429,
            "mixpanel_rate_limited",
            "Mixpanel's query budget for this project is spent; try again later",
            side="mixpanel",
            retry_after=exc.retry_after or 60,
        )
    if isinstance(exc, MixpanelAuthError):
        return error_result(
            502,
            "mixpanel_auth",
            "Mixpanel rejected the service account credentials or project access",
            side="mixpanel",
        )
    if isinstance(exc, MixpanelUnavailable):
        return error_result(503, "mixpanel_unavailable", str(exc), side="mixpanel", retry_after=30)
    return error_result(502, "mixpanel_error", str(exc), side="mixpanel")


def body_of(result: HttpResult) -> Mapping[str, Any] | None:
    """The JSON object an answer carries (None for text, Block Kit lists or bad JSON)."""
    if result.mimetype != JSON:
        return None
    try:
        value = result.json()
    except ValueError:
        return None
    return value if isinstance(value, Mapping) else None


def method_not_allowed(message: str) -> HttpResult:
    """405 with Allow, for any method but GET and POST (HEAD, OPTIONS, TRACE and any token)."""
    result = error_result(405, "method_not_allowed", message)
    return replace(result, headers={**result.headers, "Allow": ALLOW})


def unknown_events_message(exc: UnknownEventsError) -> str:
    """The unknown names, at most a few and each clipped, then "and N more"; bounded."""
    names = list(exc.suggestions)
    parts = []
    for name in names[:MAX_SHOWN_NAMES]:
        close = exc.suggestions[name]
        hint = f" (did you mean {shown_names(close)}?)" if close else ""
        parts.append(f"{shown_names([name])}{hint}")
    more = len(names) - MAX_SHOWN_NAMES
    tail = f"; and {more} more" if more > 0 else ""
    return f"unknown Mixpanel event in {exc.where}: " + "; ".join(parts) + tail
