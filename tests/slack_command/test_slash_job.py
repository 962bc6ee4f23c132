"""The worker: one answer per command, whatever retries, replays and redeliveries do."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime

import pytest

from shared.delivery.ledger import DeliveryStatus, InMemoryLedger
from shared.errors import LedgerError, MixpanelRateLimited, SlackError
from shared.render.slack import SlackMessage
from shared.report.metrics import load_metrics
from shared.settings import DEFAULT_METRICS_FILE, Secret
from shared.slack_command.job import (
    Answering,
    BadJob,
    CommandJob,
    answer_job,
    command_key,
    decode_job,
    encode_job,
)
from shared.slack_command.parse import CommandForm, ReportAsk

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
URL = "https://hooks.slack.com/commands/T0001/555/JOBSECRETTOKEN"


def job(text: str = "weekly", url: str = URL) -> CommandJob:
    form = CommandForm("T0001", "C0001", "U0001", "/analytics", text, Secret(url))
    return CommandJob(form=form, today=date(2026, 11, 25), received_at=NOW)


@dataclass
class FakePoster:
    """Records what it was asked to post, per response_type; may fail instead."""

    posts: list[tuple[str, SlackMessage]] = field(default_factory=list)
    failure: SlackError | None = None

    def __call__(self, response_type: str) -> FakePoster:
        self._type = response_type
        return self

    @property
    def destination(self) -> str:
        return "fake"

    def post(self, message: SlackMessage) -> None:
        if self.failure is not None:
            raise self.failure
        self.posts.append((self._type, message))


@dataclass
class FakeReports:
    """Builds a tiny 'report' per ask (render_message is the real renderer, tested elsewhere)."""

    asked: list[ReportAsk] = field(default_factory=list)
    failure: Exception | None = None

    def __call__(self, ask: ReportAsk):
        self.asked.append(ask)
        if self.failure is not None:
            raise self.failure
        from tests.slack_command.reports import tiny_report

        return tiny_report(ask.period)


def deps(ledger=None, poster=None, reports=None) -> Answering:
    return Answering(
        ledger=ledger or InMemoryLedger(),
        config=load_metrics(DEFAULT_METRICS_FILE),
        build=reports or FakeReports(),
        history=list,
        poster=poster or FakePoster(),
    )


def test_a_job_survives_the_queue_and_never_shows_its_url_when_unreadable():
    """encode/decode round trip; a broken message is BadJob without the response_url."""
    one = job()
    again = decode_job(encode_job(one))
    assert again == one
    with pytest.raises(BadJob) as caught:
        decode_job(encode_job(one).replace('"v": 1', '"v": 2'))
    assert "JOBSECRET" not in str(caught.value)
    for text in ("", "[]", "{", encode_job(job(url="https://evil.example/x"))):
        with pytest.raises(BadJob):
            decode_job(text)


def test_the_same_command_twice_is_answered_once():
    """A redelivered message or a Slack retry (same response_url) posts nothing more."""
    ledger, poster, reports = InMemoryLedger(), FakePoster(), FakeReports()
    answering = deps(ledger, poster, reports)
    assert answer_job(job(), answering, now=NOW) is True
    assert answer_job(job(), answering, now=NOW) is False
    assert answer_job(job(text="daily"), answering, now=NOW) is False  # same command identity
    assert len(poster.posts) == 1
    assert len(reports.asked) == 1
    [row] = ledger.history()
    assert row.status is DeliveryStatus.SENT
    assert row.key == command_key(job())


def test_a_report_is_private_unless_shared():
    """ephemeral by default, in_channel with `share`."""
    poster = FakePoster()
    answer_job(job("weekly"), deps(poster=poster), now=NOW)
    answer_job(job("weekly share", url=URL + "2"), deps(poster=poster), now=NOW)
    assert [kind for kind, _ in poster.posts] == ["ephemeral", "in_channel"]


def test_a_failed_report_gets_one_short_ephemeral_error():
    """Mixpanel's spent budget: when to try again; recorded as answered, not retried."""
    poster, ledger = FakePoster(), InMemoryLedger()
    reports = FakeReports(failure=MixpanelRateLimited("spent", endpoint="x", retry_after=600))
    answering = deps(ledger, poster, reports)
    assert answer_job(job("weekly share"), answering, now=NOW) is True
    assert answer_job(job("weekly share"), answering, now=NOW) is False
    [(kind, message)] = poster.posts
    assert kind == "ephemeral"
    assert message.text == (
        ":warning: Mixpanel's query budget for this project is spent. "
        "Try again in about 10 minutes (after 10:10 UTC)."
    )
    assert ledger.history()[0].detail.startswith("answered with an error: Mixpanel")


def test_a_refused_post_is_recorded_failed_and_raised_for_the_queue_to_retry():
    """Slack answered without posting: the next delivery of the message tries again."""
    ledger = InMemoryLedger()
    poster = FakePoster(failure=SlackError("refused", status=500, body="rollup_error"))
    with pytest.raises(SlackError):
        answer_job(job(), deps(ledger, poster), now=NOW)
    assert ledger.history()[0].status is DeliveryStatus.FAILED
    poster.failure = None
    assert answer_job(job(), deps(ledger, poster), now=NOW) is True
    assert len(poster.posts) == 1


def test_a_post_that_may_have_landed_is_never_repeated():
    """A timeout may have posted: recorded as sent (uncertain), not raised, not retried."""
    ledger = InMemoryLedger()
    poster = FakePoster(failure=SlackError("no answer", maybe_posted=True))
    assert answer_job(job(), deps(ledger, poster), now=NOW) is True
    assert ledger.history()[0].detail.startswith("uncertain:")
    poster.failure = None
    assert answer_job(job(), deps(ledger, poster), now=NOW) is False
    assert poster.posts == []


@pytest.mark.parametrize(
    ("text", "needle"),
    [("help", "/analytics"), ("status", "Nothing was delivered"), ("nonsense", "I don't know")],
)
def test_help_status_and_unknown_words_are_answered_privately(text, needle):
    """Whatever the queue carries is answered once, ephemeral."""
    poster = FakePoster()
    answer_job(job(text), deps(poster=poster), now=NOW)
    [(kind, message)] = poster.posts
    assert kind == "ephemeral"
    assert needle in str(message.payload())


def test_the_ledger_key_never_holds_the_response_url():
    """The key is the URL's fingerprint: nothing of the URL reaches storage."""
    key = command_key(replace(job()))
    assert "JOBSECRET" not in f"{key.report}{key.destination}"
    assert "://" not in key.destination


def test_an_unreadable_history_is_answered_once_with_the_reason():
    """Status with the ledger's storage failing: one short line, not a silent failure."""

    def broken() -> list:
        raise LedgerError("table storage read history on table 'x' failed (HTTP 503)")

    poster = FakePoster()
    answering = replace(deps(poster=poster), history=broken)
    assert answer_job(job("status"), answering, now=NOW) is True
    [(kind, message)] = poster.posts
    assert kind == "ephemeral"
    assert message.text.startswith(":warning: The delivery history could not be read: table")
