"""Specs for the strict loopback Slack incoming-webhook stand-in."""

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from devtools.slack_standin import (
    MAX_BLOCK_ID_CHARS,
    MAX_BLOCKS,
    MAX_CONTEXT_ELEMENTS,
    MAX_FIELD_CHARS,
    MAX_FIELDS,
    MAX_HEADER_CHARS,
    MAX_MESSAGE_TEXT_CHARS,
    MAX_SECTION_TEXT_CHARS,
    SlackStandIn,
    explain_slack_rejection,
    slack_rejection,
)

Payload = dict[str, Any]

DIGEST: Payload = {
    "text": "Daily digest for 2026-11-19",
    "blocks": [
        {"type": "header", "text": {"type": "plain_text", "text": "Daily digest", "emoji": True}},
        {
            "type": "section",
            "block_id": "metrics",
            "fields": [
                {"type": "mrkdwn", "text": "*Sign Up*\n21"},
                {"type": "mrkdwn", "text": "*Receipt Uploaded*\n104"},
            ],
        },
        {"type": "divider"},
        {"type": "section", "text": {"type": "mrkdwn", "text": "Top events: *Email Sent* 1,012"}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "Europe/London"}]},
    ],
}


def mrkdwn(text: str) -> Payload:
    return {"type": "mrkdwn", "text": text}


def with_blocks(*blocks: object) -> Payload:
    return {"text": "fallback", "blocks": list(blocks)}


def header(chars: int) -> Payload:
    return with_blocks({"type": "header", "text": {"type": "plain_text", "text": "h" * chars}})


def section_text(chars: int) -> Payload:
    return with_blocks({"type": "section", "text": mrkdwn("s" * chars)})


def field_count(count: int) -> Payload:
    return with_blocks({"type": "section", "fields": [mrkdwn("f") for _ in range(count)]})


def field_chars(chars: int) -> Payload:
    return with_blocks({"type": "section", "fields": [mrkdwn("f" * chars)]})


def context_elements(count: int) -> Payload:
    return with_blocks({"type": "context", "elements": [mrkdwn("c") for _ in range(count)]})


def block_count(count: int) -> Payload:
    return with_blocks(*({"type": "divider"} for _ in range(count)))


def block_id(chars: int) -> Payload:
    return with_blocks({"type": "divider", "block_id": "b" * chars})


def message_chars(chars: int) -> Payload:
    """Sections of at most MAX_SECTION_TEXT_CHARS each, `chars` characters in all."""
    sizes = [MAX_SECTION_TEXT_CHARS] * (chars // MAX_SECTION_TEXT_CHARS)
    sizes += [chars % MAX_SECTION_TEXT_CHARS] if chars % MAX_SECTION_TEXT_CHARS else []
    return with_blocks(*({"type": "section", "text": mrkdwn("m" * size)} for size in sizes))


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn() as standin:
        yield standin


def post(url: str, payload: object) -> requests.Response:
    return requests.post(url, json=payload, timeout=5)


def test_a_typical_digest_is_accepted_and_recorded(slack: SlackStandIn) -> None:
    """A valid message gets 200 "ok" as text/plain and is kept in posts."""
    response = post(slack.url, DIGEST)
    assert (response.status_code, response.text) == (200, "ok")
    assert response.headers["Content-Type"].startswith("text/plain")
    assert slack.posts == [DIGEST]
    assert slack.rejections == []


def test_the_url_is_the_webhook_path_on_loopback(slack: SlackStandIn) -> None:
    """start() returns http://127.0.0.1:PORT followed by the webhook path."""
    assert slack.url.startswith("http://127.0.0.1:")
    assert slack.url.endswith("/services/T00000000/B00000000/standin-webhook-token")


@pytest.mark.parametrize(
    ("build", "limit", "error"),
    [
        (block_count, MAX_BLOCKS, "invalid_blocks"),
        (header, MAX_HEADER_CHARS, "invalid_blocks"),
        (section_text, MAX_SECTION_TEXT_CHARS, "invalid_blocks"),
        (field_count, MAX_FIELDS, "invalid_blocks"),
        (field_chars, MAX_FIELD_CHARS, "invalid_blocks"),
        (context_elements, MAX_CONTEXT_ELEMENTS, "invalid_blocks"),
        (block_id, MAX_BLOCK_ID_CHARS, "invalid_blocks"),
        (message_chars, MAX_MESSAGE_TEXT_CHARS, "msg_blocks_too_long"),
    ],
    ids=[
        "50-blocks",
        "150-char-header",
        "3000-char-section",
        "10-fields",
        "2000-char-field",
        "10-context-elements",
        "255-char-block-id",
        "13000-chars-in-all",
    ],
)
def test_each_limit_is_accepted_at_the_limit_and_rejected_one_past_it(
    build: Callable[[int], Payload], limit: int, error: str
) -> None:
    """Boundary pair: exactly at the limit is fine, limit + 1 gets Slack's error."""
    assert slack_rejection(build(limit)) is None
    assert slack_rejection(build(limit + 1)) == error


def test_the_fallback_text_does_not_count_toward_the_block_text_limit() -> None:
    """msg_blocks_too_long counts text inside blocks only, not the top-level text."""
    payload = message_chars(MAX_MESSAGE_TEXT_CHARS)
    payload["text"] = "t" * 5000
    assert slack_rejection(payload) is None


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        (["not", "an", "object"], "invalid_payload"),
        ({}, "no_text"),
        ({"text": ""}, "no_text"),
        ({"text": "", "blocks": []}, "no_text"),
        ({"text": 42}, "invalid_payload"),
        ({"text": "x", "blocks": {"type": "divider"}}, "invalid_blocks"),
        (with_blocks({"type": "table"}), "invalid_blocks"),
        (with_blocks("divider"), "invalid_blocks"),
        (with_blocks({"type": "header", "text": mrkdwn("bold")}), "invalid_blocks"),
        (with_blocks({"type": "section"}), "invalid_blocks"),
        (with_blocks({"type": "section", "text": mrkdwn("")}), "invalid_blocks"),
        (with_blocks({"type": "section", "text": {"type": "html", "text": "x"}}), "invalid_blocks"),
        (with_blocks({"type": "section", "fields": []}), "invalid_blocks"),
        (with_blocks({"type": "context", "elements": []}), "invalid_blocks"),
        (with_blocks({"type": "image", "image_url": "https://x/y.png"}), "invalid_blocks"),
        (with_blocks({"type": "divider", "block_id": 7}), "invalid_blocks"),
    ],
    ids=[
        "not-an-object",
        "empty-object",
        "empty-text",
        "empty-text-and-blocks",
        "text-not-a-string",
        "blocks-not-a-list",
        "unknown-block-type",
        "block-not-an-object",
        "mrkdwn-header",
        "section-without-text-or-fields",
        "empty-section-text",
        "unknown-text-type",
        "no-fields",
        "no-context-elements",
        "image-without-alt-text",
        "block-id-not-a-string",
    ],
)
def test_malformed_payloads_get_slacks_error_string(payload: object, error: str) -> None:
    """Shape errors map to Slack's invalid_payload, no_text or invalid_blocks."""
    assert slack_rejection(payload) == error


def test_blocks_alone_are_enough_without_text() -> None:
    """A message with blocks but no top-level text is accepted (text is only the fallback)."""
    assert slack_rejection({"blocks": [{"type": "divider"}]}) is None


def test_the_explanation_names_the_broken_limit() -> None:
    """explain_slack_rejection says which constant was exceeded, for readable test failures."""
    explanation = explain_slack_rejection(header(MAX_HEADER_CHARS + 1))
    assert explanation == (
        "invalid_blocks: blocks[0].text.text has 151 characters; MAX_HEADER_CHARS is 150"
    )
    assert explain_slack_rejection(DIGEST) is None


def test_a_rejected_post_is_a_400_with_the_error_and_is_not_posted(slack: SlackStandIn) -> None:
    """Over HTTP a rejected payload answers 400 with the plain-text error and is recorded."""
    response = post(slack.url, header(MAX_HEADER_CHARS + 1))
    assert (response.status_code, response.text) == (400, "invalid_blocks")
    assert slack.posts == []
    assert slack.rejections == [(400, "invalid_blocks")]


def test_an_unparseable_body_is_invalid_payload(slack: SlackStandIn) -> None:
    """A body that is not JSON answers 400 invalid_payload and is still recorded as received."""
    response = requests.post(slack.url, data=b"{not json", timeout=5)
    assert (response.status_code, response.text) == (400, "invalid_payload")
    assert slack.received == [b"{not json"]


def test_a_form_encoded_payload_field_is_accepted(slack: SlackStandIn) -> None:
    """Like Slack, a form post with payload=<json> works too."""
    response = requests.post(slack.url, data={"payload": json.dumps({"text": "hi"})}, timeout=5)
    assert (response.status_code, response.text) == (200, "ok")
    assert slack.posts == [{"text": "hi"}]


def test_other_paths_are_no_service_404(slack: SlackStandIn) -> None:
    """Only the exact webhook path exists; anything else is 404 no_service."""
    response = post(slack.url.replace("standin-webhook-token", "revoked"), {"text": "hi"})
    assert (response.status_code, response.text) == (404, "no_service")
    assert slack.rejections == [(404, "no_service")]


def test_fail_next_answers_the_next_posts_then_accepts_again(slack: SlackStandIn) -> None:
    """Queued failures come first with their Retry-After; then valid posts succeed again."""
    slack.fail_next(429, times=2, body="rate_limited", retry_after="1")
    slack.fail_next(500)
    answers = [post(slack.url, {"text": f"try {n}"}) for n in range(4)]
    assert [(r.status_code, r.text) for r in answers] == [
        (429, "rate_limited"),
        (429, "rate_limited"),
        (500, "rollup_error"),
        (200, "ok"),
    ]
    assert answers[0].headers["Retry-After"] == "1"
    assert "Retry-After" not in answers[2].headers
    assert slack.posts == [{"text": "try 3"}]
    assert len(slack.received) == 4


def test_posts_are_recorded_in_arrival_order(slack: SlackStandIn) -> None:
    """posts keeps every accepted payload in the order it arrived."""
    for n in range(3):
        post(slack.url, {"text": f"message {n}"})
    assert [p["text"] for p in slack.posts] == ["message 0", "message 1", "message 2"]
