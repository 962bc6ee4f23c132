"""HTTP: /api/AlertBacktest says when each alert would have fired over the last 30 days."""

import azure.functions as func

from shared.jobs.backtest import handle_alert_backtest
from shared.web.http_api import RawRequest, query_of


def main(req: func.HttpRequest) -> func.HttpResponse:
    """Answer one request: the would-be posts as JSON, or a JSON error."""
    # req.params folds a repeated name to one value; the URL still carries every one of them.
    raw = RawRequest(query_string=query_of(req.url))
    result = handle_alert_backtest(req.method, dict(req.params), raw=raw, body=req.get_body())
    return func.HttpResponse(
        result.body,
        status_code=result.status,
        mimetype=result.mimetype,
        charset="utf-8",
        headers=result.headers,
    )
