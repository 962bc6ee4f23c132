"""Spec of choosing the data source: plans without the Query API, wrong credentials, day ranges."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta

import pytest
import requests

from devtools.mixpanel_standin import MixpanelStandIn
from shared.errors import MixpanelAuthError
from shared.pipeline import ReportContext, produce_report
from shared.schedule.periods import Window
from shared.sources.gathering import PROCESS_QUERY_API_MEMORY, SourceMode, SourcePolicy
from shared.sources.mixpanel_client import MixpanelClient
from shared.sources.server_side import aligned_unit
from tests.sources.small_project import CONFIG, LONDON, NOW, WEEKLY, small_standin
from tests.standin_client import standin_client

USERNAME, SECRET, PROJECT_ID = "svc.sources", "MPSECRET-sources-77aa", "4242"
NAMES, EVENTS, EXPORT = "/api/query/events/names", "/api/query/events", "/api/2.0/export"


@contextmanager
def project(
    *,
    query_api_status: int | None = None,
    secret: str = SECRET,
    project_id: str = PROJECT_ID,
    latency: float = 0.0,
) -> Iterator[tuple[MixpanelStandIn, MixpanelClient]]:
    stand = small_standin(
        username=USERNAME,
        secret=SECRET,
        project_id=PROJECT_ID,
        query_api_status=query_api_status,
        latency=latency,
    )
    origin = stand.start()
    try:
        with requests.Session() as http:
            yield (
                stand,
                standin_client(
                    origin,
                    username=USERNAME,
                    secret=secret,
                    project_id=project_id,
                    session=http,
                    sleep=lambda _seconds: None,
                ),
            )
    finally:
        stand.stop()


def ctx(mode: SourceMode = SourceMode.AUTO, **policy: int) -> ReportContext:
    return ReportContext(
        CONFIG,
        "Acme",
        LONDON,
        "https://mixpanel.com/project/4242",
        sources=SourcePolicy(mode=mode, **policy),
    )


def paths(stand: MixpanelStandIn) -> Counter[str]:
    return Counter(r.path for r in stand.requests)


def figures(client: MixpanelClient, context: ReportContext) -> list[tuple[int | None, ...]]:
    report = produce_report(WEEKLY, context, mixpanel=client, now=NOW)
    return [(m.value, *(c.baseline for c in m.changes)) for m in report.metrics]


@pytest.mark.parametrize("status", [402, 403])
def test_auto_finds_a_plan_without_the_query_api_and_stops_knocking(status: int) -> None:
    """After one refusal (402, or 403 while the export works) this process reads the export."""
    with project(query_api_status=status) as (stand, client):
        first = figures(client, ctx())
        asked = paths(stand)
        second = figures(client, ctx())
    assert first == second == [(10, 10), (7, 7)]
    assert asked[NAMES] == 1  # asked once, refused, never again
    assert paths(stand)[NAMES] == 1
    assert EVENTS not in paths(stand)
    assert PROCESS_QUERY_API_MEMORY.lacks(client.project_key)


@pytest.mark.parametrize(
    ("secret", "project_id", "status"),
    [(SECRET + "x", PROJECT_ID, 401), (SECRET, "9999", 403)],
    ids=["wrong-secret", "no-access-to-the-project"],
)
def test_wrong_credentials_still_read_as_wrong_credentials(
    secret: str, project_id: str, status: int
) -> None:
    """When the export refuses the same credentials, it is not the plan: the error is raised."""
    with (
        project(secret=secret, project_id=project_id) as (stand, client),
        pytest.raises(MixpanelAuthError) as caught,
    ):
        produce_report(WEEKLY, ctx(), mixpanel=client, now=NOW)
    assert caught.value.status == status
    assert "check MIXPANEL_USERNAME, MIXPANEL_SECRET" in str(caught.value)
    assert not PROCESS_QUERY_API_MEMORY.lacks(client.project_key)
    assert paths(stand)[EXPORT] <= 1  # at most the one-line credentials check


def test_forced_query_mode_on_a_free_plan_says_why_totals_are_unavailable() -> None:
    """MIXPANEL_SOURCE=query does not switch: totals are unavailable and the reason says how."""
    with project(query_api_status=402) as (_, client):
        report = produce_report(WEEKLY, ctx(SourceMode.QUERY), mixpanel=client, now=NOW)
    active, signups = report.metrics
    assert (active.value, active.changes[0].baseline) == (10, 10)
    assert signups.value is None
    assert signups.unavailable is not None
    assert "HTTP 402" in signups.unavailable
    assert "MIXPANEL_SOURCE=auto or export" in signups.unavailable
    assert not PROCESS_QUERY_API_MEMORY.lacks(client.project_key)


def test_export_mode_fetches_contiguous_day_ranges_at_once_and_gets_the_same_figures() -> None:
    """The first report probes its last day; the next knows the size: ranges only, same numbers."""
    with project() as (stand, client):
        whole = figures(client, ctx(SourceMode.EXPORT))
        before = len(stand.requests)
        split = figures(
            client, ctx(SourceMode.EXPORT, export_parallel=2, export_max_ranges=3, range_events=2)
        )
        exports = [r for r in stand.requests[before:] if r.path == EXPORT]
    assert split == whole == [(10, 10), (7, 7)]
    assert before == 2  # the probe (the report's last day and the UTC day after), the rest
    assert len(exports) == 3  # three ranges, no probe: the previous export told the size
    ranges = sorted(
        (date.fromisoformat(r.query["from_date"]), date.fromisoformat(r.query["to_date"]))
        for r in exports
    )
    assert ranges[0][0] == WEEKLY.span.start - timedelta(days=1)
    assert ranges[-1][1] == WEEKLY.span.end + timedelta(days=1)
    for (_, end), (start, _) in itertools.pairwise(ranges):
        assert start == end + timedelta(days=1)


def test_a_warm_instance_that_knows_the_exports_size_exports_while_the_totals_come() -> None:
    """Cold: names, totals (they size the export), export. Warm: the export runs beside them."""
    with project(latency=0.2) as (stand, client):
        first = figures(client, ctx(SourceMode.QUERY))
        cold = stand.max_in_flight
        second = figures(client, ctx(SourceMode.QUERY))
    assert first == second == [(10, 10), (7, 7)]
    assert paths(stand) == {NAMES: 2, EVENTS: 2, EXPORT: 2}
    assert (cold, stand.max_in_flight) == (1, 2)


@pytest.mark.parametrize(
    ("window", "week_start", "unit"),
    [
        (Window(date(2026, 11, 16), date(2026, 11, 16)), 0, "day"),
        (Window(date(2026, 11, 16), date(2026, 11, 22)), 0, "week"),
        (Window(date(2026, 11, 15), date(2026, 11, 21)), 6, "week"),
        (Window(date(2026, 11, 16), date(2026, 11, 22)), 6, None),
        (Window(date(2026, 2, 1), date(2026, 2, 28)), 0, "month"),
        (Window(date(2026, 2, 2), date(2026, 3, 1)), 0, None),
        (Window(date(2026, 11, 9), date(2026, 11, 22)), 0, None),
    ],
    ids=[
        "a-day",
        "a-monday-week",
        "a-sunday-week-in-a-sunday-project",
        "a-monday-week-in-a-sunday-project",
        "a-calendar-month",
        "28-days-not-a-month",
        "two-weeks",
    ],
)
def test_only_windows_that_are_one_mixpanel_bucket_are_aligned(
    window: Window, week_start: int, unit: str | None
) -> None:
    """A day, a week from the project's first weekday, or a calendar month."""
    assert aligned_unit(window, week_start) == unit
