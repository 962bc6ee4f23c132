"""HTTP: /api/DeliveryHistory, what was delivered in the last days and what failed (JSON)."""

import azure.functions as func

from shared.jobs.delivery_history import handle_delivery_history
from shared.web.http_api import query_of


def main(req: func.HttpRequest) -> func.HttpResponse:
    """The deliveries of the last `days` days (default 7), or a JSON error."""
    result = handle_delivery_history(req.method, dict(req.params), query_string=query_of(req.url))
    return func.HttpResponse(
        result.body,
        status_code=result.status,
        mimetype=result.mimetype,
        charset="utf-8",
        headers=result.headers,
    )
