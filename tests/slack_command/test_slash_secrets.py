"""The signing secret and the response_url never come out, on any path of the command."""

from __future__ import annotations

import json
import logging
import os

import pytest

import tests.test_secrets as scanner
from shared.delivery.ledger import TableDeliveryLedger
from shared.errors import SlackError
from tests.slack_command.slash_harness import SIGNING_SECRET, Slash

pytestmark = pytest.mark.azurite
RESPONSE_TOKEN = "RESPONSEURLSECRET-e2e-77aa"


@pytest.fixture
def scan(monkeypatch):
    """tests/test_secrets.py's scanner, with this command's two secrets added."""
    monkeypatch.setitem(scanner.SECRETS, "SLACK_SIGNING_SECRET", (SIGNING_SECRET, "SIGNINGSECRET"))
    monkeypatch.setitem(
        scanner.SECRETS, "response_url token", (RESPONSE_TOKEN, "RESPONSEURLSECRET")
    )
    return scanner.assert_no_secrets


def response_url(slash: Slash) -> str:
    """A stand-in response_url whose last segment is the recognisable token."""
    url = slash.slack.response_url()
    path = url.split("/", 3)[3]
    with slash.slack._lock:
        record = slash.slack._urls.pop("/" + path)
        new = "/" + path.rsplit("/", 1)[0] + "/" + RESPONSE_TOKEN
        slash.slack._urls[new] = record
    return url.rsplit("/", 1)[0] + "/" + RESPONSE_TOKEN


@pytest.mark.parametrize(
    "fault",
    ["refused post", "expired url", "mixpanel down", "bad signature", "no signing secret"],
)
def test_no_failure_lets_the_signing_secret_or_the_response_url_out(
    slash: Slash, scan, caplog, capsys, monkeypatch, fault
):
    """HTTP answers, logs (DEBUG), output, raised errors, posts and ledger rows are scanned."""
    caplog.set_level(logging.DEBUG)
    texts: list[tuple[str, str | bytes]] = []
    url = response_url(slash)
    body = slash.form("weekly", response_url=url)
    headers = slash.signed(body)
    if fault == "refused post":
        monkeypatch.setattr(slash.slack, "_decide_command", lambda *a: (500, "rollup_error", None))
    elif fault == "expired url":
        slash.clock[0] += 3600
    elif fault == "mixpanel down":
        slash.stack.mixpanel.fail_next(503, times=100)
    elif fault == "bad signature":
        headers = slash.signed(body, secret="wrong")
    else:
        monkeypatch.delenv("SLACK_SIGNING_SECRET")
    response, job = slash.command(body, headers)
    texts += scanner.response_texts(response)
    raised: list[SlackError] = []
    if job is not None:
        for message in slash.queue.receive_messages():
            try:
                slash.work(message)
            except SlackError as exc:  # refused: raised for the queue to deliver it again
                raised.append(exc)
                texts += scanner.exception_texts(exc)
    assert bool(raised) is (fault in ("refused post", "expired url"))
    ledger = TableDeliveryLedger(
        os.environ["AzureWebJobsStorage"],  # noqa: SIM112 - the Functions host's name
        table_name=os.environ["DELIVERY_TABLE"],
    )
    texts.append(("ledger", json.dumps([r.detail for r in ledger.history()])))
    texts.append(("posts", json.dumps(slash.slack.command_posts)))
    texts.append(("log", caplog.text))
    captured = capsys.readouterr()
    texts += [("stdout", captured.out), ("stderr", captured.err)]
    scan(*texts)
    if fault == "mixpanel down":
        assert len(slash.slack.command_posts) == 1  # the short error, without secrets
