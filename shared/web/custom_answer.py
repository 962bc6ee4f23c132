"""CustomReport's HTTP answers: its refusals, its failures as status codes, and the report in
the format asked for (shared/jobs/custom_report.py chooses which)."""

from __future__ import annotations

import logging

from shared.errors import (
    InvalidRequest,
    LedgerError,
    MixpanelError,
    UnknownEventsError,
    UnknownPropertiesError,
)
from shared.render.report_json import report_to_json
from shared.render.slack import SlackMessage
from shared.render.text import render_text
from shared.report.generator import Report
from shared.root import App
from shared.web.custom_channels import Channel, outcomes
from shared.web.custom_request import CustomRequest, OutputFormat
from shared.web.http_api import (
    HttpResult,
    error_result,
    json_result,
    method_not_allowed,
    mixpanel_error_result,
    unknown_events_message,
)

log = logging.getLogger("analytics_reporter")

SETTINGS_INVALID = "the reporter's settings are invalid; see the function logs"


def misconfigured(message: str) -> HttpResult:
    """500: the deployment's settings or files are wrong (the message names which)."""
    return error_result(500, "server_misconfigured", message)


def internal_error() -> HttpResult:
    """500 for a bug: the documented shape, without internals."""
    return error_result(500, "internal_error", "internal error; see the function logs")


def request_refused(exc: InvalidRequest) -> HttpResult:
    """The request's own fault: 405, 415 or 400, naming the field."""
    if exc.code == "method_not_allowed":
        return method_not_allowed(exc.message)
    if exc.code == "unsupported_media_type":
        return error_result(415, exc.code, exc.message, exc.field)
    return error_result(400, exc.code, exc.message, exc.field)


def refusal(app: App, request: CustomRequest) -> HttpResult | None:
    """Why this deployment cannot do what a valid request asks (None: it can)."""
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
    return None


def storage_failed(exc: LedgerError) -> HttpResult:
    """502: the ledger failed before anything was built or posted."""
    return error_result(
        502,
        "storage_failed",
        f"nothing was built or posted: the delivery ledger failed: {exc}",
        side="storage",
    )


def build_failed(exc: UnknownEventsError | UnknownPropertiesError | MixpanelError) -> HttpResult:
    """The report could not be built: the caller's unknown events (400), the deployment's
    (500, logged), or Mixpanel's failure as a status code."""
    if isinstance(exc, UnknownEventsError):
        if exc.where == "events":
            return error_result(400, "unknown_event", unknown_events_message(exc), "events")
        log.error("CustomReport: %s", exc)
        return misconfigured(str(exc))
    if isinstance(exc, UnknownPropertiesError):
        log.error("CustomReport: %s", exc)
        return misconfigured(str(exc))
    return mixpanel_error_result(exc)


def report_answer(
    request: CustomRequest,
    report: Report,
    message: SlackMessage,
    chosen: list[Channel],
    failure: tuple[str, Exception] | None,
) -> HttpResult:
    """The built report in the format asked for, or 502 when a claimed post failed."""
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
