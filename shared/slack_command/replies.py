"""SlackCommand's HTTP answers and the worker's last-resort line, shaped in one place.

Pure but for `say`, which posts one ephemeral line at a command's response_url when nothing
else can be built (the worker's settings are invalid).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from shared.render.slack import SlackMessage
from shared.settings import Settings
from shared.slack_command.answer import EPHEMERAL
from shared.slack_command.job import CommandJob, ResponseUrlPoster
from shared.web.http_api import HttpResult, error_result, json_result

log = logging.getLogger("analytics_reporter")

SETTINGS_BROKEN = (
    ":warning: The reporter's settings are invalid, so it cannot answer; "
    "an admin can see why in the function logs."
)


@dataclass(frozen=True, slots=True)
class CommandResult:
    """SlackCommand's answer, and the queue message to send (None: nothing to do later)."""

    http: HttpResult
    job: str | None = None


def settings_problem(settings: Settings) -> str | None:
    """Why SlackCommand cannot run with these settings (None: it can), naming the setting."""
    missing = [
        name
        for name, value in (
            ("SLACK_SIGNING_SECRET", settings.slack_signing_secret),
            ("SLACK_TEAM_ID", settings.slack_team_id),
        )
        if value is None
    ]
    # (An unresolved Key Vault reference never gets here: Settings.from_env names it.)
    return f"{' and '.join(missing)} not set" if missing else None


def post_only() -> HttpResult:
    """405 for any method but POST, with the Allow header."""
    result = error_result(405, "method_not_allowed", "Slack sends commands with POST")
    return replace(result, headers={**result.headers, "Allow": "POST"})


def unsigned() -> HttpResult:
    """401: the request is not signed by Slack (nothing of it is echoed)."""
    return error_result(401, "invalid_signature", "the request is not signed by Slack")


def not_a_command() -> HttpResult:
    """400: a signed body that is not a slash command's form."""
    return error_result(400, "invalid_body", "not a slash command", "body")


def ephemeral_message(message: SlackMessage) -> HttpResult:
    """A Slack message, shown only to the person who typed the command."""
    return json_result(200, {"response_type": EPHEMERAL, **message.payload()})


def internal_error() -> HttpResult:
    """500 for a bug: the documented shape, without internals."""
    return error_result(500, "internal_error", "internal error; see the logs")


def ephemeral(text: str) -> HttpResult:
    """One line, shown only to the person who typed the command."""
    return json_result(200, {"response_type": EPHEMERAL, "text": text})


def misconfigured(what: str) -> HttpResult:
    """500 naming what is wrong with the settings (never their values)."""
    return error_result(500, "server_misconfigured", f"{what}; see the function logs")


def say(job: CommandJob, text: str) -> None:
    """One ephemeral line at the command's response_url, when nothing else can be built."""
    import requests

    from shared.errors import SlackError
    from shared.slack_command.answer import text_message

    with requests.Session() as session:
        try:
            ResponseUrlPoster(job.form.response_url, EPHEMERAL, session=session).post(
                text_message(text)
            )
        except SlackError as exc:
            log.error("SlackCommandWorker: could not say so either: %s", exc)
