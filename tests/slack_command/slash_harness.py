"""The Functions host's part, played in tests: signed Slack requests in, Azurite's queue between.

There is no host in tests, so this harness does what it does: it calls SlackCommand.main with
a real func.Out, puts what the function set on Azurite's real queue (base64, as the host's
queue binding does), receives it and calls SlackCommandWorker.main with a func.QueueMessage.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import azure.functions as func
import pytest
from azure.storage.queue import QueueClient, TextBase64DecodePolicy, TextBase64EncodePolicy

import SlackCommand
import SlackCommandWorker
from devtools.slack_standin import SlackCommandStandIn
from shared.slack_command.verify import sign
from tests.e2e import Stack

SIGNING_SECRET = "SIGNINGSECRET-e2e-5d2c9a"
TEAM_ID = "T0E2E"
CHANNEL_ID = "C0E2E"


class Out(func.Out[str]):
    """The host's output binding: holds what the function set."""

    def __init__(self) -> None:
        self.value: str | None = None

    def set(self, val: str) -> None:
        self.value = val

    def get(self) -> str | None:
        return self.value


@dataclass
class Slash:
    """A signed Slack, a real queue, the two functions, and the response_url stand-in."""

    stack: Stack
    slack: SlackCommandStandIn
    queue: QueueClient
    clock: list[float]
    sent: list[func.HttpResponse] = field(default_factory=list)

    def form(self, text: str, *, response_url: str | None = None, **changes: str) -> bytes:
        fields = {
            "token": "deprecated",
            "team_id": TEAM_ID,
            "team_domain": "acme",
            "channel_id": CHANNEL_ID,
            "channel_name": "reports",
            "user_id": "U0E2E",
            "user_name": "ada",
            "command": "/analytics",
            "text": text,
            "api_app_id": "A0E2E",
            "response_url": response_url or self.slack.response_url(),
            "trigger_id": "13345224609.738474920.8088930838d88f008e0",
            **changes,
        }
        return urlencode(fields).encode()

    def signed(self, body: bytes, *, secret: str = SIGNING_SECRET, age: int = 0) -> dict[str, str]:
        return sign(body, secret=secret, timestamp=int(time.time()) - age)

    def command(
        self, body: bytes, headers: dict[str, str], *, method: str = "POST"
    ) -> tuple[func.HttpResponse, str | None]:
        """Call SlackCommand.main as the host would; enqueue what it put on its binding."""
        out = Out()
        request = func.HttpRequest(
            method=method, url="/api/SlackCommand", headers=headers, body=body
        )
        response = SlackCommand.main(request, out)
        if out.value is not None:
            self.queue.send_message(out.value)
        return response, out.value

    def ask(self, text: str, **changes: str) -> tuple[func.HttpResponse, str | None]:
        body = self.form(text, **changes)
        return self.command(body, self.signed(body))

    def drain(self) -> int:
        """Run the worker on every queued message (deleted after a successful run)."""
        ran = 0
        for message in self.queue.receive_messages(visibility_timeout=30):
            self.work(message)
            self.queue.delete_message(message)
            ran += 1
        return ran

    def work(self, message: Any) -> None:
        SlackCommandWorker.main(
            func.QueueMessage(id=message.id, body=message.content.encode("utf-8"))
        )

    def redeliver_once(self) -> int:
        """Run the worker, lose the message's delete (as a crash would), run it again."""
        [first] = list(self.queue.receive_messages(visibility_timeout=1))
        self.work(first)
        deadline = time.monotonic() + 120  # a hang guard only
        while time.monotonic() < deadline:
            again = list(self.queue.receive_messages(visibility_timeout=30))
            if again:
                [second] = again
                assert second.id == first.id
                assert second.dequeue_count == 2
                self.work(second)
                self.queue.delete_message(second)
                return 2
            time.sleep(0.2)
        raise AssertionError("the message was never delivered again")


@pytest.fixture
def slash(
    stack: Stack,
    azurite_connection_string: str,
    azurite_queue_connection_string: str,
    ledger_table_name: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Slash]:
    """SlackCommand and its worker over the stand-ins, Azurite's ledger and Azurite's queue."""
    clock = [time.time()]
    slack = SlackCommandStandIn(clock=lambda: clock[0])
    slack.start()
    for name, value in {
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_TEAM_ID": TEAM_ID,
        "AzureWebJobsStorage": azurite_connection_string,
        "DELIVERY_TABLE": ledger_table_name,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SLACK_COMMAND_CHANNELS", raising=False)
    queue = QueueClient.from_connection_string(
        azurite_queue_connection_string,
        f"slack-commands-{uuid.uuid4().hex[:12]}",
        message_encode_policy=TextBase64EncodePolicy(),
        message_decode_policy=TextBase64DecodePolicy(),
    )
    queue.create_queue()
    try:
        yield Slash(stack=stack, slack=slack, queue=queue, clock=clock)
    finally:
        queue.delete_queue()
        slack.stop()
