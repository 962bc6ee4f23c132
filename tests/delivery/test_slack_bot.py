"""Spec of bot-token delivery: chat.postMessage via slack_sdk, ok:false read as a failure."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devtools.slack_standin import DEFAULT_BOT_TOKEN, SlackStandIn
from shared.delivery.slack_bot import SlackBotPoster
from shared.errors import SlackError
from shared.render.blocks import section_block
from shared.render.slack import SlackMessage
from shared.settings import Secret
from tests.azurite import free_port

CHANNEL = "C0REPORTS"
CHART = {
    "type": "data_visualization",
    "block_id": "trend",
    "title": "Daily trend vs previous week",
    "chart": {
        "type": "line",
        "series": [{"name": "Signups", "data": [{"label": "Mon 16 Nov", "value": 3}]}],
        "axis_config": {"categories": ["Mon 16 Nov"]},
    },
}
MESSAGE = SlackMessage(
    text="Acme weekly report: Signups 3", blocks=(section_block(text="*3*"), CHART)
)


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    stand = SlackStandIn()
    stand.start()
    try:
        yield stand
    finally:
        stand.stop()


def poster(
    slack: SlackStandIn, token: str = DEFAULT_BOT_TOKEN, **kw: object
) -> tuple[SlackBotPoster, list[float]]:
    sleeps: list[float] = []
    bot = SlackBotPoster(
        Secret(token),
        CHANNEL,
        api_url=slack.api_url,
        sleep=sleeps.append,
        **kw,  # type: ignore[arg-type]
    )
    return bot, sleeps


def test_a_message_is_posted_to_the_channel_with_its_chart_blocks_unchanged(
    slack: SlackStandIn,
) -> None:
    """chat.postMessage gets the channel, the fallback text and the blocks as plain dicts."""
    bot, _ = poster(slack)
    bot.post(MESSAGE)
    [posted] = slack.posts
    assert posted["channel"] == CHANNEL
    assert posted["text"] == MESSAGE.text
    assert posted["blocks"] == list(MESSAGE.blocks)


def test_ok_false_at_http_200_is_a_failure_naming_slacks_error(slack: SlackStandIn) -> None:
    """Slack's Web API refuses with HTTP 200 and ok:false: that is a SlackError, not a post."""
    slack.refuse_charts = True
    bot, sleeps = poster(slack)
    with pytest.raises(SlackError) as caught:
        bot.post(MESSAGE)
    assert str(caught.value) == (
        "Slack chat.postMessage answered HTTP 200: Slack rejected the message format "
        "(chat.postMessage): invalid_blocks"
    )
    assert (caught.value.status, caught.value.body, caught.value.maybe_posted) == (
        200,
        "invalid_blocks",
        False,
    )
    assert slack.posts == []
    assert sleeps == []


def test_a_wrong_token_fails_without_showing_the_token(slack: SlackStandIn) -> None:
    """invalid_auth names what to check, never the token."""
    token = "xoxb-999-wrong-token-abcdef"
    bot, _ = poster(slack, token)
    with pytest.raises(SlackError) as caught:
        bot.post(MESSAGE)
    assert caught.value.body == "invalid_auth"
    assert "SLACK_BOT_TOKEN" in str(caught.value)
    assert token not in str(caught.value)
    assert token not in repr(caught.value.__context__)
    assert token[5:] not in bot.destination


def test_a_rate_limit_waits_retry_after_then_posts_once(slack: SlackStandIn) -> None:
    """429 with Retry-After: nothing was posted, so waiting and trying again is safe."""
    slack.fail_next(429, body="ratelimited", retry_after="2")
    bot, sleeps = poster(slack)
    bot.post(MESSAGE)
    assert sleeps == [2.0]
    assert len(slack.posts) == 1


def test_an_unreachable_api_is_retried_then_reported_as_not_posted() -> None:
    """Connection refused cannot have posted: bounded retries (the delivery policy, 2 s then
    4 s, as the webhook and SMTP), then a clear error."""
    sleeps: list[float] = []
    bot = SlackBotPoster(
        Secret(DEFAULT_BOT_TOKEN),
        CHANNEL,
        api_url=f"http://127.0.0.1:{free_port()}",
        sleep=sleeps.append,
    )
    with pytest.raises(SlackError) as caught:
        bot.post(MESSAGE)
    assert str(caught.value) == "Slack chat.postMessage: could not reach Slack (ConnectionError)"
    assert not caught.value.maybe_posted
    assert sleeps == [2.0, 4.0]


def test_each_channel_is_its_own_destination() -> None:
    """The ledger keys on a fingerprint of token and channel: two channels, two deliveries."""
    token = Secret(DEFAULT_BOT_TOKEN)
    one = SlackBotPoster(token, "C1", api_url="http://127.0.0.1:9")
    two = SlackBotPoster(token, "C2", api_url="http://127.0.0.1:9")
    assert one.destination != two.destination
    assert len(one.destination) == 12
