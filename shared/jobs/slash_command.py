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
from datetime import datetime

from shared.clock import utc_now
from shared.errors import ConfigError
from shared.root import App, answering, environment, on_demand_ledger
from shared.slack_command.answer import STATUS_ACK, ack_text, help_message
from shared.slack_command.job import BadJob, CommandJob, answer_job, decode_job, encode_job
from shared.slack_command.parse import (
    BadForm,
    Help,
    NotUnderstood,
    ReportAsk,
    parse_command,
    parse_form,
    refusal,
)
from shared.slack_command.replies import (
    SETTINGS_BROKEN,
    CommandResult,
    ephemeral,
    ephemeral_message,
    internal_error,
    misconfigured,
    not_a_command,
    post_only,
    say,
    settings_problem,
    unsigned,
)
from shared.slack_command.verify import RETRY_HEADER, header, signature_problem

log = logging.getLogger("analytics_reporter")


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
        return CommandResult(internal_error())


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
        return CommandResult(post_only())
    try:
        app = App.from_environ(environ)
    except ConfigError as exc:
        log.error("SlackCommand: %s", exc)
        return CommandResult(misconfigured("the reporter's settings are invalid"))
    with app.session:
        settings = app.settings
        unusable = settings_problem(settings)
        if unusable is not None or settings.slack_signing_secret is None:
            log.error("SlackCommand: %s (docs/slash-command.md)", unusable)
            return CommandResult(misconfigured(str(unusable)))
        secret = settings.slack_signing_secret.reveal()
        problem = signature_problem(body, headers, secret=secret, now=now.timestamp())
        if problem is not None:  # nothing of an unsigned body is read, logged or kept
            log.warning("SlackCommand: refused a request not signed by Slack (%s)", problem)
            return CommandResult(unsigned())
        try:
            form = parse_form(body)
        except BadForm as exc:
            log.warning("SlackCommand: a signed body that is not a slash command (%s)", exc)
            return CommandResult(not_a_command())
        no = refusal(
            form, team_id=settings.slack_team_id or "", channels=settings.slack_command_channels
        )
        if no is not None:
            log.info("SlackCommand: refused team %s channel %s", form.team_id, form.channel_id)
            return CommandResult(ephemeral(no))
        # decide: what was asked (pure)
        today = now.astimezone(settings.timezone).date()
        reports = {spec.name: spec.cadence for spec in app.ctx.config.reports}
        command = parse_command(form.text, today=today, reports=reports)
        if isinstance(command, Help):  # pure and small: answered at once
            return CommandResult(ephemeral_message(help_message(app.ctx.config, today=today)))
        if isinstance(command, NotUnderstood):
            return CommandResult(ephemeral(command.reason))
        # deliver: the acknowledgement now, the work to the queue
        retry = header(headers, RETRY_HEADER)
        if retry is not None:  # normal: the worker's ledger claim keeps it to one answer
            log.info("SlackCommand: Slack retry %s of command %s", retry[:8], form.identity)
        ack = ack_text(command) if isinstance(command, ReportAsk) else STATUS_ACK
        job = encode_job(CommandJob(form=form, today=today, received_at=now))
        return CommandResult(ephemeral(ack), job)


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
        say(job, SETTINGS_BROKEN)
        return False
    with app.session:
        return answer_job(job, answering(app, job, ledger=on_demand_ledger(app)), now=now)
