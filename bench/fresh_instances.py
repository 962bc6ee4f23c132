"""Bench case: a fresh instance with no stored export size (cold) vs one that finds it (warm).

Every Flex Consumption instance starts with empty memory. Without a stored size it asks for the
/events totals to size the export before streaming it (names, totals, export: 3 round trips);
with the size in the shared state table it streams beside the totals (2). Storage is a real
Azurite when `make setup` installed it, else an in-memory stand-in for the table (said so).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from devtools.mixpanel_standin import MixpanelStandIn
from devtools.sample_data import SAMPLE_TIMEZONE, sample_project
from shared.pipeline import ReportContext, produce_report
from shared.report.metrics import load_metrics
from shared.schedule.periods import PeriodKind, report_period
from shared.settings import DEFAULT_METRICS_FILE
from shared.sources.gathering import SourcePolicy
from shared.sources.size_store import CachedSizes, ExportSizes, MemorySizes, TableSizes
from tests.standin_client import standin_client

USER, SECRET, PROJECT = "bench", "bench-secret", "1"


@contextmanager
def shared_sizes() -> Iterator[tuple[str, Callable[[], ExportSizes]]]:
    """(what the storage is, a factory of the shared layer as a fresh instance opens it)."""
    try:
        from shared.sources.state_table import StateTable
        from tests.azurite import AzuriteError, start_azurite_table

        server = start_azurite_table()
    except (ImportError, AzuriteError) as exc:
        table = MemorySizes()
        yield f"an in-memory table (Azurite unavailable: {str(exc)[:80]})", lambda: table
        return
    name = f"benchsizes{uuid.uuid4().hex[:12]}"
    try:
        yield (
            "Azurite",
            lambda: TableSizes(StateTable(server.connection_string, table_name=name)),
        )
    finally:
        server.stop()


def fresh_instance(
    origin: str, shared: ExportSizes, ctx: ReportContext, today: Any
) -> tuple[float, int]:
    """(wall seconds, requests) of one weekly report with empty memory and its own client."""
    sizes = CachedSizes(shared, cache=MemorySizes())
    context = ReportContext(
        ctx.config, ctx.company, ctx.timezone, ctx.project_url, sources=SourcePolicy(sizes=sizes)
    )
    with requests.Session() as http:
        client = standin_client(
            origin, username=USER, secret=SECRET, project_id=PROJECT, session=http
        )
        started = time.perf_counter()
        produce_report(
            report_period(PeriodKind.WEEKLY, today), context, mixpanel=client, now=datetime.now(UTC)
        )
        return time.perf_counter() - started, client.requests_made


def bench_fresh_instances(latency: float) -> None:
    """Cold (no stored size) and warm (size in storage) fresh instances, side by side."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(SAMPLE_TIMEZONE)
    today = datetime.now(UTC).astimezone(zone).date()
    events = sample_project(end=today - timedelta(days=1), days=35, users=300)
    ctx = ReportContext(load_metrics(DEFAULT_METRICS_FILE), "Bench", zone, "https://x")
    with (
        shared_sizes() as (storage, open_shared),
        MixpanelStandIn(
            events, username=USER, secret=SECRET, project_id=PROJECT, latency=latency
        ) as standin,
    ):
        cold_store, warm_store = open_shared(), open_shared()
        cold_s, cold_n = fresh_instance(standin.origin, cold_store, ctx, today)
        warm_s, warm_n = fresh_instance(standin.origin, warm_store, ctx, today)
    print(f"\n## Fresh instances, weekly report ({latency * 1000:.0f} ms per request, {storage})")
    print(
        f"cold (no stored size): {cold_n} requests, {cold_s:.2f} s ({cold_s / latency:.1f} RT); "
        f"warm (size in storage): {warm_n} requests, {warm_s:.2f} s ({warm_s / latency:.1f} RT); "
        f"ratio x{warm_s / cold_s:.2f}"
    )
    if isinstance(cold_store, TableSizes) and isinstance(warm_store, TableSizes):
        print(
            f"storage round trips: cold {cold_store.reads} read + {cold_store.writes} write, "
            f"warm {warm_store.reads} read + {warm_store.writes} write (plus one create-table "
            "per instance); each costs milliseconds beside a Mixpanel round trip"
        )
