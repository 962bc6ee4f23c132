"""HTTP: /api/CustomReport builds a report on demand (see openapi.yaml)."""

import os

import azure.functions as func

from shared.web.http_api import handle_custom_report


def main(req: func.HttpRequest) -> func.HttpResponse:
    """Answer one request: the report as JSON, text or Block Kit, or a JSON error."""
    result = handle_custom_report(req.method, dict(req.params), req.get_body(), environ=os.environ)
    return func.HttpResponse(
        result.body,
        status_code=result.status,
        mimetype=result.mimetype,
        charset="utf-8",
        headers=result.headers,
    )
