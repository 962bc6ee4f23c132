"""The delivery contract: one claim-post-mark path, the same on every ledger.

Each spec runs on the in-memory ledger and on the Azure Table ledger (Azurite). These are the
behaviours the three former copies (the pipeline, on-demand posts, alerts) disagreed on.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest

from shared.delivery.breach import Outcome
from shared.delivery.ledger import (
    DeliveryKey,
    DeliveryLedger,
    DeliveryStatus,
    InMemoryLedger,
    TableDeliveryLedger,
)
from shared.delivery.once import deliver, failure_detail, hold
from shared.delivery.streaks import failure_once, recovered
from shared.errors import EmailError, SlackError
from shared.render.slack import SlackMessage, render_failure, render_recovered
from tests.fakes import FakeSlack
from tests.race import run_together

T0 = datetime(2026, 7, 13, 9, tzinfo=UTC)
DAY = date(2026, 7, 12)
KEY = DeliveryKey("daily", DAY, DAY, "fake-webhook")


def message(text: str = "the report") -> SlackMessage:
    return SlackMessage(text=text, blocks=())


@pytest.fixture(params=["memory", "table"])
def ledger(request: pytest.FixtureRequest) -> DeliveryLedger:
    """Every spec holds for both ledgers."""
    if request.param == "memory":
        return InMemoryLedger()
    conn = request.getfixturevalue("azurite_connection_string")
    return TableDeliveryLedger(conn, table_name=request.getfixturevalue("ledger_table_name"))


def status(ledger: DeliveryLedger) -> tuple[DeliveryStatus, str]:
    (row,) = ledger.history(report=KEY.report)
    return row.status, row.detail


def test_a_delivery_posts_once_and_a_second_claim_of_the_same_key_posts_nothing(ledger):
    """Sent is final: a repeat of the key (a retry, another instance) posts nothing."""
    slack = FakeSlack()
    first = deliver(ledger, slack, KEY, message, now=T0, detail="posted")
    again = deliver(ledger, slack, KEY, message, now=T0 + timedelta(minutes=5), detail="posted")
    assert (first, again) == (True, False)
    assert [p["text"] for p in slack.posts] == ["the report"]
    assert status(ledger) == (DeliveryStatus.SENT, "posted")


def test_an_exception_while_building_releases_the_claim_and_the_next_run_posts(ledger):
    """No claim is left hanging until its lease runs out: the retry posts at once."""
    slack = FakeSlack()

    def broken() -> SlackMessage:
        raise KeyError("secret internals")

    with pytest.raises(KeyError):
        deliver(ledger, slack, KEY, broken, now=T0, detail="posted")
    assert status(ledger) == (
        DeliveryStatus.FAILED,
        "internal error (KeyError); see the function logs",
    )
    assert deliver(ledger, slack, KEY, message, now=T0 + timedelta(minutes=1), detail="posted")
    assert len(slack.posts) == 1


def test_a_bug_in_the_poster_marks_the_claim_failed_without_its_text(ledger):
    """Any exception after the claim marks it failed; a bug's words stay in the logs."""

    class Broken:
        destination = "fake-webhook"

        def post(self, message: SlackMessage) -> None:
            raise RuntimeError("internals")

    with pytest.raises(RuntimeError):
        deliver(ledger, Broken(), KEY, message, now=T0, detail="posted")
    assert status(ledger) == (
        DeliveryStatus.FAILED,
        "internal error (RuntimeError); see the function logs",
    )


@pytest.mark.parametrize(
    "error",
    [
        SlackError("server error", status=503),
        EmailError("connection refused"),
    ],
    ids=["slack 503", "smtp refused"],
)
def test_a_refusal_that_cannot_have_posted_is_marked_failed_and_retried_once(ledger, error):
    """A DeliveryError without maybe_posted: failed, so the next run posts it, once."""
    slack = FakeSlack(fail_with=[error])
    with pytest.raises(type(error)):
        deliver(ledger, slack, KEY, message, now=T0, detail="posted")
    assert status(ledger) == (DeliveryStatus.FAILED, failure_detail(error))
    later = T0 + timedelta(minutes=15)
    assert deliver(ledger, slack, KEY, message, now=later, detail="posted")
    assert not deliver(ledger, slack, KEY, message, now=later, detail="posted")
    assert len(slack.posts) == 1


@pytest.mark.parametrize(
    "error",
    [
        SlackError("read timed out", maybe_posted=True),
        EmailError("connection lost after the data", maybe_posted=True),
    ],
    ids=["slack timeout", "smtp lost after data"],
)
def test_a_post_that_may_have_landed_is_marked_uncertain_and_never_posted_again(ledger, error):
    """maybe_posted: a second copy is worse than a doubt."""
    slack = FakeSlack(fail_with=[error])
    with pytest.raises(type(error)):
        deliver(ledger, slack, KEY, message, now=T0, detail="posted")
    assert status(ledger) == (DeliveryStatus.SENT, f"uncertain: {failure_detail(error)}")
    assert not deliver(ledger, slack, KEY, message, now=T0 + timedelta(hours=1), detail="posted")
    assert slack.posts == []


def test_a_held_claim_blocks_a_duplicate_and_its_release_lets_the_next_run_post(ledger):
    """hold() is the claim before the message exists: a duplicate then costs nothing."""
    slack = FakeSlack()
    held = hold(ledger, KEY, now=T0)
    assert held is not None
    assert hold(ledger, KEY, now=T0) is None
    held.release(now=T0, detail="not posted: the report was not built")
    held.release(now=T0, detail="released twice: ignored")
    assert status(ledger) == (DeliveryStatus.FAILED, "not posted: the report was not built")
    again = hold(ledger, KEY, now=T0 + timedelta(minutes=1))
    assert again is not None
    again.post(slack, message(), now=T0, detail="posted")
    with pytest.raises(RuntimeError, match="already settled"):
        again.post(slack, message(), now=T0, detail="posted")
    assert len(slack.posts) == 1


def test_a_secret_in_an_error_never_reaches_the_ledger(ledger):
    """The ledger masks webhook URLs an error might quote."""
    error = SlackError("refused https://hooks.slack.com/services/T0/B0/abcdef", status=400)
    slack = FakeSlack(fail_with=[error])
    with pytest.raises(SlackError):
        deliver(ledger, slack, KEY, message, now=T0, detail="posted")
    _, detail = status(ledger)
    assert "abcdef" not in detail
    assert "hooks.slack.com/***" in detail


def test_concurrent_deliveries_of_one_key_post_once(ledger):
    """Eight instances firing at once: one claim wins, one post."""
    slack = FakeSlack()
    results = run_together(8, lambda: deliver(ledger, slack, KEY, message, now=T0, detail="x"))
    assert sorted(results) == [False] * 7 + [True]
    assert len(slack.posts) == 1


def test_a_failure_streak_posts_one_notice_and_one_recovered_line(ledger):
    """Four failed attempts, one notice; the next success, one recovered line; then none."""
    slack = FakeSlack()

    def notice() -> SlackMessage:
        return render_failure(report="daily", window=None, error="Mixpanel is down", when=T0)

    outcomes = [
        failure_once(ledger, slack, report="daily", now=T0 + timedelta(minutes=i), notice=notice)
        for i in range(4)
    ]
    assert outcomes == [Outcome.OPENED] + [Outcome.ONGOING] * 3
    recovered(
        ledger,
        slack,
        report="daily",
        now=T0 + timedelta(hours=1),
        line=lambda: render_recovered("daily", T0),
    )
    recovered(
        ledger,
        slack,
        report="daily",
        now=T0 + timedelta(hours=2),
        line=lambda: render_recovered("daily", T0),
    )
    texts = [p["text"] for p in slack.posts]
    assert len(texts) == 2
    assert texts[0].startswith("Daily report failed")
    assert texts[1] == ":white_check_mark: Daily report recovered: the last run succeeded."


def test_concurrent_failures_of_one_streak_post_one_notice(ledger):
    """Retries racing each other still post one notice for the streak."""
    slack = FakeSlack()
    notice: Callable[[], SlackMessage] = lambda: message("Daily report failed")  # noqa: E731
    outcomes = run_together(
        6, lambda: failure_once(ledger, slack, report="daily", now=T0, notice=notice)
    )
    assert outcomes.count(Outcome.OPENED) == 1
    assert len(slack.posts) == 1


def test_the_row_keeps_the_first_attempts_time_and_failure_across_retries(ledger):
    """A late post needs since when and why: later attempts never overwrite them."""
    slack = FakeSlack(
        fail_with=[SlackError("first outage", status=503), SlackError("second", status=502)]
    )
    for minutes in (0, 15, 30):
        with contextlib.suppress(SlackError):
            deliver(ledger, slack, KEY, message, now=T0 + timedelta(minutes=minutes), detail="ok")
    (row,) = ledger.history(report=KEY.report)
    assert row.status is DeliveryStatus.SENT
    assert row.attempt == 3
    assert row.first_attempt_at == T0
    assert row.failure == "Slack webhook answered HTTP 503: first outage"
