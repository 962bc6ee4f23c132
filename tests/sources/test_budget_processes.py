"""Several processes, one Mixpanel budget: Azurite holds it, the stand-in counts what arrived."""

from __future__ import annotations

import multiprocessing
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from devtools.mixpanel_standin import MixpanelStandIn
from devtools.sample_data import SAMPLE_TIMEZONE
from tests.sources.budget_workers import PROJECT_ID, SECRET, USERNAME, ask_names, custom_report

# Spawned, not forked: each worker is a fresh interpreter, as each Functions instance is.
SPAWN = multiprocessing.get_context("spawn")
HANG_GUARD_SECONDS = 600  # a guard against a hung worker, never a speed limit


def run_workers(target: Any, args: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Start one process per args tuple (all released at once); their results in any order."""
    barrier = SPAWN.Barrier(len(args))
    results = SPAWN.Queue()
    workers = [SPAWN.Process(target=target, args=(*a, barrier, results)) for a in args]
    for worker in workers:
        worker.start()
    try:
        found = [results.get(timeout=HANG_GUARD_SECONDS) for _ in workers]
    finally:
        for worker in workers:
            worker.join(timeout=HANG_GUARD_SECONDS)
    assert all(w.exitcode == 0 for w in workers), [w.exitcode for w in workers]
    return found


def most_at_once(spans: list[tuple[float, float]]) -> int:
    """The largest number of spans open at the same instant."""
    edges = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    open_now = peak = 0
    for _, step in edges:  # an end sorts before a start at the same instant
        open_now += step
        peak = max(peak, open_now)
    return peak


@pytest.mark.azurite
def test_four_processes_never_send_more_than_the_shared_hour_or_run_more_at_once(
    azurite_connection_string: str,
):
    """4 processes x 6 calls against a budget of 10 an hour, 2 at once: the stand-in sees
    exactly 10, never more than 2 in flight; the other 14 were refused with Retry-After."""
    table = f"procs{uuid.uuid4().hex[:20]}"
    with MixpanelStandIn(
        [], username=USERNAME, secret=SECRET, project_id=PROJECT_ID, latency=0.05
    ) as standin:
        args = [(standin.origin, azurite_connection_string, table, 6, 10, 2) for _ in range(4)]
        results = run_workers(ask_names, args)
        arrived = [r for r in standin.requests if r.path.endswith("/events/names")]
    assert len(arrived) == 10
    assert sum(r["granted"] for r in results) == 10
    refused = [x for r in results for x in r["refused"]]
    assert len(refused) == 14
    assert all(0 < retry_after <= 3720 for retry_after, _ in refused)
    assert all("not sent to Mixpanel" in reason for _, reason in refused)
    assert most_at_once([tuple(s) for r in results for s in r["spans"]]) <= 2


def far_from_now_hour() -> str:
    """A REPORT_HOUR 12 hours away, so the on-demand reserve is not in force during the test."""
    return str((datetime.now(UTC).astimezone().astimezone(_zone()).hour + 12) % 24)


def _zone() -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(SAMPLE_TIMEZONE)


@pytest.mark.azurite
def test_custom_reports_in_several_processes_answer_429_once_the_shared_hour_is_spent(
    azurite_connection_string: str, sample_events: Any
):
    """5 CustomReport processes, a Query API hour of 5 calls (a weekly report takes 2): the
    stand-in receives 5 at most; the refused ones answer 429 with Retry-After and our reason,
    and a report that lost a call to the budget is a 429 too, never a 200 with gaps."""
    table = f"procs{uuid.uuid4().hex[:20]}"
    with MixpanelStandIn(
        sample_events, username=USERNAME, secret=SECRET, project_id=PROJECT_ID
    ) as standin:
        environ = {
            "MIXPANEL_USERNAME": USERNAME,
            "MIXPANEL_SECRET": SECRET,
            "MIXPANEL_PROJECT_ID": PROJECT_ID,
            "MIXPANEL_API_URL": standin.origin,
            "SLACK_WEBHOOK_URL": "http://127.0.0.1:9/services/T0/B0/unused",
            "TIMEZONE": SAMPLE_TIMEZONE,
            "REPORT_HOUR": far_from_now_hour(),
            "AzureWebJobsStorage": azurite_connection_string,
        }
        results = run_workers(custom_report, [(environ, table, 5) for _ in range(5)])
        query_calls = [r for r in standin.requests if r.path.startswith("/api/query")]
    assert len(query_calls) <= 5
    statuses = sorted(r["status"] for r in results)
    assert set(statuses) <= {200, 429}
    refused = [r for r in results if r["status"] == 429]
    assert refused, "5 reports cannot fit in 5 Query API calls"
    for answer in refused:
        assert int(answer["headers"]["Retry-After"]) >= 1
        assert answer["body"]["error"]["code"] == "mixpanel_rate_limited"
        assert "shared budget" in answer["body"]["error"]["message"]
        assert "not sent to Mixpanel" in answer["body"]["error"]["message"]
    for answer in results:  # a report that came out is whole: never figures lost to the budget
        if answer["status"] == 200:
            assert all(m["available"] for m in answer["body"]["report"]["metrics"])
