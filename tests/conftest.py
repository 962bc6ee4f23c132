"""Shared pytest fixtures."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest

from shared import root
from shared.delivery.ledger import InMemoryLedger
from shared.sources.budget import MIXPANEL_LIMITS
from tests.azurite import (
    AzuriteError,
    AzuriteTable,
    start_azurite_queue,
    start_azurite_table,
)

# Loopback Mixpanel and Slack stand-ins for end-to-end tests (fixtures `stack`, `sample_events`)
# and the email fixtures (`smtp`, `tls`).
pytest_plugins = ("tests.e2e", "tests.email_fixtures")


@pytest.fixture(scope="session")
def azurite_connection_string() -> Iterator[str]:
    """A real Azurite table service for the whole session; fails (never skips) if missing."""
    yield from _azurite_session(start_azurite_table)


@pytest.fixture(scope="session")
def azurite_queue_connection_string() -> Iterator[str]:
    """A real Azurite queue service for the whole session; fails (never skips) if missing."""
    yield from _azurite_session(start_azurite_queue)


def _azurite_session(start: Callable[[], AzuriteTable]) -> Iterator[str]:
    """The connection string of the Azurite service `start` brings up, stopped at the end."""
    server: AzuriteTable | None = None
    problem = ""
    try:
        server = start()
    except AzuriteError as exc:
        problem = str(exc)
    if server is None:
        # Outside the except block, so the report shows the reason once, without a traceback.
        pytest.fail(problem, pytrace=False)
    try:
        yield server.connection_string
    finally:
        server.stop()


@pytest.fixture
def ledger_table_name() -> str:
    """A fresh table name per test, so tests sharing one Azurite never see each other's rows."""
    return f"ledger{uuid.uuid4().hex[:20]}"


@pytest.fixture
def azurite_ledger(
    azurite_connection_string: str, ledger_table_name: str, monkeypatch: pytest.MonkeyPatch
) -> str:
    """The functions' delivery ledger on Azurite (a fresh table); returns its table name."""
    monkeypatch.setenv("AzureWebJobsStorage", azurite_connection_string)
    monkeypatch.setenv("DELIVERY_TABLE", ledger_table_name)
    return ledger_table_name


@pytest.fixture(autouse=True)
def fresh_local_ledger(monkeypatch: pytest.MonkeyPatch) -> None:
    """CustomReport's in-process ledger (no AzureWebJobsStorage) starts empty in every test.

    A new Slack stand-in may reuse an old one's port, and so its destination fingerprint: an
    identical report posted by an earlier test must not fold into this test's post.
    """
    monkeypatch.setattr(root, "LOCAL_LEDGER", InMemoryLedger())


@pytest.fixture(autouse=True)
def _fresh_query_api_memory() -> Iterator[None]:
    """Each test starts believing every project has the Query API (stand-in ports get reused)."""
    from shared.sources.gathering import PROCESS_QUERY_API_MEMORY

    PROCESS_QUERY_API_MEMORY.clear()
    yield
    PROCESS_QUERY_API_MEMORY.clear()


@pytest.fixture(autouse=True)
def _fresh_export_sizes() -> Iterator[None]:
    """Each test sizes its stand-in's export afresh (no size remembered from another test)."""
    from shared.sources.gathering import PROCESS_EXPORT_SIZES

    PROCESS_EXPORT_SIZES.clear()
    yield
    PROCESS_EXPORT_SIZES.clear()


@pytest.fixture(autouse=True)
def _fresh_call_budget(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts with no Mixpanel calls counted: in this process, and in storage (a
    fresh state table name, as stand-in ports, and so project keys, get reused)."""
    from shared.sources import state_table
    from shared.sources.budget import PROCESS_BUDGET_STORE

    monkeypatch.setattr(state_table, "MIXPANEL_TABLE", f"mixpanel{uuid.uuid4().hex[:20]}")
    PROCESS_BUDGET_STORE.clear()
    yield
    PROCESS_BUDGET_STORE.clear()


REAL_MIXPANEL_LIMITS = dict(MIXPANEL_LIMITS)


@pytest.fixture(autouse=True)
def _unmetered_call_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests about other things run many reports against one stand-in in one process, far past
    an hour of Mixpanel's limits (the fuzz test sends a thousand): for them the budget counts
    but never runs out (no hourly or per-second limit; Mixpanel's concurrency). The budget's
    own tests ask for `mixpanel_limits`, or build their rules with explicit limits."""
    from dataclasses import replace

    from shared.sources import budget

    lifted = {
        api: replace(limits, per_hour=1_000_000, per_second=None)
        for api, limits in REAL_MIXPANEL_LIMITS.items()
    }
    monkeypatch.setattr(budget, "MIXPANEL_LIMITS", lifted)


@pytest.fixture
def mixpanel_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Mixpanel's real limits for the call budget (60 an hour, 5 at once; export 3 a second)."""
    from shared.sources import budget

    monkeypatch.setattr(budget, "MIXPANEL_LIMITS", dict(REAL_MIXPANEL_LIMITS))
