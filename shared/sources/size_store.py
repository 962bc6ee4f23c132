"""Export lines a day per project, learned from each export and shared by every instance.

Knowing a project's size lets a report start its export beside the /events totals instead of
after them (or after a probe of one day): one round trip less. In this process's memory the size
lasts while the instance is warm; in Table storage every fresh instance finds it too, so only
the very first run of a project pays for sizing. Storage is a help, never a need: a failure is
logged, and the report sizes its export as it would without it.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from shared.sources.state_table import StateTable, StateUnavailable, project_partition

if TYPE_CHECKING:
    from azure.data.tables import TableClient

log = logging.getLogger("analytics_reporter")
Project = tuple[str, str]  # (query API base, project id): MixpanelClient.project_key
SIZE_ROW = "export-size"
# A stored size this close to the new one is not written again (one write saved per report).
UNCHANGED_RATIO = 0.05


class ExportSizes(Protocol):
    """Where a project's export lines a day are remembered."""

    def per_day(self, key: Project) -> float | None:
        """Lines a day in the project's last export, if known."""
        ...

    def put(self, key: Project, per_day: float) -> None:
        """Remember the project's lines a day."""
        ...


class MemorySizes:
    """Sizes in this process: lost when the instance stops."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._per_day: dict[Project, float] = {}

    def per_day(self, key: Project) -> float | None:
        """Lines a day in the project's last export, if one was read in this process."""
        with self._lock:
            return self._per_day.get(key)

    def put(self, key: Project, per_day: float) -> None:
        """Remember the project's lines a day."""
        with self._lock:
            self._per_day[key] = per_day

    def clear(self) -> None:
        """Forget everything (tests start each stand-in project afresh)."""
        with self._lock:
            self._per_day.clear()


PROCESS_EXPORT_SIZES = MemorySizes()


class TableSizes:
    """Sizes in the shared state table (one row per project); raises StateUnavailable."""

    def __init__(self, table: StateTable) -> None:
        self._table = table
        self.reads = self.writes = 0  # storage round trips, for tests and the bench

    def per_day(self, key: Project) -> float | None:
        """The stored lines a day, or None when no instance has learned it yet."""
        from azure.core.exceptions import ResourceNotFoundError

        def read(client: TableClient) -> Any:
            try:
                return client.get_entity(project_partition(key), SIZE_ROW)
            except ResourceNotFoundError:
                return None

        self.reads += 1
        row = self._table.call("read export size", read)
        if row is None:
            return None
        value = row.get("per_day")
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise StateUnavailable("the stored export size is not a count of lines a day")
        return float(value)

    def put(self, key: Project, per_day: float) -> None:
        """Store the lines a day (last writer wins: every writer read a whole export)."""
        from azure.data.tables import UpdateMode

        entity = {
            "PartitionKey": project_partition(key),
            "RowKey": SIZE_ROW,
            "per_day": float(per_day),
            "updated_at": datetime.now(UTC),
        }
        self.writes += 1
        self._table.call(
            "write export size", lambda client: client.upsert_entity(entity, mode=UpdateMode.MERGE)
        )


class CachedSizes:
    """The shared store behind this process's memory; storage failures fall back to memory."""

    def __init__(self, shared: ExportSizes, cache: MemorySizes = PROCESS_EXPORT_SIZES) -> None:
        self._shared = shared
        self._cache = cache

    def per_day(self, key: Project) -> float | None:
        """From memory, else from storage (then kept in memory); None if neither knows."""
        known = self._cache.per_day(key)
        if known is not None:
            return known
        try:
            stored = self._shared.per_day(key)
        except StateUnavailable as exc:
            log.warning("%s: sizing the export without it", exc)
            return None
        if stored is not None:
            self._cache.put(key, stored)
        return stored

    def put(self, key: Project, per_day: float) -> None:
        """Remember in memory and, when it changed, in storage (a failure is only logged)."""
        before = self._cache.per_day(key)
        self._cache.put(key, per_day)
        if before is not None and abs(per_day - before) <= UNCHANGED_RATIO * max(before, 1.0):
            return
        try:
            self._shared.put(key, per_day)
        except StateUnavailable as exc:
            log.warning("%s: the size stays in this instance's memory", exc)
