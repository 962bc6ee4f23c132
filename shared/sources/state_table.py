"""One Azure Table for Mixpanel state every instance shares: the call budget and export sizes.

It lives in the app's own storage account (AzureWebJobsStorage, as the delivery ledger). Rows:
PartitionKey is the project (host and id, escaped); RowKey `budget-query`, `budget-export` or
`export-size`. Every write is etag-conditional, so instances never overwrite each other.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from shared.delivery.ledger import storage_key
from shared.delivery.tables import IdentityStorage, Storage, resolve_connection_string, table_client

if TYPE_CHECKING:
    from azure.data.tables import TableClient

T = TypeVar("T")
# One table for both kinds of row; tests give each run its own name (it is a constructor arg).
MIXPANEL_TABLE = "mixpanelstate"
# After a failure the table is left alone this long: a Mixpanel call must not wait on a dead
# storage account again and again (the budget and the sizes fall back to this process).
RESTING_SECONDS = 30.0


class StateUnavailable(Exception):
    """The state table failed; the message names the operation and the error type, no secret."""


def project_partition(project: tuple[str, str]) -> str:
    """The PartitionKey of a project: its API host and its id (a project id is per region)."""
    return storage_key(f"{project[0]}|{project[1]}")


class StateTable:
    """A lazily opened TableClient that creates its table once and reports failures safely."""

    def __init__(
        self,
        source: Storage | TableClient,
        *,
        table_name: str = MIXPANEL_TABLE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # `source` is a connection string, the app's identity-based storage, or a ready
        # TableClient; nothing is opened until the first call.
        self._source = source
        self._table_name = table_name
        self._client: TableClient | None = None
        self._lock = threading.Lock()
        self._ready = False
        self._clock = clock
        self._resting_until = 0.0

    @property
    def client(self) -> TableClient:
        """The table, created on first use (another instance may race us: that is fine)."""
        with self._lock:
            if self._client is None:
                self._client = self._open()
            if not self._ready:
                from azure.core.exceptions import ResourceExistsError

                try:
                    self._client.create_table()
                except ResourceExistsError:
                    pass
                except Exception as exc:  # noqa: BLE001 - reported without its message
                    raise StateUnavailable(describe("create table", exc)) from None
                self._ready = True
            return self._client

    def _open(self) -> TableClient:
        from azure.data.tables import TableClient

        if isinstance(self._source, IdentityStorage):
            return table_client(self._source, self._table_name)
        if not isinstance(self._source, str):
            return self._source
        try:
            return TableClient.from_connection_string(
                resolve_connection_string(self._source),
                self._table_name,
                connection_timeout=5,  # a Mixpanel call waits on this: never long
                read_timeout=10,
                retry_total=1,
            )
        except (ValueError, TypeError) as exc:
            raise StateUnavailable(describe("open", exc)) from None

    def call(self, action: str, operation: Callable[[TableClient], T]) -> T:
        """Run one storage operation; any Azure failure becomes StateUnavailable."""
        from azure.core.exceptions import AzureError

        if self._clock() < self._resting_until:
            raise StateUnavailable(f"Mixpanel state table {action} skipped (it failed just now)")
        try:
            client = self.client
            return operation(client)
        except StateUnavailable:
            self._resting_until = self._clock() + RESTING_SECONDS
            raise
        except AzureError as exc:
            self._resting_until = self._clock() + RESTING_SECONDS
            raise StateUnavailable(describe(action, exc)) from None


def describe(action: str, exc: BaseException) -> str:
    """`action` and what failed, by type and HTTP status only: SDK texts may quote the key."""
    parts: list[Any] = [type(exc).__name__]
    status = getattr(exc, "status_code", None)
    if status is not None:
        parts.append(f"HTTP {status}")
    return f"Mixpanel state table {action} failed ({', '.join(str(p) for p in parts)})"


_TABLES: dict[tuple[Storage, str], StateTable] = {}
_TABLES_LOCK = threading.Lock()


def shared_state_table(connection: Storage, table_name: str | None = None) -> StateTable:
    """This process's StateTable for `connection` (so the table is created once per instance)."""
    name = table_name or MIXPANEL_TABLE  # read now: tests give each run its own table
    with _TABLES_LOCK:
        table = _TABLES.get((connection, name))
        if table is None:
            table = _TABLES[(connection, name)] = StateTable(connection, table_name=name)
        return table
