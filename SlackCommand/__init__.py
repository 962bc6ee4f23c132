"""HTTP: /api/SlackCommand, Slack's /analytics; signed by Slack, acknowledged, then queued."""

import azure.functions as func

from shared.jobs.slash_command import handle_slack_command


def main(req: func.HttpRequest, msg: func.Out[str]) -> func.HttpResponse:
    """Verify the raw body's signature, answer within 3 s, queue the work (slack-commands)."""
    result = handle_slack_command(req.method, req.get_body(), dict(req.headers))
    if result.job is not None:
        msg.set(result.job)
    http = result.http
    return func.HttpResponse(
        http.body,
        status_code=http.status,
        mimetype=http.mimetype,
        charset="utf-8",
        headers=http.headers,
    )
