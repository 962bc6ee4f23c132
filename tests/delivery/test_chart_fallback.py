"""Spec of the chart fallback: a destination that refuses charts still gets each report once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from devtools.slack_standin import SlackStandIn, slack_rejection
from shared.delivery.chart_fallback import (
    ChartFallbackPoster,
    InMemoryChartMemory,
    TableChartMemory,
    may_refuse_charts,
)
from shared.delivery.ledger import DeliveryStatus, InMemoryLedger
from shared.delivery.slack_bot import SlackBotPoster
from shared.delivery.slack_client import SlackWebhook
from shared.errors import SlackError
from shared.pipeline import Delivered, run_scheduled
from shared.render.blocks import section_block
from shared.render.slack import SlackMessage, has_charts, render_message, without_charts
from shared.schedule.periods import PeriodKind
from shared.settings import ChartsMode, Secret
from tests.fakes import FakeMixpanel, FakeSlack
from tests.test_pipeline import CTX, MONDAY_9, RULES, project

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
CHART = {
    "type": "data_visualization",
    "block_id": "trend",
    "title": "Daily trend vs previous week",
    "chart": {
        "type": "line",
        "series": [
            {
                "name": "Signups",
                "data": [{"label": "Mon", "value": 1200}, {"label": "Tue", "value": 7}],
            }
        ],
        "axis_config": {"categories": ["Mon", "Tue"]},
    },
}
CHARTED = SlackMessage(text="Acme weekly report", blocks=(section_block(text="*1,207*"), CHART))
REFUSED = SlackError("Slack rejected the message format", status=400, body="invalid_blocks")


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def fallback(
    slack: FakeSlack, memory: InMemoryChartMemory, clock: Clock, mode: ChartsMode = ChartsMode.AUTO
) -> ChartFallbackPoster:
    return ChartFallbackPoster(
        slack, memory=memory, mode=mode, retry_after=timedelta(days=30), clock=clock
    )


def kinds(payload: dict[str, Any]) -> list[str]:
    return [b["type"] for b in payload["blocks"]]


@pytest.mark.parametrize(
    ("error", "refused"),
    [
        (REFUSED, True),
        (SlackError("x", status=200, body="invalid_blocks"), True),  # chat.postMessage ok:false
        (SlackError("x", status=500, body="invalid_blocks_format"), True),
        (SlackError("x", status=500, body=""), True),  # how webhooks refused the markdown block
        (SlackError("x", status=400, body=""), True),  # the empty 400 of other refusals
        (SlackError("x", status=500, body="rollup_error"), True),
        (SlackError("x", status=404, body="channel_not_found"), True),  # one more try, then out
        (SlackError("x", status=400, body="msg_blocks_too_long"), True),
        (SlackError("x", status=429, body="rate_limited"), False),
        (SlackError("x", status=200, body="ratelimited"), False),  # chat.postMessage's 429
        (SlackError("x", body="invalid_blocks", maybe_posted=True), False),
        (SlackError("could not reach Slack (ConnectionError)"), False),
    ],
    ids=[
        "400",
        "ok-false",
        "500-naming-blocks",
        "500-empty",
        "400-empty",
        "500",
        "channel",
        "too-long",
        "429",
        "ok-false-ratelimited",
        "maybe",
        "down",
    ],
)
def test_any_answer_but_a_rate_limit_may_be_a_chart_refusal(
    error: SlackError, refused: bool
) -> None:
    """Slack answered without posting: maybe the charts, so one try without them is safe. A
    post that may have landed, or a rate limit, is never taken for a refusal."""
    assert may_refuse_charts(error) is refused


def test_without_charts_keeps_the_text_and_states_each_charts_numbers() -> None:
    """Nothing is lost: the chart becomes a context line holding its series' values."""
    plain = without_charts(CHARTED)
    assert plain.text == CHARTED.text
    assert kinds(plain.payload()) == ["section", "context"]
    assert plain.blocks[1]["elements"][0]["text"] == (
        "📈 Daily trend vs previous week: Signups 1,200, 7"
    )
    assert not has_charts(plain)
    assert has_charts(CHARTED)


def test_a_refused_chart_message_is_posted_once_more_without_charts_and_remembered() -> None:
    """One invalid_blocks answer, then the same report without charts; the refusal is kept."""
    slack = FakeSlack(fail_with=[REFUSED])
    memory, clock = InMemoryChartMemory(), Clock()
    fallback(slack, memory, clock).post(CHARTED)
    assert [kinds(p) for p in slack.posts] == [["section", "context"]]
    assert memory.refused_at(slack.destination) == T0


def test_a_remembered_refusal_skips_the_chart_attempt_until_the_retry_days_pass() -> None:
    """Later reports go straight without charts; after SLACK_CHARTS_RETRY_DAYS they try again."""
    slack = FakeSlack()
    memory, clock = InMemoryChartMemory(), Clock()
    memory.remember_refusal(slack.destination, T0, "invalid_blocks")
    poster = fallback(slack, memory, clock)
    clock.now = T0 + timedelta(days=29)
    poster.post(CHARTED)
    assert "data_visualization" not in kinds(slack.posts[-1])
    clock.now = T0 + timedelta(days=30)
    poster.post(CHARTED)  # accepted this time: the memory is cleared
    assert "data_visualization" in kinds(slack.posts[-1])
    assert memory.refused_at(slack.destination) is None


@pytest.mark.parametrize(
    ("mode", "sent_charts"),
    [(ChartsMode.ON, True), (ChartsMode.OFF, False), (ChartsMode.AUTO, False)],
    ids=["on-tries-anyway", "off-never", "auto-skips"],
)
def test_slack_charts_setting_decides_whether_a_refused_destination_is_tried(
    mode: ChartsMode, sent_charts: bool
) -> None:
    """SLACK_CHARTS=on always tries, off never sends charts, auto skips a recent refusal."""
    slack = FakeSlack()
    memory = InMemoryChartMemory()
    memory.remember_refusal(slack.destination, T0, "invalid_blocks")
    fallback(slack, memory, Clock(), mode).post(CHARTED)
    assert ("data_visualization" in kinds(slack.posts[0])) is sent_charts


@pytest.mark.parametrize(
    "error",
    [
        SlackError("gone", status=404, body="channel_not_found"),
        SlackError("down", status=503, body=""),
    ],
    ids=["channel-gone", "slack-down"],
)
def test_a_failure_that_is_not_the_charts_is_raised_after_one_chartless_try(
    error: SlackError,
) -> None:
    """The chartless try fails the same way: raised, nothing posted, the charts not blamed."""
    slack = FakeSlack(fail_with=[error, error])
    memory = InMemoryChartMemory()
    with pytest.raises(SlackError) as raised:
        fallback(slack, memory, Clock()).post(CHARTED)
    assert raised.value is error
    assert slack.posts == []
    assert slack.fail_with == []  # tried twice: with the charts, then without
    assert memory.refused_at(slack.destination) is None


def test_a_rate_limit_is_raised_without_a_second_post() -> None:
    """429 says "slow down", not "no charts": no chartless try, nothing remembered."""
    limited = SlackError("slow", status=429, body="rate_limited")
    slack = FakeSlack(fail_with=[limited])
    memory = InMemoryChartMemory()
    with pytest.raises(SlackError):
        fallback(slack, memory, Clock()).post(CHARTED)
    assert slack.posts == []
    assert memory.refused_at(slack.destination) is None


@pytest.mark.parametrize(
    "error",
    [SlackError("x", status=500, body=""), SlackError("x", status=400, body="")],
    ids=["500-empty", "400-empty"],
)
def test_a_refusal_without_a_word_about_blocks_still_posts_the_report_without_charts(
    error: SlackError,
) -> None:
    """An empty 500 or 400 to a charted message: the same report without charts, remembered."""
    slack = FakeSlack(fail_with=[error])
    memory = InMemoryChartMemory()
    fallback(slack, memory, Clock()).post(CHARTED)
    assert [kinds(p) for p in slack.posts] == [["section", "context"]]
    assert memory.refused_at(slack.destination) == T0


def test_a_message_too_long_is_posted_without_charts_but_the_charts_are_not_blamed() -> None:
    """msg_blocks_too_long: the shorter chartless message goes; later reports still try charts."""
    slack = FakeSlack(fail_with=[SlackError("x", status=400, body="msg_blocks_too_long")])
    memory = InMemoryChartMemory()
    fallback(slack, memory, Clock()).post(CHARTED)
    assert [kinds(p) for p in slack.posts] == [["section", "context"]]
    assert memory.refused_at(slack.destination) is None


# --- end to end: the real pipeline, the ledger, a stand-in that refuses charts ------------------


@pytest.fixture
def refusing() -> Iterator[SlackStandIn]:
    stand = SlackStandIn(refuse_charts=True)
    stand.start()
    try:
        yield stand
    finally:
        stand.stop()


def run(slack: ChartFallbackPoster, ledger: InMemoryLedger) -> Delivered:
    outcome = run_scheduled(
        PeriodKind.WEEKLY,
        CTX,
        RULES,
        scheduled_for=MONDAY_9,
        past_due=False,
        now=MONDAY_9,
        mixpanel=FakeMixpanel(project(), CTX.timezone),
        slack=slack,
        ledger=ledger,
    )
    assert isinstance(outcome, Delivered)
    return outcome


@pytest.mark.parametrize("transport", ["webhook", "bot"])
def test_a_chart_refusing_destination_gets_exactly_one_message_per_report(
    refusing: SlackStandIn, transport: str
) -> None:
    """Webhook or bot: one refusal, one accepted post without charts, one sent ledger row."""
    memory = InMemoryChartMemory()
    with requests.Session() as session:
        inner = (
            SlackWebhook(Secret(refusing.url), session=session, sleep=lambda _s: None)
            if transport == "webhook"
            else SlackBotPoster(Secret(refusing.bot_token), "C1", api_url=refusing.api_url)
        )
        slack = ChartFallbackPoster(inner, memory=memory, clock=Clock())
        ledger = InMemoryLedger()
        first = run(slack, ledger)
        again = run(slack, ledger)  # the same window again: the ledger posts nothing
    assert first.posted
    assert not again.posted
    [accepted] = refusing.posts
    assert "data_visualization" not in kinds(accepted)
    assert slack_rejection(accepted) is None
    assert accepted["text"] == render_message(first.report).text  # type: ignore[arg-type]
    assert len(refusing.rejections) == 1  # the one chart attempt; the next report skips it
    assert [r.status for r in ledger.history()] == [DeliveryStatus.SENT]
    assert memory.refused_at(inner.destination) == T0


@pytest.mark.parametrize(
    "refusal",
    [(400, "invalid_blocks"), (500, ""), (400, "")],
    ids=["400-invalid_blocks", "500-empty", "400-empty"],
)
def test_a_webhook_refusing_charts_in_any_shape_gets_every_daily_report_once(
    refusal: tuple[int, str],
) -> None:
    """Two daily reports to a webhook that refuses charts (even with an empty 500): two posts,
    each once, without charts; only the first report paid for the refused attempt."""
    stand = SlackStandIn(refuse_charts=True, chart_refusal=refusal)
    stand.start()
    memory, ledger = InMemoryChartMemory(), InMemoryLedger()
    try:
        with requests.Session() as session:
            inner = SlackWebhook(Secret(stand.url), session=session, sleep=lambda _s: None)
            slack = ChartFallbackPoster(inner, memory=memory, clock=Clock())
            for day in (MONDAY_9, MONDAY_9 + timedelta(days=1)):
                outcome = run_scheduled(
                    PeriodKind.DAILY,
                    CTX,
                    RULES,
                    scheduled_for=day,
                    past_due=False,
                    now=day,
                    mixpanel=FakeMixpanel(project(), CTX.timezone),
                    slack=slack,
                    ledger=ledger,
                )
                assert isinstance(outcome, Delivered)
                assert outcome.posted
    finally:
        stand.stop()
    assert len(stand.posts) == 2
    assert all(slack_rejection(p) is None for p in stand.posts)
    assert all("data_visualization" not in kinds(p) for p in stand.posts)
    assert stand.rejections == [refusal]  # the second report skipped the refused attempt
    assert [r.status for r in ledger.history()] == [DeliveryStatus.SENT] * 2


def test_an_accepting_destination_gets_the_charts(stack_slack: SlackStandIn) -> None:
    """The strict stand-in accepts the weekly report's two charts as they are."""
    with requests.Session() as session:
        inner = SlackWebhook(Secret(stack_slack.url), session=session)
        run(
            ChartFallbackPoster(inner, memory=InMemoryChartMemory(), clock=Clock()),
            InMemoryLedger(),
        )
    [accepted] = stack_slack.posts
    assert kinds(accepted).count("data_visualization") == 2


@pytest.fixture
def stack_slack() -> Iterator[SlackStandIn]:
    stand = SlackStandIn()
    stand.start()
    try:
        yield stand
    finally:
        stand.stop()


# --- the refusal survives a restart: a row in Table storage -----------------------------------


@pytest.mark.azurite
def test_a_refusal_is_remembered_in_table_storage_across_processes(
    azurite_connection_string: str, ledger_table_name: str
) -> None:
    """A new process (empty memory) reads the refusal back; forget() removes the row."""
    first = TableChartMemory(
        azurite_connection_string, table_name=ledger_table_name, process=InMemoryChartMemory()
    )
    assert first.refused_at("abc123") is None
    first.remember_refusal("abc123", T0, "invalid_blocks")
    later = TableChartMemory(
        azurite_connection_string, table_name=ledger_table_name, process=InMemoryChartMemory()
    )
    assert later.refused_at("abc123") == T0
    assert later.refused_at("other") is None
    later.forget("abc123")
    fresh = TableChartMemory(
        azurite_connection_string, table_name=ledger_table_name, process=InMemoryChartMemory()
    )
    assert fresh.refused_at("abc123") is None


def test_unreachable_table_storage_never_blocks_a_report() -> None:
    """Storage down: the process memory answers and the post goes ahead."""
    memory = TableChartMemory(
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
        "TableEndpoint=http://127.0.0.1:9/devstoreaccount1;",
        table_name="chartsdown",
        process=InMemoryChartMemory(),
    )
    slack = FakeSlack(fail_with=[REFUSED])
    ChartFallbackPoster(slack, memory=memory, clock=Clock()).post(CHARTED)
    assert len(slack.posts) == 1
    assert memory.refused_at(slack.destination) == T0


def test_a_refusal_not_caused_by_the_charts_is_not_remembered() -> None:
    """invalid_blocks again without the charts: raised, and charts are not blamed."""
    slack = FakeSlack(fail_with=[REFUSED, REFUSED])
    memory = InMemoryChartMemory()
    with pytest.raises(SlackError):
        fallback(slack, memory, Clock()).post(CHARTED)
    assert slack.posts == []
    assert memory.refused_at(slack.destination) is None
