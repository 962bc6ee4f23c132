"""Specs for what the Slack stand-in tells end-to-end tests about untrusted text (issue 23):
it refuses what Slack's JSON parser refuses (NaN, Infinity), and `live_markup` says which
links, mentions and formatting Slack would render, so a regression that lets an event name
format text or become a link fails an end-to-end test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from devtools.slack_standin import DEFAULT_BOT_TOKEN, Markup, SlackStandIn, live_markup


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn() as standin:
        yield standin


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_a_webhook_payload_holding_nan_or_infinity_is_invalid_payload(
    slack: SlackStandIn, constant: bytes
) -> None:
    """Strict JSON (RFC 8259) has no NaN or Infinity: 400 invalid_payload, nothing posted."""
    body = b'{"text": "x", "n": ' + constant + b"}"
    response = requests.post(slack.url, data=body, timeout=5)
    assert (response.status_code, response.text) == (400, "invalid_payload")
    assert slack.posts == []


def test_a_chat_post_message_holding_nan_is_invalid_json(slack: SlackStandIn) -> None:
    """The Web API answers HTTP 200 with ok false, invalid_json."""
    response = requests.post(
        f"{slack.api_url}/api/chat.postMessage",
        data=b'{"channel": "C1", "text": "x", "n": NaN}',
        headers={"Authorization": f"Bearer {DEFAULT_BOT_TOKEN}"},
        timeout=5,
    )
    assert response.json() == {"ok": False, "error": "invalid_json"}


def section(text: str, **extra: Any) -> dict[str, Any]:
    return {"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text, **extra}}]}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<https://x.io/a|Open>", Markup(["https://x.io/a"], [], [])),
        ("see https://evil.example/x now", Markup(["https://evil.example/x"], [], [])),
        ("visit evil.example or www.x.co", Markup(["www.x.co", "evil.example"], [], [])),
        ("mail a@b.co", Markup(["a@b.co"], [], [])),
        ("<!here> <@U123> @channel", Markup([], ["!here", "@U123", "@channel"], [])),
        ("*PAYROLL* _update_ ~x~ `y`",
         Markup([], [], [("bold", "PAYROLL"), ("italic", "update"), ("strike", "x"),
                         ("code", "y")])),
        ("add_to_cart 2*3*4 evil[.]example https[:]//x &lt;!here&gt; \uff20here \uff0aB\uff0a",
         Markup([], [], [])),
    ],
    ids=["manual-link", "bare-url", "bare-hosts", "email", "mentions", "formatting",
         "inert-forms"],
)  # fmt: skip
def test_live_markup_lists_what_slack_would_render_live(text: str, expected: Markup) -> None:
    """Manual links and mentions, auto-linked URLs and hosts, formatted runs; the inert forms
    the renderer uses (defanged hosts, entities, full-width marks) are none of them."""
    assert live_markup(section(text)) == expected


def test_verbatim_text_is_not_auto_linked_but_manual_links_stay() -> None:
    """verbatim: true turns off auto-linking and plain mentions, not <url|text> links."""
    markup = live_markup(section("<https://x.io|x> evil.example @here", verbatim=True))
    assert markup == Markup(["https://x.io"], [], [])
