"""Issue 23 item 4: the ledger is read before Mixpanel, so a duplicate post costs 0 requests.

Counted on the Mixpanel stand-in: its `requests` list is every request the app sent it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.functions as func
import pytest

import CustomReport
from shared.delivery.ledger import DeliveryStatus, InMemoryLedger
from shared.jobs import custom_report
from shared.schedule.periods import PeriodKind, report_period
from shared.web.ondemand import post_on_demand
from tests.e2e import Stack
from tests.openapi_check import validate_against_openapi
from tests.race import run_together

ROUTE = "/api/CustomReport"


def get(**params: str) -> func.HttpResponse:
    return CustomReport.main(func.HttpRequest(method="GET", url=ROUTE, params=params, body=b""))


def answer(response: func.HttpResponse) -> Any:
    return json.loads(response.get_body())


@pytest.fixture
def ledger_storage(
    stack: Stack, azurite_connection_string: str, ledger_table_name: str, monkeypatch
) -> Stack:
    """The stand-ins, with the delivery ledger on Azurite (idempotency_key needs storage)."""
    monkeypatch.setenv("AzureWebJobsStorage", azurite_connection_string)
    monkeypatch.setenv("DELIVERY_TABLE", ledger_table_name)
    return stack


@pytest.mark.azurite
def test_ten_repeats_of_a_used_idempotency_key_cost_no_mixpanel_request(ledger_storage: Stack):
    """The first request builds and posts; the ten repeats are answered from the ledger alone."""
    stack = ledger_storage
    first = get(period="weekly", idempotency_key="weekly-2026-W47")
    assert answer(first)["slack"] == {"posted": True, "error": None}
    spent = len(stack.mixpanel.requests)
    assert spent > 0
    for _ in range(10):
        repeat = get(period="weekly", idempotency_key="weekly-2026-W47")
        assert repeat.status_code == 200
        body = answer(repeat)
        validate_against_openapi("DuplicateResponse", body)
        assert body["slack"]["reason"] == "this idempotency_key was used"
    assert len(stack.mixpanel.requests) == spent
    assert len(stack.slack.posts) == 1


def test_sixty_refetches_of_a_posted_link_cost_no_mixpanel_request(stack: Stack):
    """An unfurler re-fetching a posted link 60 times inside CUSTOM_REPOST_SECONDS: 0 requests."""
    assert answer(get(period="weekly"))["slack"]["posted"] is True
    spent = len(stack.mixpanel.requests)
    for _ in range(60):
        body = answer(get(period="weekly", format="text"))  # any answer format: the same report
        validate_against_openapi("DuplicateResponse", body)
        assert "CUSTOM_REPOST_SECONDS" in body["slack"]["reason"]
    assert len(stack.mixpanel.requests) == spent
    assert len(stack.slack.posts) == 1


@pytest.mark.azurite
def test_concurrent_requests_with_one_idempotency_key_build_and_post_once(ledger_storage: Stack):
    """Eight at once with one key: one claim, one post, one report's worth of Mixpanel requests."""
    stack = ledger_storage
    answers = run_together(8, lambda: answer(get(period="weekly", idempotency_key="race-1")))
    assert sorted(a["slack"]["posted"] for a in answers) == [False] * 7 + [True]
    assert len(stack.slack.posts) == 1
    # One build asks each question once; a second build would repeat its questions.
    asked = [(r.path, repr(sorted(r.query.items()))) for r in stack.mixpanel.requests]
    assert asked
    assert len(set(asked)) == len(asked), asked


def test_a_mixpanel_failure_releases_the_claim_so_a_retry_posts_at_once(stack: Stack):
    """Mixpanel refuses: 502; the same request a moment later builds and posts (no stale claim)."""
    stack.mixpanel.fail_next(401, times=1)
    failed = get(period="weekly")
    assert (failed.status_code, answer(failed)["error"]["code"]) == (502, "mixpanel_auth")
    assert stack.slack.posts == []
    retry = get(period="weekly")
    assert retry.status_code == 200
    assert answer(retry)["slack"] == {"posted": True, "error": None}
    assert len(stack.slack.posts) == 1


def test_a_render_bug_after_the_claim_releases_it(stack: Stack, monkeypatch):
    """A non-Slack exception between claim and post answers 500 and leaves no claim behind."""
    real = custom_report.render_message
    calls = []

    def broken_once(report: Any) -> Any:
        calls.append(report)
        if len(calls) == 1:
            raise RuntimeError("a rendering bug")
        return real(report)

    monkeypatch.setattr(custom_report, "render_message", broken_once)
    first = get(period="weekly")
    assert (first.status_code, answer(first)["error"]["code"]) == (500, "internal_error")
    again = get(period="weekly")
    assert answer(again)["slack"] == {"posted": True, "error": None}
    assert len(stack.slack.posts) == 1


class BrokenPoster:
    """A Slack side whose post fails with something other than SlackError (a bug)."""

    destination = "fp-broken"

    def __init__(self) -> None:
        self.posts: list[object] = []
        self.fail = True

    def post(self, message: object) -> None:
        if self.fail:
            raise ValueError("not a Slack error")
        self.posts.append(message)


def test_a_non_slack_exception_while_posting_marks_the_claim_failed():
    """post_on_demand: the claim is marked failed, so the repeat within the lease posts."""
    ledger, poster = InMemoryLedger(), BrokenPoster()
    now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    period = report_period(PeriodKind.WEEKLY, now.date())

    def once(at: datetime) -> Any:
        return post_on_demand(
            ledger,
            poster,
            "message",
            period=period,
            events=None,
            idempotency_key=None,
            repost_seconds=300,
            now=at,
        )

    with pytest.raises(ValueError, match="not a Slack error"):
        once(now)
    assert [r.status for r in ledger.history()] == [DeliveryStatus.FAILED]
    poster.fail = False
    assert once(now + timedelta(seconds=5)).posted
    assert poster.posts == ["message"]
