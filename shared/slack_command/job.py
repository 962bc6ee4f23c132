"""The queued half of a command: answer it once at its response_url (gather, decide, deliver).

SlackCommand acknowledges within Slack's 3 seconds and puts a CommandJob on the queue; the
worker builds the answer and posts it to the command's response_url. Slack retries a slow
command, a replay may repeat a signed request, and the queue redelivers a message whose
function failed: the delivery ledger is keyed on the command's identity (the response_url's
fingerprint, the same for all of these), so only the first claim posts.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from shared.delivery.ledger import DeliveryKey, DeliveryLedger
from shared.delivery.once import failure_detail, hold
from shared.errors import DeliveryError, LedgerError
from shared.pipeline import one_line
from shared.render.blocks import escape_mrkdwn
from shared.render.slack import SlackMessage, render_message
from shared.report.metrics import MetricsConfig
from shared.settings import Secret
from shared.slack_command.answer import (
    EPHEMERAL,
    IN_CHANNEL,
    Reply,
    error_text,
    help_message,
    status_message,
    text_message,
)
from shared.slack_command.history import COMMAND_PREFIX, Delivery
from shared.slack_command.parse import (
    CommandForm,
    Help,
    NotUnderstood,
    ReportAsk,
    Status,
    parse_command,
    response_url_ok,
)

if TYPE_CHECKING:
    import requests

    from shared.report.generator import Report

log = logging.getLogger("analytics_reporter")
QUEUE_NAME = "slack-commands"
JOB_VERSION = 1
# The chart memory's key for every command reply: a refusal of charts at one response_url is
# remembered for the next (each response_url is used once; its own fingerprint would not be).
REPLY_DESTINATION = "slack-command-replies"


class BadJob(ValueError):
    """A queue message this version cannot read (logged and dropped: retrying cannot help)."""


@dataclass(frozen=True, slots=True)
class CommandJob:
    """One acknowledged command: who asked, where, the words, and the asker's local date."""

    form: CommandForm
    today: date
    received_at: datetime


def encode_job(job: CommandJob) -> str:
    """The queue message (JSON). It holds the response_url: the queue is the app's own."""
    form = job.form
    return json.dumps(
        {
            "v": JOB_VERSION,
            "team_id": form.team_id,
            "channel_id": form.channel_id,
            "user_id": form.user_id,
            "command": form.command,
            "text": form.text,
            "response_url": form.response_url.reveal(),
            "today": job.today.isoformat(),
            "received_at": job.received_at.isoformat(),
        },
        ensure_ascii=True,
    )


def decode_job(text: str) -> CommandJob:
    """The job in a queue message; BadJob (never naming the response_url) when unreadable."""
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("v") != JOB_VERSION:
            raise BadJob("not a version-1 command job")
        fields = {k: data[k] for k in ("team_id", "channel_id", "user_id", "command", "text")}
        if not all(isinstance(v, str) for v in fields.values()):
            raise BadJob("a command field is not a string")
        url = data["response_url"]
        if not isinstance(url, str) or not response_url_ok(url):
            raise BadJob("response_url is not a Slack hooks URL")
        received = datetime.fromisoformat(str(data["received_at"]))
        if received.tzinfo is None:
            raise BadJob("received_at has no offset")
        return CommandJob(
            form=CommandForm(**fields, response_url=Secret(url)),
            today=date.fromisoformat(str(data["today"])),
            received_at=received,
        )
    except (ValueError, KeyError, TypeError) as exc:
        if isinstance(exc, BadJob):
            raise
        raise BadJob(f"unreadable command job ({type(exc).__name__})") from None


@dataclass(frozen=True, slots=True)
class Answering:
    """What the worker needs, built by the composition root (or by tests, with fakes)."""

    ledger: DeliveryLedger
    config: MetricsConfig
    build: Callable[[ReportAsk], Report]  # produce_report with the asked report's context
    history: Callable[[], list[Delivery]]
    poster: Callable[[str], Any]  # response_type -> a poster with .post(SlackMessage)


def command_key(job: CommandJob) -> DeliveryKey:
    """The ledger key of a command's one answer: its identity, its date, its channel."""
    form = job.form
    return DeliveryKey(
        f"{COMMAND_PREFIX}{form.identity}", job.today, job.today, f"slash-{form.channel_id}"
    )


def answer_job(job: CommandJob, deps: Answering, *, now: datetime) -> bool:
    """Answer the command once: True when this call posted, False when it was answered before.

    A report that fails is answered with one short ephemeral error. A post Slack refused is
    recorded as failed and raised, so the queue delivers the message again and it is retried.
    """
    key = command_key(job)
    held = hold(deps.ledger, key, now=now)  # gather: the right to answer (shared/delivery/once)
    if held is None:
        log.info("slash command %s: already answered (a retry or redelivery)", key.report)
        return False
    try:
        reply, detail = _decide(job, deps, now=now)  # decide (building the report is the I/O)
    except BaseException as exc:
        held.release(now=now, detail=failure_detail(exc))
        raise
    try:
        held.post(deps.poster(reply.response_type), reply.message, now=now, detail=detail)
    except DeliveryError as exc:
        if not exc.maybe_posted:
            raise  # marked failed: the queue delivers the message again and it is retried
        # Recorded as sent "uncertain": a redelivery would post nothing, so none is asked for.
    return True


def _decide(job: CommandJob, deps: Answering, *, now: datetime) -> tuple[Reply, str]:
    reports = {spec.name: spec.cadence for spec in deps.config.reports}
    command = parse_command(job.form.text, today=job.today, reports=reports)
    if isinstance(command, Help):
        return Reply(help_message(deps.config, today=job.today)), "answered: help"
    if isinstance(command, NotUnderstood):
        return Reply(text_message(command.reason)), "answered: not understood"
    if isinstance(command, Status):
        try:
            return Reply(status_message(deps.history())), "answered: status"
        except LedgerError as exc:  # say so once, rather than fail the claimed answer
            text = f":warning: The delivery history could not be read: {one_line(exc)}"
            return Reply(text_message(escape_mrkdwn(text))), "answered with an error: status"
    assert isinstance(command, ReportAsk)  # noqa: S101 - the four kinds of Command
    try:
        report = deps.build(command)
    except Exception as exc:  # noqa: BLE001 - any failure gets one short answer, then stops
        log.warning("slash command %s: report failed: %s", job.form.identity, one_line(exc))
        detail = f"answered with an error: {one_line(exc)}"
        return Reply(text_message(error_text(exc, now=now))), detail
    kind = IN_CHANNEL if command.share else EPHEMERAL
    return Reply(render_message(report), kind), f"answered: {command.period.current.label()}"


class ResponseUrlPoster:
    """Posts a Reply's message to one response_url with its response_type (SlackWebhook)."""

    def __init__(self, url: Secret, response_type: str, *, session: requests.Session) -> None:
        from shared.delivery.slack_client import SlackWebhook

        self._webhook = SlackWebhook(url, session=session)
        self._response_type = response_type

    @property
    def destination(self) -> str:
        return REPLY_DESTINATION

    def post(self, message: SlackMessage) -> None:
        """One POST of {response_type, text, blocks}; SlackError (URL masked) when refused."""
        self._webhook.post(Reply(message, self._response_type))


class _RedactCommandPaths(logging.Filter):
    """urllib3 logs each request line at DEBUG; a response_url's path is its secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/commands/" in message:
            record.msg = re.sub(r"/commands/\S+?(?=[\s\"']|$)", "/commands/********", message)
            record.args = ()
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_RedactCommandPaths())
