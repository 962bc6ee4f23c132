"""Specs for failure notices: one per failure streak, then one "recovered" line.

The basic streak (one notice, one recovered line) is pinned on both ledgers in test_once.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.delivery.ledger import InMemoryLedger, TableDeliveryLedger
from shared.delivery.streaks import failure_once, recovered
from shared.errors import MixpanelUnavailable
from shared.render.slack import render_failure, render_recovered
from tests.fakes import FakeMixpanel, FakeSlack
from tests.test_pipeline import LONDON, MONDAY_9, project, scheduled

T0 = datetime(2026, 7, 15, 9, tzinfo=UTC)


def notice():
    return render_failure(report="daily", window=None, error="Mixpanel is down", when=T0)


def test_a_new_failure_after_recovery_starts_a_new_streak():
    """fail, recover, fail: two notices and one recovered line."""
    slack, ledger = FakeSlack(), InMemoryLedger()
    failure_once(ledger, slack, report="daily", now=T0, notice=notice)
    recovered(
        ledger,
        slack,
        report="daily",
        now=T0 + timedelta(days=1),
        line=lambda: render_recovered("daily", T0),
    )
    failure_once(ledger, slack, report="daily", now=T0 + timedelta(days=2), notice=notice)
    assert [p["text"][:12] for p in slack.posts] == ["Daily report", ":white_check", "Daily report"]


def test_streaks_are_per_report():
    """A failing weekly report does not swallow the daily report's notice."""
    slack, ledger = FakeSlack(), InMemoryLedger()
    failure_once(ledger, slack, report="daily", now=T0, notice=notice)
    failure_once(ledger, slack, report="weekly", now=T0, notice=notice)
    assert len(slack.posts) == 2


def test_a_success_without_a_streak_posts_nothing():
    """recovered() after a clean history is silent."""
    slack, ledger = FakeSlack(), InMemoryLedger()
    recovered(ledger, slack, report="daily", now=T0, line=lambda: render_recovered("daily", T0))
    assert slack.posts == []


@pytest.mark.azurite
def test_the_streak_lives_in_table_storage_across_instances(
    azurite_connection_string, ledger_table_name
):
    """Each attempt on a fresh ledger client (another host): still one notice."""
    slack = FakeSlack()
    for i in range(3):
        ledger = TableDeliveryLedger(azurite_connection_string, table_name=ledger_table_name)
        failure_once(ledger, slack, report="daily", now=T0 + timedelta(minutes=i), notice=notice)
    ledger = TableDeliveryLedger(azurite_connection_string, table_name=ledger_table_name)
    recovered(
        ledger,
        slack,
        report="daily",
        now=T0 + timedelta(hours=1),
        line=lambda: render_recovered("daily", T0),
    )
    assert len(slack.posts) == 2


def test_a_scheduled_report_failing_every_attempt_posts_one_notice():
    """run_scheduled: three failed attempts of a slot, one notice; the next success recovers."""
    slack, ledger = FakeSlack(), InMemoryLedger()
    down = MixpanelUnavailable("server error", endpoint="/events", status=503)
    broken = FakeMixpanel(project(), LONDON, fail={"unique_users": down, "daily_counts": down})
    for attempt in range(3):
        with pytest.raises(MixpanelUnavailable):
            scheduled(slack, ledger, broken, now=MONDAY_9 + timedelta(minutes=attempt))
    assert len(slack.posts) == 1
    scheduled(slack, ledger, now=MONDAY_9 + timedelta(minutes=10))
    texts = [p["text"] for p in slack.posts]
    assert len(texts) == 3
    assert "recovered" in texts[2]
