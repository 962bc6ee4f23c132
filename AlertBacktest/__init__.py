"""HTTP: /api/AlertBacktest says when each alert would have fired over the last 30 days."""

import os

import azure.functions as func

from shared.alerts.http import handle_alert_backtest


def main(req: func.HttpRequest) -> func.HttpResponse:
    """Answer one request: the would-be posts as JSON, or a JSON error."""
    result = handle_alert_backtest(req.method, dict(req.params), environ=os.environ)
    return func.HttpResponse(
        result.body,
        status_code=result.status,
        mimetype=result.mimetype,
        charset="utf-8",
        headers=result.headers,
    )
