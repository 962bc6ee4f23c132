"""Worker processes for the multi-process budget tests (spawned: each its own interpreter)."""

from __future__ import annotations

import time
from typing import Any

import requests

PROJECT_ID = "515151"
USERNAME = "svc.budget"
SECRET = "MPSECRET-budget-5e1f"


class TimedSession(requests.Session):
    """A session that records when each request was in flight (epoch seconds, this machine)."""

    def __init__(self) -> None:
        super().__init__()
        self.spans: list[tuple[float, float]] = []

    def get(self, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        started = time.time()
        try:
            return super().get(*args, **kwargs)
        finally:
            self.spans.append((started, time.time()))


class NoFallback:
    """Storage must answer in these tests: a silent per-process fallback would hide a bug."""

    def update(self, project: Any, api: Any, change: Any) -> Any:
        raise RuntimeError("the state table failed during a multi-process budget test")


def ask_names(
    origin: str,
    connection: str,
    table: str,
    calls: int,
    per_hour: int,
    concurrent: int,
    barrier: Any,
    results: Any,
) -> None:
    """Ask /events/names `calls` times through a budgeted client; report what happened."""
    from shared.errors import MixpanelBudgetSpent
    from shared.sources.budget import (
        MIXPANEL_LIMITS,
        Api,
        ApiLimits,
        BudgetRules,
        CallBudget,
        TableBudgetStore,
    )
    from shared.sources.state_table import StateTable
    from tests.standin_client import standin_client

    limits = {Api.QUERY: ApiLimits(per_hour, concurrent), Api.EXPORT: MIXPANEL_LIMITS[Api.EXPORT]}
    budget = CallBudget(
        # Generous: a slow, shared machine may lose many races and wait long for a slot; the
        # test is about how many calls get through, never how fast.
        TableBudgetStore(StateTable(connection, table_name=table), attempts=1000),
        BudgetRules(limits=limits),
        fallback=NoFallback(),  # type: ignore[arg-type]
        max_wait_seconds=600,
    )
    session = TimedSession()
    client = standin_client(
        origin,
        username=USERNAME,
        secret=SECRET,
        project_id=PROJECT_ID,
        session=session,
        call_budget=budget,
    )
    granted, refused = 0, []
    barrier.wait()
    for _ in range(calls):
        try:
            client.event_names()
            granted += 1
        except MixpanelBudgetSpent as exc:
            refused.append((exc.retry_after, exc.reason))
    results.put({"granted": granted, "refused": refused, "spans": session.spans})


def custom_report(
    environ: dict[str, str], table: str, per_hour: int, barrier: Any, results: Any
) -> None:
    """One CustomReport through the real handler, with the Query API limit lowered in code."""
    from shared.jobs.custom_report import handle_custom_report
    from shared.sources import budget, state_table

    state_table.MIXPANEL_TABLE = table

    query = budget.ApiLimits(per_hour=per_hour, concurrent=5)
    budget.MIXPANEL_LIMITS = {**budget.MIXPANEL_LIMITS, budget.Api.QUERY: query}
    barrier.wait()
    answer = handle_custom_report(
        "GET", {"period": "weekly", "send_slack": "false"}, b"", environ=environ
    )
    results.put({"status": answer.status, "headers": answer.headers, "body": answer.json()})
