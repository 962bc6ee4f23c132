"""Spec of the Slack webhook client: one POST, typed errors, and never the webhook URL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import responses
from responses import matchers
from urllib3.exceptions import MaxRetryError, NewConnectionError

from shared.delivery.slack_client import SlackWebhook
from shared.errors import SlackError
from shared.settings import Secret

URL = "https://hooks.slack.example/services/T-FAKE/B-FAKE/fake-webhook-secret-for-tests"


class Message:
    """A minimal Postable."""

    def payload(self) -> dict[str, Any]:
        return {"text": "Acme weekly report", "blocks": [{"type": "divider"}]}


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        yield rsps


def webhook(sleeps: Sleeps | None = None) -> SlackWebhook:
    return SlackWebhook(Secret(URL), session=requests.Session(), sleep=sleeps or Sleeps())


def test_post_sends_text_and_blocks_as_json(mocked):
    """The payload goes as one JSON POST; 200 'ok' is success."""
    mocked.post(
        URL,
        body="ok",
        match=[matchers.json_params_matcher(Message().payload())],
    )
    webhook().post(Message())
    assert json.loads(mocked.calls[0].request.body) == Message().payload()


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (
            400,
            "invalid_blocks",
            "Slack webhook answered HTTP 400: Slack rejected the message format: invalid_blocks",
        ),
        (
            404,
            "no_service",
            "Slack webhook answered HTTP 404: the webhook is disabled or its channel is gone: "
            "check SLACK_WEBHOOK_URL: no_service",
        ),
        (
            410,
            "channel_is_archived",
            "Slack webhook answered HTTP 410: the webhook is disabled or its channel is gone: "
            "check SLACK_WEBHOOK_URL: channel_is_archived",
        ),
        (
            500,
            "rollup_error",
            "Slack webhook answered HTTP 500: Slack refused the message: rollup_error",
        ),
    ],
    ids=["400", "404", "410", "500"],
)
def test_a_refusal_raises_with_status_and_body_but_not_the_url(mocked, status, body, message):
    """Non-2xx raises SlackError carrying status and body; 5xx is not retried (it may post)."""
    mocked.post(URL, status=status, body=body)
    with pytest.raises(SlackError) as caught:
        webhook().post(Message())
    assert str(caught.value) == message
    assert caught.value.status == status
    assert URL not in repr(caught.value.__dict__)
    assert len(mocked.calls) == 1


def test_rate_limit_waits_for_retry_after_then_posts_once(mocked):
    """429 + Retry-After: wait that long, then the one successful post."""
    mocked.post(URL, status=429, body="rate_limited", headers={"Retry-After": "2"})
    mocked.post(URL, body="ok")
    sleeps = Sleeps()
    webhook(sleeps).post(Message())
    assert sleeps.calls == [2.0]


def test_a_connection_that_never_opened_is_retried(mocked):
    """A refused connection sent nothing, so it is safe to try again."""
    refused = requests.ConnectionError(
        MaxRetryError(None, "/", NewConnectionError(None, "Connection refused"))  # type: ignore[arg-type]
    )
    mocked.post(URL, body=refused)
    mocked.post(URL, body="ok")
    webhook().post(Message())


def test_a_read_timeout_is_not_retried_and_says_the_post_is_uncertain(mocked):
    """After a read timeout Slack may have posted: no retry, and the error says so."""
    mocked.post(URL, body=requests.ReadTimeout(f"read timed out for {URL}"))
    with pytest.raises(SlackError) as caught:
        webhook().post(Message())
    assert caught.value.maybe_posted
    assert URL not in str(caught.value)
    assert caught.value.__context__ is None  # the requests error (URL inside) is not kept


def test_transport_errors_never_carry_the_url(mocked):
    """requests puts the URL in its messages; SlackError drops it."""
    refused = requests.ConnectionError(
        MaxRetryError(None, URL, NewConnectionError(None, f"cannot connect to {URL}"))  # type: ignore[arg-type]
    )
    for _ in range(3):
        mocked.post(URL, body=refused)
    with pytest.raises(SlackError) as caught:
        webhook().post(Message())
    assert str(caught.value) == "Slack webhook: could not reach Slack (ConnectionError)"
    assert caught.value.__context__ is None  # the requests error (URL inside) is not kept


def test_destination_is_a_fingerprint_not_the_url():
    """Delivery records name the webhook by a short hash."""
    destination = webhook().destination
    assert len(destination) == 12
    assert destination not in URL
