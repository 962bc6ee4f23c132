"""Slack's /analytics: SlackCommand acknowledges and queues; SlackCommandWorker answers.

ack: gather (settings from shared/root.py, the raw request), decide (pure: shared/slack_command/
verify.py, parse.py), deliver (the HTTP answer within Slack's 3 s, and the queue message).
answer: gather (the queued job, settings and clients), decide (pure: shared/slack_command/
answer.py over the built report), deliver (one post at the response_url, claimed in the ledger
through shared/delivery/once.py, inside shared/slack_command/job.py `answer_job`).
Neither raises but to have the queue deliver again: a bug answers in the documented shape.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from shared.clock import utc_now
from shared.errors import ConfigError
from shared.root import App, answering, environment, on_demand_ledger
from shared.settings import Settings
from shared.slack_command.answer import (
    EPHEMERAL,
    STATUS_ACK,
    ack_text,
    help_message,
)
from shared.slack_command.job import (
    BadJob,
    CommandJob,
    ResponseUrlPoster,
    answer_job,
    decode_job,
    encode_job,
)
from shared.slack_command.parse import (
    BadForm,
    Help,
    NotUnderstood,
    ReportAsk,
    parse_command,
    parse_form,
    refusal,
)
from shared.slack_command.verify import RETRY_HEADER, header, signature_problem
from shared.web.http_api import HttpResult, error_result, json_result

log = logging.getLogger("analytics_reporter")


@dataclass(frozen=True, slots=True)
class CommandResult:
    """SlackCommand's answer, and the queue message to send (None: nothing to do later)."""

    http: HttpResult
    job: str | None = None


def handle_slack_command(
    method: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    environ: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> CommandResult:
    """Answer one request from Slack within its 3 seconds; never raises."""
    environ = environment() if environ is None else environ
    try:
        return _command(method, body, headers, environ=environ, now=now or utc_now())
    except Exception:  # a bug must still answer in the documented shape, without internals
        log.exception("SlackCommand failed unexpectedly")
        return CommandResult(error_result(500, "internal_error", "internal error; see the logs"))


def _command(
    method: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    environ: Mapping[str, str],
    now: datetime,
) -> CommandResult:
    # gather: the method, settings, the signed body
    if not method.isascii() or method.upper() != "POST":
        result = error_result(405, "method_not_allowed", "Slack sends commands with POST")
        return CommandResult(replace(result, headers={**result.headers, "Allow": "POST"}))
    try:
        app = App.from_environ(environ)
    except ConfigError as exc:
        log.error("SlackCommand: %s", exc)
        return CommandResult(_misconfigured("the reporter's settings are invalid"))
    with app.session:
        settings = app.settings
        unusable = settings_problem(settings)
        if unusable is not None or settings.slack_signing_secret is None:
            log.error("SlackCommand: %s (docs/slash-command.md)", unusable)
            return CommandResult(_misconfigured(str(unusable)))
        secret = settings.slack_signing_secret.reveal()
        problem = signature_problem(body, headers, secret=secret, now=now.timestamp())
        if problem is not None:  # nothing of an unsigned body is read, logged or kept
            log.warning("SlackCommand: refused a request not signed by Slack (%s)", problem)
            return CommandResult(
                error_result(401, "invalid_signature", "the request is not signed by Slack")
            )
        try:
            form = parse_form(body)
        except BadForm as exc:
            log.warning("SlackCommand: a signed body that is not a slash command (%s)", exc)
            return CommandResult(error_result(400, "invalid_body", "not a slash command", "body"))
        no = refusal(
            form, team_id=settings.slack_team_id or "", channels=settings.slack_command_channels
        )
        if no is not None:
            log.info("SlackCommand: refused team %s channel %s", form.team_id, form.channel_id)
            return CommandResult(_ephemeral(no))
        # decide: what was asked (pure)
        today = now.astimezone(settings.timezone).date()
        reports = {spec.name: spec.cadence for spec in app.ctx.config.reports}
        command = parse_command(form.text, today=today, reports=reports)
        if isinstance(command, Help):  # pure and small: answered at once
            return CommandResult(
                json_result(
                    200, _ephemeral_payload(help_message(app.ctx.config, today=today).payload())
                )
            )
        if isinstance(command, NotUnderstood):
            return CommandResult(_ephemeral(command.reason))
        # deliver: the acknowledgement now, the work to the queue
        retry = header(headers, RETRY_HEADER)
        if retry is not None:  # normal: the worker's ledger claim keeps it to one answer
            log.info("SlackCommand: Slack retry %s of command %s", retry[:8], form.identity)
        ack = ack_text(command) if isinstance(command, ReportAsk) else STATUS_ACK
        job = encode_job(CommandJob(form=form, today=today, received_at=now))
        return CommandResult(_ephemeral(ack), job)


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


def _ephemeral_payload(payload: Mapping[str, object]) -> dict[str, object]:
    return {"response_type": EPHEMERAL, **payload}


def _ephemeral(text: str) -> HttpResult:
    return json_result(200, {"response_type": EPHEMERAL, "text": text})


def _misconfigured(what: str) -> HttpResult:
    return error_result(500, "server_misconfigured", f"{what}; see the function logs")


# --------------------------------------------------------------------------- the worker


def run_command_job(
    message: str, *, environ: Mapping[str, str] | None = None, now: datetime | None = None
) -> bool:
    """Answer one queued command (True when this run posted). Raises only for the queue to
    deliver the message again: storage failed, or Slack refused a post that was not made."""
    # gather: the job, settings and clients; decide and deliver: shared/slack_command/job.py
    now = now or utc_now()
    try:
        job = decode_job(message)
    except BadJob as exc:  # a retry cannot read it either: drop it, loudly
        log.error("SlackCommandWorker: dropped a queue message: %s", exc)
        return False
    try:
        app = App.from_environ(environment() if environ is None else environ)
    except ConfigError as exc:  # a retry would fail the same way: say so once, and stop
        log.error("SlackCommandWorker: %s", exc)
        _say(job, SETTINGS_BROKEN)
        return False
    with app.session:
        return answer_job(job, answering(app, job, ledger=on_demand_ledger(app)), now=now)


SETTINGS_BROKEN = (
    ":warning: The reporter's settings are invalid, so it cannot answer; "
    "an admin can see why in the function logs."
)


def _say(job: CommandJob, text: str) -> None:
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
