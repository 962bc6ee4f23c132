"""DeliveryHistory's front door: GET ?days=N, checked; errors in the documented shape."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace

from shared.slack_command.history import DEFAULT_DAYS, MAX_DAYS
from shared.web.custom_request import repeated_names
from shared.web.http_api import HttpResult, error_result

# `code` is the function key: the host checks it; the function neither reads nor echoes it.
HISTORY_PARAMETERS = ("days", "code")
# ASCII digits, no sign, no leading zero (then at most MAX_DAYS).
_DAYS = re.compile(r"[1-9][0-9]?")


def history_days(
    method: str, params: Mapping[str, str], query_string: str | None
) -> int | HttpResult:
    """The days asked for (default DEFAULT_DAYS), or the error answer naming the field."""
    if not method.isascii() or method.upper() != "GET":
        result = error_result(405, "method_not_allowed", "use GET")
        return replace(result, headers={**result.headers, "Allow": "GET"})
    repeated = repeated_names(query_string or "")
    if repeated:
        return error_result(
            400,
            "duplicate_parameter",
            "a parameter is given more than once in the query string; give each parameter once",
            repeated[0][:64],
        )
    unknown = sorted(set(params) - set(HISTORY_PARAMETERS))
    if unknown:
        return error_result(
            400, "unknown_parameter", "unknown parameter; allowed: days", unknown[0][:64]
        )
    days = DEFAULT_DAYS
    if "days" in params:
        raw = params["days"]
        if not (_DAYS.fullmatch(raw) and int(raw) <= MAX_DAYS):
            return error_result(
                400,
                "invalid_parameter",
                f"days must be a whole number from 1 to {MAX_DAYS}",
                "days",
            )
        days = int(raw)
    return days
