"""The Slack stand-in's response_urls behave as Slack documents: 5 posts, 30 minutes, valid."""

from __future__ import annotations

import json

import pytest
import requests

from devtools.slack_standin import (
    RESPONSE_URL_LIFETIME_SECONDS,
    RESPONSE_URL_MAX_POSTS,
    SlackCommandStandIn,
)

MESSAGE = {"response_type": "ephemeral", "text": "hi"}


@pytest.fixture
def standin():
    clock = [1_000_000.0]
    slack = SlackCommandStandIn(clock=lambda: clock[0])
    slack.start()
    slack.clock_value = clock  # type: ignore[attr-defined]
    yield slack
    slack.stop()


def post(url: str, payload: object) -> tuple[int, str]:
    response = requests.post(url, data=json.dumps(payload), timeout=10)
    return response.status_code, response.text


def test_a_response_url_takes_five_posts_and_refuses_the_sixth(standin):
    """Slack allows 5 responses per command."""
    url = standin.response_url()
    answers = [post(url, MESSAGE) for _ in range(RESPONSE_URL_MAX_POSTS + 1)]
    assert answers == [(200, "ok")] * RESPONSE_URL_MAX_POSTS + [(404, "used_url")]
    assert len(standin.command_posts) == RESPONSE_URL_MAX_POSTS
    assert standin.posts == []  # the webhook's own posts are apart


def test_a_response_url_expires_after_thirty_minutes(standin):
    """Within 30 minutes of the command it posts; after, it is refused."""
    url = standin.response_url()
    standin.clock_value[0] += RESPONSE_URL_LIFETIME_SECONDS
    assert post(url, MESSAGE) == (200, "ok")
    standin.clock_value[0] += 1
    assert post(url, MESSAGE) == (404, "expired_url")


@pytest.mark.parametrize(
    ("payload", "answer"),
    [
        ({"response_type": "everyone", "text": "hi"}, (400, "invalid_payload")),
        ({"response_type": "ephemeral"}, (400, "no_text")),
        ({"text": "hi", "blocks": [{"type": "nope"}]}, (400, "invalid_blocks")),
        ({"text": "hi", "response_type": "in_channel"}, (200, "ok")),
    ],
    ids=["unknown response_type", "no text", "bad block", "in_channel"],
)
def test_a_post_is_validated_like_a_webhook_message(standin, payload, answer):
    """Block Kit limits and response_type: ephemeral or in_channel."""
    assert post(standin.response_url(), payload) == answer


def test_an_unknown_response_url_is_not_found(standin):
    """Only URLs the stand-in issued exist."""
    url = standin.response_url().rsplit("/", 1)[0] + "/forged"
    assert post(url, MESSAGE) == (404, "no_service")
    assert standin.command_refusals == [(404, "no_service")]
