"""Bench case: what the shared call budget adds to each Mixpanel call (Azurite vs in-process)."""

from __future__ import annotations

import time
import uuid

from shared.sources.budget import (
    Api,
    BudgetRules,
    BudgetStore,
    CallBudget,
    MemoryBudgetStore,
    Priority,
    TableBudgetStore,
)

PROJECT = ("http://127.0.0.1/api/query", "1")
CALLS = 50


def per_call_ms(store: BudgetStore) -> float:
    """Mean milliseconds of one admitted call's bookkeeping (admit, then release)."""
    budget = CallBudget(store, BudgetRules(), fallback=MemoryBudgetStore())
    started = time.perf_counter()
    for _ in range(CALLS):
        with budget.call(PROJECT, Api.QUERY, Priority.SCHEDULED, endpoint="/events"):
            pass
    return (time.perf_counter() - started) / CALLS * 1000


def bench_budget_overhead() -> None:
    """Print the per-call cost of the budget in this process and in Azurite table storage."""
    memory = per_call_ms(MemoryBudgetStore())
    line = f"in-process {memory:.2f} ms"
    try:
        from shared.sources.state_table import StateTable
        from tests.azurite import AzuriteError, start_azurite_table

        server = start_azurite_table()
    except (ImportError, AzuriteError) as exc:
        line += f"; Azurite unavailable ({str(exc)[:80]})"
    else:
        try:
            table = StateTable(server.connection_string, table_name=f"bench{uuid.uuid4().hex[:12]}")
            table.client  # noqa: B018 - create the table outside the timing
            stored = per_call_ms(TableBudgetStore(table))
            line += f"; Azurite table {stored:.1f} ms (2 reads + 2 conditional writes a call)"
        finally:
            server.stop()
    print(f"\n## Shared Mixpanel budget: bookkeeping per call ({CALLS} Query API calls)")
    print(line)
