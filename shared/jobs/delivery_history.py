"""DeliveryHistory over HTTP: what was delivered in the last days and what failed; never raises.

gather: the request (shared/web/history_request.py), settings and the ledger (shared/root.py);
decide: the deliveries of the window, destinations named (shared/slack_command/history.py,
pure); deliver: the JSON answer.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from shared.clock import utc_now
from shared.errors import ConfigError, LedgerError
from shared.root import App, environment
from shared.web.history_request import history_days
from shared.web.http_api import HttpResult, error_result, json_result

log = logging.getLogger("analytics_reporter")


def handle_delivery_history(
    method: str,
    params: Mapping[str, str],
    *,
    environ: Mapping[str, str] | None = None,
    query_string: str | None = None,
    now: datetime | None = None,
) -> HttpResult:
    """Answer GET /api/DeliveryHistory?days=N as JSON; never raises."""
    try:
        return _history(
            method,
            params,
            environ=environment() if environ is None else environ,
            query_string=query_string,
            now=now or utc_now(),
        )
    except Exception:  # a bug must still answer in the documented shape, without internals
        log.exception("DeliveryHistory failed unexpectedly")
        return error_result(500, "internal_error", "internal error; see the function logs")


def _history(
    method: str,
    params: Mapping[str, str],
    *,
    environ: Mapping[str, str],
    query_string: str | None,
    now: datetime,
) -> HttpResult:
    # gather: the request, settings and the ledger
    days = history_days(method, params, query_string)
    if isinstance(days, HttpResult):
        return days
    try:
        app = App.from_environ(environ)
    except ConfigError as exc:
        log.error("DeliveryHistory: %s", exc)
        return error_result(
            500,
            "server_misconfigured",
            "the reporter's settings are invalid; see the function logs",
        )
    with app.session:
        if app.settings.storage_connection is None:
            return error_result(
                503,
                "storage_unavailable",
                "the delivery ledger's storage (AzureWebJobsStorage) is not configured",
                side="storage",
            )
        # decide: the window's deliveries, named
        try:
            deliveries = app.deliveries(app.ledger(), now=now, days=days)
        except LedgerError as exc:
            return error_result(503, "storage_failed", str(exc), side="storage", retry_after=30)
    # deliver: the answer
    since = (now - timedelta(days=days)).astimezone(UTC).replace(microsecond=0)
    return json_result(
        200,
        {
            "days": days,
            "since": since.isoformat(),
            "deliveries": [d.as_json() for d in deliveries],
        },
    )
