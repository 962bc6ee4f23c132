"""HTTP: /api/CustomReport builds a report on demand (see openapi.yaml)."""

import azure.functions as func

from shared.jobs.custom_report import handle_custom_report
from shared.web.http_api import RawRequest, query_of


def main(req: func.HttpRequest) -> func.HttpResponse:
    """Answer one request: the report as JSON, text or Block Kit, or a JSON error."""
    # req.params folds a repeated name to one value; the URL still carries every one of them.
    raw = RawRequest(query_string=query_of(req.url), content_type=req.headers.get("content-type"))
    result = handle_custom_report(req.method, dict(req.params), req.get_body(), raw=raw)
    return func.HttpResponse(
        result.body,
        status_code=result.status,
        mimetype=result.mimetype,
        charset="utf-8",
        headers=result.headers,
    )
