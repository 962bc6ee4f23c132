"""Export sizes shared through storage: a fresh instance skips the sizing round trip."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from devtools.mixpanel_standin import MixpanelStandIn
from shared.pipeline import ReportContext, produce_report
from shared.sources.gathering import SourceMode, SourcePolicy
from shared.sources.size_store import CachedSizes, MemorySizes, TableSizes
from shared.sources.state_table import StateTable, StateUnavailable
from tests.sources.small_project import CONFIG, LONDON, NOW, WEEKLY, small_standin
from tests.standin_client import standin_client

USERNAME, SECRET, PROJECT_ID = "svc.sizes", "MPSECRET-sizes-91c2", "4343"
KEY = ("https://mixpanel.com/api/query", PROJECT_ID)


class RecordingSizes:
    """A shared store in memory that records each read and write."""

    def __init__(self, stored: dict[Any, float] | None = None) -> None:
        self.stored = dict(stored or {})
        self.reads: list[Any] = []
        self.writes: list[tuple[Any, float]] = []

    def per_day(self, key: Any) -> float | None:
        self.reads.append(key)
        return self.stored.get(key)

    def put(self, key: Any, per_day: float) -> None:
        self.writes.append((key, per_day))
        self.stored[key] = per_day


class BrokenSizes:
    """Storage that is down."""

    def per_day(self, key: Any) -> float | None:
        raise StateUnavailable("Mixpanel state table read export size failed (ServiceRequestError)")

    def put(self, key: Any, per_day: float) -> None:
        raise StateUnavailable("Mixpanel state table write export size failed (HTTP 503)")


def test_a_size_in_memory_is_used_without_asking_storage():
    """Warm instance: memory answers; storage is not read."""
    shared, cache = RecordingSizes({KEY: 5.0}), MemorySizes()
    cache.put(KEY, 7.0)
    assert CachedSizes(shared, cache).per_day(KEY) == 7.0
    assert shared.reads == []


def test_a_fresh_instance_reads_the_size_from_storage_once_then_from_memory():
    """Cold memory: one storage read, then the size is in memory."""
    shared, cache = RecordingSizes({KEY: 5.0}), MemorySizes()
    sizes = CachedSizes(shared, cache)
    assert sizes.per_day(KEY) == 5.0
    assert sizes.per_day(KEY) == 5.0
    assert shared.reads == [KEY]
    assert cache.per_day(KEY) == 5.0


@pytest.mark.parametrize(
    ("before", "learned", "written"),
    [(None, 100.0, True), (100.0, 104.0, False), (100.0, 120.0, True), (100.0, 50.0, True)],
    ids=["first-size", "within-5-percent", "grew", "shrank"],
)
def test_a_learned_size_is_written_to_storage_when_it_is_new_or_changed(
    before: float | None, learned: float, written: bool
):
    """Within 5% of what this instance knew, no write; memory always takes the new size."""
    shared, cache = RecordingSizes(), MemorySizes()
    if before is not None:
        cache.put(KEY, before)
    CachedSizes(shared, cache).put(KEY, learned)
    assert shared.writes == ([(KEY, learned)] if written else [])
    assert cache.per_day(KEY) == learned


def test_storage_down_never_fails_a_report_it_only_logs(caplog: pytest.LogCaptureFixture):
    """A failed read is 'unknown' (the export is sized as without storage); a failed write
    leaves the size in memory."""
    cache = MemorySizes()
    sizes = CachedSizes(BrokenSizes(), cache)
    with caplog.at_level(logging.WARNING, logger="analytics_reporter"):
        assert sizes.per_day(KEY) is None
        sizes.put(KEY, 9.0)
    assert cache.per_day(KEY) == 9.0
    assert "sizing the export without it" in caplog.text
    assert "the size stays in this instance's memory" in caplog.text


@pytest.fixture
def table_name() -> str:
    return f"sizes{uuid.uuid4().hex[:20]}"


@pytest.mark.azurite
def test_a_size_written_by_one_instance_is_read_by_another(
    azurite_connection_string: str, table_name: str
):
    """Two TableSizes on separate clients: absent, then what the other one stored."""
    one = TableSizes(StateTable(azurite_connection_string, table_name=table_name))
    other = TableSizes(StateTable(azurite_connection_string, table_name=table_name))
    assert other.per_day(KEY) is None
    one.put(KEY, 12345.5)
    assert other.per_day(KEY) == 12345.5


def test_an_unreachable_table_is_state_unavailable_without_the_key():
    """A closed port: StateUnavailable naming the operation, never the connection string."""
    from tests.azurite import ACCOUNT_KEY, free_port, table_connection_string

    sizes = TableSizes(StateTable(table_connection_string(free_port()), table_name="sizesdown"))
    with pytest.raises(StateUnavailable) as failed:
        sizes.per_day(KEY)
    assert "Mixpanel state table" in str(failed.value)
    assert ACCOUNT_KEY not in str(failed.value)


# -- a fresh instance, end to end -----------------------------------------------------------------


@pytest.fixture
def standin() -> Iterator[MixpanelStandIn]:
    stand = small_standin(
        username=USERNAME,
        secret=SECRET,
        project_id=PROJECT_ID,
        latency=0.2,  # so a request sent beside another overlaps it at the stand-in
    )
    stand.start()
    try:
        yield stand
    finally:
        stand.stop()


def fresh_instance_report(
    stand: MixpanelStandIn, connection: str, table_name: str
) -> list[tuple[int | None, ...]]:
    """A report as a fresh instance runs it: empty memory, its own table client and session."""
    sizes = CachedSizes(
        TableSizes(StateTable(connection, table_name=table_name)), cache=MemorySizes()
    )
    ctx = ReportContext(
        CONFIG,
        "Acme",
        LONDON,
        "https://mixpanel.com/project/4343",
        sources=SourcePolicy(mode=SourceMode.QUERY, sizes=sizes),
    )
    with requests.Session() as http:
        client = standin_client(
            stand.origin, username=USERNAME, secret=SECRET, project_id=PROJECT_ID, session=http
        )
        report = produce_report(WEEKLY, ctx, mixpanel=client, now=NOW)
    return [(m.value, *(c.baseline for c in m.changes)) for m in report.metrics]


@pytest.mark.azurite
def test_only_the_first_fresh_instance_waits_for_the_totals_to_size_its_export(
    standin: MixpanelStandIn, azurite_connection_string: str, table_name: str
):
    """First instance: names, totals, then the export (one at a time). A second fresh
    instance finds the size in storage and exports beside the totals: same figures."""
    first = fresh_instance_report(standin, azurite_connection_string, table_name)
    cold_peak, cold_requests = standin.max_in_flight, len(standin.requests)
    second = fresh_instance_report(standin, azurite_connection_string, table_name)
    assert first == second == [(10, 10), (7, 7)]
    assert (cold_peak, standin.max_in_flight) == (1, 2)
    assert len(standin.requests) == 2 * cold_requests == 6  # no probe request either way


def test_after_a_failure_the_table_rests_so_no_call_waits_on_it_again():
    """Within 30 s of a failure the table is not asked: StateUnavailable at once."""
    from tests.azurite import free_port, table_connection_string

    now = [100.0]
    table = StateTable(
        table_connection_string(free_port()), table_name="sizesrest", clock=lambda: now[0]
    )
    sizes = TableSizes(table)
    with pytest.raises(StateUnavailable):
        sizes.per_day(KEY)
    with pytest.raises(StateUnavailable, match="skipped"):
        sizes.per_day(KEY)
    now[0] += 31
    with pytest.raises(StateUnavailable) as again:
        sizes.per_day(KEY)
    assert "skipped" not in str(again.value)
