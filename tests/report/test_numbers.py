"""Spec of the promise: every figure a report prints equals a recount of the raw events.

Each case serves hand-placed raw events through the loopback Mixpanel stand-in, reads them with
the real MixpanelClient over HTTP, builds the report with produce_report, and recounts every
figure straight from the events by local calendar day: datetime.fromtimestamp(t, tz).date().

The raw events hold duplicates (same event, distinct_id, time and $insert_id: one event to
Mixpanel) and events without $insert_id (never merged), and every case runs against every data
source: the Query API, the raw export alone, and a Free plan that refuses the Query API (402 or
403) where `auto` must find the export by itself, and for a project created from 2023 (export
in UTC days and epochs) and one created before (MIXPANEL_EXPORT_TIMEZONE=project: export days
and `time` in local wall-clock time). Some events share an $insert_id and a second but not a
millisecond: two events to Mixpanel. Same data, same figures, by construction.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
import requests

from devtools.mixpanel_standin import MixpanelStandIn, SavedReport
from devtools.sample_data import RawEvent
from devtools.slack_standin import slack_rejection
from shared.pipeline import ReportContext, produce_report
from shared.render.charts import is_chart
from shared.render.report_json import report_to_json
from shared.render.slack import render_message
from shared.report.generator import Report, Verdict
from shared.report.metrics import ANY_EVENT, Measure, MetricsConfig, MetricSpec, load_metrics
from shared.schedule.periods import PeriodKind, ReportPeriod, Window, custom_period, report_period
from shared.settings import DEFAULT_METRICS_FILE
from shared.sources.gathering import SourceMode, SourcePolicy
from shared.sources.mixpanel_client import MixpanelClient
from tests.standin_client import standin_client

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
USERNAME = "svc.numbers"
SECRET = "MPSECRET-numbers-5d2e"
PROJECT_ID = "31337"
NAMES_PATH = "/api/query/events/names"
EVENTS_PATH = "/api/query/events"
EXPORT_PATH = "/api/2.0/export"
EXPORT_DOWN = "Mixpanel /export answered HTTP 503: server error: Service Unavailable"
EVENTS_DOWN = "Mixpanel /events answered HTTP 503: server error: Service Unavailable"
MAX_ATTEMPTS = 5  # the client's default RetryPolicy

SHIPPED = load_metrics(DEFAULT_METRICS_FILE)
# Beside the shipped file: a total over two events, a unique metric over two events (a union of
# users, not a sum) and a metric where a rise is bad news.
METRICS = MetricsConfig(
    (
        MetricSpec("active_users", "Active users", ":busts:", (ANY_EVENT,), Measure.UNIQUE),
        MetricSpec("new_signups", "New signups", ":new:", ("Sign Up",)),
        MetricSpec(
            "receipt_activity",
            "Receipts and points",
            ":receipt:",
            ("Receipt Uploaded", "PlanetPoints Added"),
        ),
        MetricSpec(
            "engaged_users",
            "Engaged users",
            ":star:",
            ("Receipt Uploaded", "Voucher Redeemed"),
            Measure.UNIQUE,
        ),
        MetricSpec(
            "receipt_failures",
            "Receipts failed",
            ":x:",
            ("Receipt Failed",),
            higher_is_better=False,
        ),
        MetricSpec("vouchers_redeemed", "Vouchers redeemed", ":gift:", ("Voucher Redeemed",)),
    ),
    SHIPPED.thresholds,
)

Edge = tuple[str, str, datetime]  # (event, distinct_id, aware local time)


# -- the raw events --------------------------------------------------------------------------


def wall(
    tz: ZoneInfo, day: date, hour: int, minute: int = 0, second: int = 0, *, fold: int = 0
) -> datetime:
    """A local wall-clock time; fold=1 is the second pass through a repeated autumn hour."""
    return datetime.combine(day, time(hour, minute, second, fold=fold), tzinfo=tz)


def days_from(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def everyday_activity(tz: ZoneInfo, first: date, last: date) -> list[Edge]:
    """Six regulars, sign-ups and anonymous $identify, varying by day, at hours near midnight."""
    rows: list[Edge] = []
    for day in days_from(first, last):
        k = day.toordinal()
        for j, hour in enumerate((0, 6, 9, 13, 18, 23)):
            user = f"user-{j}"
            if (k + j) % 3:  # each regular is active on two days in three
                rows.append(("App Opened", user, wall(tz, day, hour, 10 + j)))
            if (k * (j + 1)) % 4 == 1:
                rows.append(("Receipt Uploaded", user, wall(tz, day, 12, j)))
                if j % 2 == 0:
                    rows.append(("PlanetPoints Added", user, wall(tz, day, 12, 30 + j)))
        if k % 2 == 0:
            rows.append(("Sign Up", f"new-{k}", wall(tz, day, 10)))
            rows.append(("$identify", f"new-{k}", wall(tz, day, 10, 1)))
        if k % 4 == 0:
            rows.append(("User Onboarded", f"new-{k}", wall(tz, day, 22, 45)))
        if k % 2 == 1:
            rows.append(("Receipt Failed", f"user-{k % 6}", wall(tz, day, 12, 50)))
        if k % 3 == 0:
            rows.append(("Voucher Redeemed", f"user-{k % 6}", wall(tz, day, 19, 30)))
        rows.extend(
            ("Product Viewed", f"user-{(k + n) % 6}", wall(tz, day, 15, n)) for n in range(k % 5)
        )
        # Someone who only ever fires Mixpanel's automatic events is not an active user.
        rows.append(("$identify", f"anon-{k}", wall(tz, day, 23, 30)))
        rows.append(("$ae_session", f"anon-{k}", wall(tz, day, 23, 31)))
    return rows


def movers_and_drops(tz: ZoneInfo, period: ReportPeriod) -> list[Edge]:
    """A surge that is a notable change, and a steady event that collapses into a warning
    (12 a day to 1 a day: a fall beyond chance even on a one-day window)."""
    current, reference = period.current, period.comparisons[0].window
    rows: list[Edge] = [
        ("Email Sent", f"user-{n}", wall(tz, day, 8, n))
        for day in reference.dates()
        for n in range(12)
    ]
    rows.extend(("Email Sent", "user-0", wall(tz, day, 8, 30)) for day in current.dates())
    rows.extend(
        (
            "SpinWheel Spun",
            f"user-{n % 6}",
            wall(tz, current.start + timedelta(days=n % current.days), 16, n),
        )
        for n in range(31)
    )
    return rows


def around_midnights(tz: ZoneInfo, period: ReportPeriod) -> list[Edge]:
    """At 23:59:59 before and 00:00:00 on every window boundary: the last and first second."""
    rows: list[Edge] = []
    for window in period.windows:
        for boundary in (window.start, window.end + timedelta(days=1)):
            late, early = f"late-{boundary}", f"early-{boundary}"
            evening = boundary - timedelta(days=1)
            rows.append(("Sign Up", late, wall(tz, evening, 23, 59, 59)))
            rows.append(("Voucher Redeemed", late, wall(tz, evening, 23, 59, 59)))
            rows.append(("Sign Up", early, wall(tz, boundary, 0, 0, 0)))
            rows.append(("Receipt Uploaded", early, wall(tz, boundary, 0, 0, 0)))
    # One more on the eve of the window, so the users shifted across its two ends do not cancel.
    eve = period.current.start - timedelta(days=1)
    rows.append(("Voucher Redeemed", "late-eve", wall(tz, eve, 23, 59, 59)))
    return rows


def clock_change(tz: ZoneInfo, day: date) -> list[Edge]:
    """Through a 23- or 25-hour day: 00:30, 01:30 (both folds), 02:30, 23:30 and 23:59:59."""
    return [
        ("Voucher Redeemed", "owl-0030", wall(tz, day, 0, 30)),
        ("Receipt Uploaded", "owl-0130", wall(tz, day, 1, 30)),
        ("Receipt Uploaded", "owl-0130-again", wall(tz, day, 1, 30, fold=1)),
        ("PlanetPoints Added", "owl-0130-again", wall(tz, day, 1, 45, fold=1)),
        ("Receipt Failed", "owl-0230", wall(tz, day, 2, 30)),
        ("Sign Up", "owl-2330", wall(tz, day, 23, 30)),
        ("Voucher Redeemed", "owl-2359", wall(tz, day, 23, 59, 59)),
    ]


def raw_events(rows: list[Edge]) -> list[RawEvent]:
    """One event per row, each sent as Mixpanel clients do: some twice, some without an id.

    Every 5th event is sent twice (an exact duplicate line: one event); every 9th has no
    $insert_id and is sent twice, so it is two events (nothing may merge them); every 11th is
    sent again 0.6 s later with the same $insert_id: Mixpanel compares milliseconds, so that
    is two events too.
    """
    events: list[RawEvent] = []
    for n, (name, user, at) in enumerate(rows):
        event = RawEvent(name, user, int(at.timestamp()), "" if n % 9 == 4 else f"e{n}", ms=300)
        events.append(event)
        if n % 5 == 2 or n % 9 == 4:
            events.append(event)
        if n % 11 == 6 and event.insert_id:
            events.append(RawEvent(name, user, event.time, event.insert_id, ms=900))
    return events


def deduplicated(events: list[RawEvent]) -> list[RawEvent]:
    """Mixpanel's rule, spelled out: same event, distinct_id, time (in ms) and $insert_id = one
    event."""
    kept: list[RawEvent] = []
    for event in events:
        if event.insert_id and any(
            (k.name, k.distinct_id, k.time, k.ms, k.insert_id)
            == (event.name, event.distinct_id, event.time, event.ms, event.insert_id)
            for k in kept[-3:]  # duplicates sit next to their original in raw_events
        ):
            continue
        kept.append(event)
    return kept


# -- the brute-force reference -----------------------------------------------------------------


class Recount:
    """Every figure counted straight from the raw events, each dated by its local calendar day."""

    def __init__(self, events: list[RawEvent], tz: tzinfo = UTC) -> None:
        self.rows = [
            (e.name, e.distinct_id, datetime.fromtimestamp(e.time, tz).date())
            for e in deduplicated(events)
        ]

    def total(self, names: Collection[str], window: Window) -> int:
        return sum(1 for name, _, day in self.rows if name in names and day in window)

    def users(self, names: Collection[str] | None, window: Window) -> int:
        """Distinct users of `names` in the window; None = any event but Mixpanel's $-events."""
        return len(
            {
                user
                for name, user, day in self.rows
                if day in window and (not name.startswith("$") if names is None else name in names)
            }
        )

    def metric(self, spec: MetricSpec, window: Window) -> int:
        if spec.measure is Measure.TOTAL:
            return self.total(spec.events, window)
        return self.users(None if spec.events == (ANY_EVENT,) else spec.events, window)

    def metrics(
        self, config: MetricsConfig, period: ReportPeriod
    ) -> list[tuple[str, int, list[int]]]:
        return [
            (
                spec.key,
                self.metric(spec, period.current),
                [self.metric(spec, c.window) for c in period.comparisons],
            )
            for spec in config.metrics
        ]

    def top_events(self, period: ReportPeriod, n: int) -> list[tuple[str, int, int]]:
        """The n highest non-$ totals in the window, ties by name, with the reference total."""
        names = {name for name, _, _ in self.rows if not name.startswith("$")}
        totals = [(name, self.total({name}, period.current)) for name in names]
        ranked = sorted((t for t in totals if t[1] > 0), key=lambda t: (-t[1], t[0]))[:n]
        reference = period.comparisons[0].window
        return [(name, count, self.total({name}, reference)) for name, count in ranked]

    def busiest_day(self, window: Window) -> tuple[date, int]:
        per_day = Counter(
            day for name, _, day in self.rows if day in window and not name.startswith("$")
        )
        return max(
            ((d, per_day[d]) for d in window.dates()), key=lambda t: (t[1], -t[0].toordinal())
        )


# -- serving and reading -----------------------------------------------------------------------


@contextmanager
def served(
    events: list[RawEvent],
    tz: ZoneInfo,
    today: date,
    *,
    export_in_utc: bool = True,
    session: requests.Session | None = None,
    query_api_status: int | None = None,
    first_weekday: int = 0,
    saved_reports: dict[str, SavedReport] | None = None,
) -> Iterator[tuple[MixpanelStandIn, MixpanelClient]]:
    """The stand-in serving `events` (its today fixed) and the real client pointed at it."""
    stand = MixpanelStandIn(
        events,
        username=USERNAME,
        secret=SECRET,
        project_id=PROJECT_ID,
        timezone=tz.key,
        today=today,
        export_in_utc=export_in_utc,
        query_api_status=query_api_status,
        first_weekday=first_weekday,
        saved_reports=saved_reports,
    )
    origin = stand.start()
    try:
        with session or requests.Session() as http:
            yield (
                stand,
                standin_client(
                    origin,
                    username=USERNAME,
                    secret=SECRET,
                    project_id=PROJECT_ID,
                    session=http,
                    sleep=lambda _seconds: None,
                ),
            )
    finally:
        stand.stop()


def context(
    tz: ZoneInfo,
    config: MetricsConfig = METRICS,
    *,
    export_in_utc: bool = True,
    active_user_events: tuple[str, ...] | None = None,
    sources: SourcePolicy | None = None,
) -> ReportContext:
    return ReportContext(
        config,
        "Acme",
        tz,
        f"https://eu.mixpanel.com/project/{PROJECT_ID}",
        active_user_events=active_user_events,
        export_in_utc=export_in_utc,
        sources=sources or SourcePolicy(),
    )


def morning(tz: ZoneInfo, today: date) -> datetime:
    return wall(tz, today, 9)


def paths(stand: MixpanelStandIn) -> Counter[str]:
    return Counter(r.path for r in stand.requests)


def metric_figures(report: Report) -> list[tuple[str, int | None, list[int | None]]]:
    return [(m.spec.key, m.value, [c.baseline for c in m.changes]) for m in report.metrics]


def restated_warning_counts(line: str) -> tuple[str, int, int]:
    """(event, baseline total, window total) restated in a data-quality warning."""
    down = re.fullmatch(
        r"(.+): down \d+% \(([\d,]+) to ([\d,]+)\) .+ - tracking may be broken", line
    )
    if down:
        return down[1], int(down[2].replace(",", "")), int(down[3].replace(",", ""))
    gone = re.fullmatch(
        r"(.+): no events this period after ([\d,]+) .+ - tracking may be broken", line
    )
    assert gone, line
    return gone[1], int(gone[2].replace(",", "")), 0


# -- the cases ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """A report period in a timezone, run on `today`, over the events placed around it."""

    period: ReportPeriod
    tz: ZoneInfo
    today: date
    window: tuple[date, date]
    baselines: tuple[tuple[date, date], ...]
    clock_changes: tuple[date, ...] = ()
    config: MetricsConfig = METRICS
    export_in_utc: bool = True
    utc_days_differ: bool = True  # a report counting UTC days would get some figure wrong

    def rows(self) -> list[Edge]:
        span = self.period.span
        rows = everyday_activity(
            self.tz, span.start - timedelta(days=1), span.end + timedelta(days=1)
        )
        rows += movers_and_drops(self.tz, self.period)
        rows += around_midnights(self.tz, self.period)
        for day in self.clock_changes:
            rows += clock_change(self.tz, day)
        return rows

    def events(self) -> list[RawEvent]:
        return raw_events(self.rows())


def weekly(tz: ZoneInfo, today: date, **kw: Any) -> Case:
    monday = today - timedelta(days=7)
    return Case(
        report_period(PeriodKind.WEEKLY, today),
        tz,
        today,
        (monday, today - timedelta(days=1)),
        ((monday - timedelta(days=7), monday - timedelta(days=1)),),
        **kw,
    )


def daily(tz: ZoneInfo, today: date, **kw: Any) -> Case:
    yesterday = today - timedelta(days=1)
    week_ago, day_before = yesterday - timedelta(days=7), yesterday - timedelta(days=1)
    return Case(
        report_period(PeriodKind.DAILY, today),
        tz,
        today,
        (yesterday, yesterday),
        ((week_ago, week_ago), (day_before, day_before)),
        **kw,
    )


CASES = [
    pytest.param(weekly(LONDON, date(2026, 11, 23), utc_days_differ=False), id="london-weekly"),
    pytest.param(
        weekly(LONDON, date(2026, 11, 23), config=SHIPPED, utc_days_differ=False),
        id="london-weekly-shipped-metrics-file",
    ),
    pytest.param(
        weekly(LONDON, date(2026, 3, 30), clock_changes=(date(2026, 3, 29),)),
        id="london-week-of-spring-forward",
    ),
    pytest.param(
        weekly(LONDON, date(2026, 10, 26), clock_changes=(date(2026, 10, 25),)),
        id="london-week-of-fall-back",
    ),
    pytest.param(
        weekly(
            LONDON, date(2026, 10, 26), clock_changes=(date(2026, 10, 25),), export_in_utc=False
        ),
        id="london-week-of-fall-back-export-in-local-days",
    ),
    pytest.param(
        weekly(NEW_YORK, date(2026, 3, 9), clock_changes=(date(2026, 3, 8),)),
        id="new-york-week-of-spring-forward",
    ),
    pytest.param(
        weekly(NEW_YORK, date(2026, 11, 2), clock_changes=(date(2026, 11, 1),)),
        id="new-york-week-of-fall-back",
    ),
    pytest.param(daily(LONDON, date(2026, 11, 24), utc_days_differ=False), id="london-daily"),
    pytest.param(
        daily(LONDON, date(2026, 3, 30), clock_changes=(date(2026, 3, 29),)),
        id="london-daily-23-hour-day",
    ),
    pytest.param(
        daily(LONDON, date(2026, 10, 26), clock_changes=(date(2026, 10, 25),)),
        id="london-daily-25-hour-day",
    ),
    pytest.param(
        daily(NEW_YORK, date(2026, 3, 9), clock_changes=(date(2026, 3, 8),)),
        id="new-york-daily-23-hour-day",
    ),
    pytest.param(
        daily(NEW_YORK, date(2026, 11, 2), clock_changes=(date(2026, 11, 1),)),
        id="new-york-daily-25-hour-day",
    ),
    pytest.param(
        Case(
            report_period(PeriodKind.MONTHLY, date(2026, 3, 5)),
            LONDON,
            date(2026, 3, 5),
            (date(2026, 2, 1), date(2026, 2, 28)),
            ((date(2026, 1, 1), date(2026, 1, 31)),),
            utc_days_differ=False,
        ),
        id="london-monthly-february-vs-january",
    ),
    pytest.param(
        Case(
            report_period(PeriodKind.MONTHLY, date(2026, 4, 1)),
            NEW_YORK,
            date(2026, 4, 1),
            (date(2026, 3, 1), date(2026, 3, 31)),
            ((date(2026, 2, 1), date(2026, 2, 28)),),
            clock_changes=(date(2026, 3, 8),),
        ),
        id="new-york-monthly-march-with-spring-forward",
    ),
    pytest.param(
        Case(
            report_period(PeriodKind.BIWEEKLY, date(2026, 3, 30)),
            LONDON,
            date(2026, 3, 30),
            (date(2026, 3, 16), date(2026, 3, 29)),
            ((date(2026, 3, 2), date(2026, 3, 15)),),
            clock_changes=(date(2026, 3, 29),),
        ),
        id="london-biweekly-ending-on-spring-forward",
    ),
    pytest.param(
        Case(
            custom_period(date(2026, 12, 28), date(2027, 1, 3)),
            LONDON,
            date(2027, 1, 5),
            (date(2026, 12, 28), date(2027, 1, 3)),
            ((date(2026, 12, 21), date(2026, 12, 27)),),
            utc_days_differ=False,
        ),
        id="london-custom-across-new-year",
    ),
    pytest.param(
        Case(
            custom_period(date(2026, 12, 28), date(2027, 1, 3)),
            NEW_YORK,
            date(2027, 1, 5),
            (date(2026, 12, 28), date(2027, 1, 3)),
            ((date(2026, 12, 21), date(2026, 12, 27)),),
        ),
        id="new-york-custom-across-new-year",
    ),
    pytest.param(
        daily(LONDON, date(2028, 3, 1), utc_days_differ=False), id="london-daily-leap-day"
    ),
    pytest.param(
        Case(
            report_period(PeriodKind.MONTHLY, date(2028, 3, 2)),
            LONDON,
            date(2028, 3, 2),
            (date(2028, 2, 1), date(2028, 2, 29)),
            ((date(2028, 1, 1), date(2028, 1, 31)),),
            utc_days_differ=False,
        ),
        id="london-monthly-leap-february",
    ),
]


# -- the data sources ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """A way of reading the project: the mode asked for, the plan, and what it must cost."""

    mode: SourceMode
    query_api_status: int | None  # the plan refuses every Query API endpoint with this status
    requests: dict[str, int]
    reported_as: str

    @property
    def policy(self) -> SourcePolicy:
        return SourcePolicy(mode=self.mode)


SOURCES = [
    pytest.param(
        Source(SourceMode.QUERY, None, {NAMES_PATH: 1, EVENTS_PATH: 1, EXPORT_PATH: 1}, "mixed"),
        id="query-api",
    ),
    # The export alone: the most recent day first (the size probe), then the other days.
    pytest.param(Source(SourceMode.EXPORT, None, {EXPORT_PATH: 2}, "export"), id="export"),
    pytest.param(
        Source(SourceMode.AUTO, 402, {NAMES_PATH: 1, EXPORT_PATH: 2}, "export"),
        id="auto-on-a-free-plan-402",
    ),
    # A 403 could be wrong credentials: one tiny export request shows they are right.
    pytest.param(
        Source(SourceMode.AUTO, 403, {NAMES_PATH: 1, EXPORT_PATH: 3}, "export"),
        id="auto-on-a-free-plan-403",
    ),
]


# A project created from 2023 exports UTC days and UTC epochs; one created before exports days
# of the project timezone and local wall-clock `time` (export-methods.mdx, export.openapi.yaml).
PROJECTS = [
    pytest.param(True, id="project-from-2023"),
    pytest.param(False, id="project-before-2023"),
]


# -- the promise, case by case -----------------------------------------------------------------


@pytest.mark.parametrize("export_in_utc", PROJECTS)
@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("case", CASES)
def test_every_figure_equals_a_recount_of_the_raw_events_by_local_day(
    case: Case, source: Source, export_in_utc: bool
) -> None:
    """Metrics, baselines, top events, movers, warnings and JSON match the brute-force recount."""
    period, events = case.period, case.events()
    export_in_utc = export_in_utc and case.export_in_utc
    with served(
        events,
        case.tz,
        case.today,
        export_in_utc=export_in_utc,
        query_api_status=source.query_api_status,
    ) as (stand, client):
        report = produce_report(
            period,
            context(case.tz, case.config, export_in_utc=export_in_utc, sources=source.policy),
            mixpanel=client,
            now=morning(case.tz, case.today),
        )
    recount = Recount(events, case.tz)
    assert len(deduplicated(events)) < len(events)  # the raw lines hold duplicates
    same_second = Counter(
        (e.name, e.distinct_id, e.time, e.insert_id) for e in deduplicated(events)
    )
    assert any(n == 2 and key[3] for key, n in same_second.items())  # ...and ms-apart twins
    assert period.current == Window(*case.window)
    assert [c.window for c in period.comparisons] == [Window(*b) for b in case.baselines]
    # The /events totals size the export even for a span older than the names list: no probe.
    assert paths(stand) == source.requests
    assert report.source == source.reported_as

    expected = recount.metrics(case.config, period)
    assert report.unavailable == ()
    assert metric_figures(report) == expected
    if case.utc_days_differ:  # the case has teeth: counting UTC days would get both kinds wrong
        in_utc = Recount(events).metrics(case.config, period)
        for measure in (Measure.TOTAL, Measure.UNIQUE):
            chosen = [i for i, spec in enumerate(case.config.metrics) if spec.measure is measure]
            assert [in_utc[i] for i in chosen] != [expected[i] for i in chosen]

    top = recount.top_events(period, case.config.thresholds.top_events)
    assert [(e.name, e.count, e.baseline) for e in report.top_events or ()] == top
    assert f"Most frequent event: {top[0][0]} ({top[0][1]:,} times)." in report.insights

    current, reference = period.current, period.comparisons[0].window
    assert [(m.name, m.count, m.baseline) for m in report.movers] == [
        (m.name, recount.total({m.name}, current), recount.total({m.name}, reference))
        for m in report.movers
    ]
    assert ("SpinWheel Spun", Verdict.NEW) in [(m.name, m.verdict) for m in report.movers]
    restated = [restated_warning_counts(line) for line in report.warnings]
    assert restated == [
        (name, recount.total({name}, reference), recount.total({name}, current))
        for name, _, _ in restated
    ]
    assert "Email Sent" in [name for name, _, _ in restated]
    if current.days > 1:
        busiest, events_that_day = recount.busiest_day(current)
        assert f"Busiest day: {busiest:%A %d %b} ({events_that_day:,} events)." in report.insights

    assert_trends_are_recounts(report, recount, case.config)

    body = report_to_json(report)
    assert body["source"] == source.reported_as
    assert [m["method"] for m in body["metrics"]] == [
        "export" if spec.measure is Measure.UNIQUE else None for spec in case.config.metrics
    ]
    assert body["timezone"] == case.tz.key
    assert body["window"] == {
        "from_date": case.window[0].isoformat(),
        "to_date": case.window[1].isoformat(),
        "days": (case.window[1] - case.window[0]).days + 1,
    }
    assert [(w["from_date"], w["to_date"]) for w in body["comparison_windows"]] == [
        (start.isoformat(), end.isoformat()) for start, end in case.baselines
    ]
    assert [
        (m["key"], m["events"], m["value"], [c["value"] for c in m["comparisons"]], m["available"])
        for m in body["metrics"]
    ] == [
        (spec.key, list(spec.events), value, baselines, True)
        for spec, (_, value, baselines) in zip(case.config.metrics, expected, strict=True)
    ]
    assert [[c["change"] for c in m["comparisons"]] for m in body["metrics"]] == [
        [value - b for b in baselines] for _, value, baselines in expected
    ]
    assert body["top_events"] == [{"event": n, "count": c, "previous": p} for n, c, p in top]
    assert [(m["event"], m["count"], m["previous"]) for m in body["notable_changes"]] == [
        (m.name, m.count, m.baseline) for m in report.movers
    ]


def assert_trends_are_recounts(report: Report, recount: Recount, config: MetricsConfig) -> None:
    """Each metric's days, chart points and reference points, and the charts drawn from them."""
    period = report.period
    current, reference = period.current, period.comparisons[0].window
    for spec, metric in zip(config.metrics, report.metrics, strict=True):
        trend = metric.trend
        assert trend is not None, spec.key
        assert [(p.window, p.value) for p in trend.days] == [
            (Window(d, d), recount.metric(spec, Window(d, d))) for d in current.dates()
        ]
        for points, window in ((trend.points, current), (trend.reference, reference)):
            assert [p.value for p in points] == [recount.metric(spec, p.window) for p in points]
            # every day of the window in exactly one point, in order: none dropped
            assert [d for p in points for d in p.window.dates()] == list(window.dates())
        assert 1 <= len(trend.points) == len(trend.reference) <= 20
    payload = render_message(report).payload()
    assert slack_rejection(payload) is None  # the strict stand-in's chart rules hold
    charts = [b for b in payload["blocks"] if is_chart(b)]
    assert [c["block_id"] for c in charts] == ["trend", "top_events"]
    plotted = [[p["value"] for p in s["data"]] for s in charts[0]["chart"]["series"]]
    pairs = [(plotted[i], plotted[i + 1]) for i in range(0, len(plotted), 2)]
    recounted = [
        tuple(
            [recount.metric(spec, p.window) for p in points] for points in (t.points, t.reference)
        )
        for spec, t in ((s, m.trend) for s, m in zip(config.metrics, report.metrics, strict=True))
        if t is not None
    ]
    assert pairs[0] == recounted[0]  # the first metric, then others of its scale
    assert all(pair in recounted for pair in pairs)
    top = recount.top_events(period, config.thresholds.top_events)
    assert [[p["value"] for p in s["data"]] for s in charts[1]["chart"]["series"]] == [
        [count for _, count, _ in top],
        [before for _, _, before in top],
    ]


# -- distinct users ----------------------------------------------------------------------------


def test_a_user_active_on_several_days_counts_once_and_automatic_events_are_not_activity() -> None:
    """Weekly actives are fewer than the sum of daily actives; $identify-only users never count."""
    case = weekly(LONDON, date(2026, 10, 26), clock_changes=(date(2026, 10, 25),))
    events = case.events()
    week = case.period.current
    ctx = context(LONDON)
    now = morning(LONDON, case.today)
    with served(events, LONDON, case.today) as (stand, client):
        weekly_report = produce_report(case.period, ctx, mixpanel=client, now=now)
        daily_reports = [
            produce_report(custom_period(day, day), ctx, mixpanel=client, now=now)
            for day in week.dates()
        ]
    assert len(stand.requests) == 3 * (1 + week.days)

    recount = Recount(events, LONDON)
    weekly_active = weekly_report.metrics[0].value
    daily_actives = [r.metrics[0].value for r in daily_reports]
    assert weekly_active == recount.users(None, week)
    assert daily_actives == [recount.users(None, Window(d, d)) for d in week.dates()]
    assert weekly_active is not None
    assert weekly_active < sum(a or 0 for a in daily_actives)

    automatic_only = {f"anon-{d.toordinal()}" for d in week.dates()}
    everyone = {user for _, user, day in recount.rows if day in week}
    assert automatic_only <= everyone
    assert weekly_active == len(everyone - automatic_only)


def test_a_unique_metric_over_two_events_counts_the_union_of_their_users() -> None:
    """A user who did both events counts once: the union, never the sum of the two."""
    case = weekly(LONDON, date(2026, 11, 23))
    events = case.events()
    with served(events, LONDON, case.today) as (_, client):
        report = produce_report(
            case.period, context(LONDON), mixpanel=client, now=morning(LONDON, case.today)
        )
    recount = Recount(events, LONDON)
    week = case.period.current
    engaged = next(m for m in report.metrics if m.spec.key == "engaged_users")
    uploaders = recount.users({"Receipt Uploaded"}, week)
    redeemers = recount.users({"Voucher Redeemed"}, week)
    assert engaged.value == recount.users({"Receipt Uploaded", "Voucher Redeemed"}, week)
    assert engaged.value is not None
    assert max(uploaders, redeemers) <= engaged.value < uploaders + redeemers


# -- a failed query is unavailable, never zero -------------------------------------------------


def test_a_failed_export_leaves_unique_figures_unavailable_and_every_total_exact() -> None:
    """Export down (every retry): unique metrics are None with a reason; totals still exact."""
    case = weekly(LONDON, date(2026, 10, 26), clock_changes=(date(2026, 10, 25),))
    events = case.events()
    with served(events, LONDON, case.today) as (stand, client):
        stand.fail_next(503, times=100, retry_after="0", path_prefix=EXPORT_PATH)
        report = produce_report(
            case.period, context(LONDON), mixpanel=client, now=morning(LONDON, case.today)
        )
    assert paths(stand) == {NAMES_PATH: 1, EXPORT_PATH: MAX_ATTEMPTS, EVENTS_PATH: 1}

    recount = Recount(events, LONDON)
    expected = recount.metrics(METRICS, case.period)
    for metric, (key, value, baselines) in zip(report.metrics, expected, strict=True):
        assert metric.spec.key == key
        if metric.spec.measure is Measure.UNIQUE:
            assert (metric.value, metric.unavailable) == (None, EXPORT_DOWN)
            assert [(c.baseline, c.verdict) for c in metric.changes] == [
                (None, Verdict.UNAVAILABLE)
            ]
        else:
            assert (metric.value, [c.baseline for c in metric.changes], metric.unavailable) == (
                value,
                baselines,
                None,
            )
    top = recount.top_events(case.period, METRICS.thresholds.top_events)
    assert [(e.name, e.count, e.baseline) for e in report.top_events or ()] == top

    body = report_to_json(report)
    unique = [m for m in body["metrics"] if m["measure"] == "unique"]
    assert [(m["value"], m["available"], m["unavailable_reason"]) for m in unique] == [
        (None, False, EXPORT_DOWN),
        (None, False, EXPORT_DOWN),
    ]
    assert [c["value"] for m in unique for c in m["comparisons"]] == [None, None]


@pytest.mark.parametrize(
    "names_down",
    [
        pytest.param(True, id="whole-query-api-down"),
        pytest.param(False, id="only-event-counts-down"),
    ],
)
def test_failed_event_counts_leave_totals_and_top_events_unavailable_and_active_users_exact(
    names_down: bool,
) -> None:
    """/events down: totals and top events are None, not 0; the export's figures are exact."""
    case = weekly(NEW_YORK, date(2026, 11, 2), clock_changes=(date(2026, 11, 1),))
    events = case.events()
    session = requests.Session()
    with served(events, NEW_YORK, case.today, session=session) as (stand, client):
        if names_down:  # the prefix also matches /events/names
            stand.fail_next(503, times=100, retry_after="0", path_prefix=EVENTS_PATH)
        else:  # queue the failures only once the names have been answered

            def fail_counts_after_names(response: requests.Response, *_: Any, **__: Any) -> None:
                if urlsplit(response.url).path == NAMES_PATH:
                    stand.fail_next(503, times=100, retry_after="0", path_prefix=EVENTS_PATH)

            session.hooks["response"].append(fail_counts_after_names)
        report = produce_report(
            case.period, context(NEW_YORK), mixpanel=client, now=morning(NEW_YORK, case.today)
        )
    names_requests = MAX_ATTEMPTS if names_down else 1
    assert paths(stand) == {NAMES_PATH: names_requests, EXPORT_PATH: 1, EVENTS_PATH: MAX_ATTEMPTS}

    recount = Recount(events, NEW_YORK)
    for metric, (_, value, baselines) in zip(
        report.metrics, recount.metrics(METRICS, case.period), strict=True
    ):
        if metric.spec.measure is Measure.TOTAL:
            assert (metric.value, metric.unavailable) == (None, EVENTS_DOWN)
            assert [(c.baseline, c.verdict) for c in metric.changes] == [
                (None, Verdict.UNAVAILABLE)
            ]
        else:
            assert (metric.value, [c.baseline for c in metric.changes], metric.unavailable) == (
                value,
                baselines,
                None,
            )
    assert report.top_events is None
    assert (report.movers, report.warnings) == ((), ())
    assert f"Top events and notable changes: {EVENTS_DOWN}" in report.notes
    assert report_to_json(report)["top_events"] is None


# -- known gaps ---------------------------------------------------------------------------------


def early_month_only_event(case: Case) -> list[RawEvent]:
    """The case's events plus 40 of an event seen only on the window's first day."""
    first = case.period.current.start
    extra = [
        ("Referral Completed", f"user-{n % 6}", wall(case.tz, first, 14, n)) for n in range(40)
    ]
    return raw_events(case.rows() + extra)


MONTHLY = Case(
    report_period(PeriodKind.MONTHLY, date(2026, 3, 5)),
    LONDON,
    date(2026, 3, 5),
    (date(2026, 2, 1), date(2026, 2, 28)),
    ((date(2026, 1, 1), date(2026, 1, 31)),),
)


def test_an_event_seen_only_early_in_a_month_is_a_top_event() -> None:
    """Referral Completed (40 on 1 Feb, before the names endpoint's 31 days) ranks in February."""
    events = early_month_only_event(MONTHLY)
    with served(events, LONDON, MONTHLY.today) as (_, client):
        report = produce_report(
            MONTHLY.period, context(LONDON), mixpanel=client, now=morning(LONDON, MONTHLY.today)
        )
    top = Recount(events, LONDON).top_events(MONTHLY.period, METRICS.thresholds.top_events)
    assert [(n, before) for n, _, before in top if n == "Referral Completed"] == [
        ("Referral Completed", 0)
    ]
    assert [(e.name, e.count, e.baseline) for e in report.top_events or ()] == top


def test_with_the_export_down_an_old_window_withholds_top_events_rather_than_miss_one() -> None:
    """Without the export nothing lists events older than 31 days: top events say so, not lie."""
    events = early_month_only_event(MONTHLY)
    with served(events, LONDON, MONTHLY.today) as (stand, client):
        stand.fail_next(503, times=100, retry_after="0", path_prefix=EXPORT_PATH)
        report = produce_report(
            MONTHLY.period, context(LONDON), mixpanel=client, now=morning(LONDON, MONTHLY.today)
        )
    assert report.top_events is None
    assert (report.movers, report.warnings) == ((), ())
    assert any(
        n.startswith(
            "Top events and notable changes: the full list of events in this window "
            "is unknown (Mixpanel /export answered HTTP 503"
        )
        for n in report.notes
    )
    recount = Recount(events, LONDON)
    signups = next(m for m in report.metrics if m.spec.events == ("Sign Up",))
    assert signups.value == recount.total({"Sign Up"}, MONTHLY.period.current)


def test_with_active_user_events_set_an_event_seen_only_early_in_a_month_is_a_top_event() -> None:
    """Choosing which events make a user active must not change which events are top events."""
    events = early_month_only_event(MONTHLY)
    ctx = context(LONDON, active_user_events=("App Opened",))
    with served(events, LONDON, MONTHLY.today) as (_, client):
        report = produce_report(
            MONTHLY.period, ctx, mixpanel=client, now=morning(LONDON, MONTHLY.today)
        )
    recount = Recount(events, LONDON)
    assert report.metrics[0].value == recount.users({"App Opened"}, MONTHLY.period.current)
    top = recount.top_events(MONTHLY.period, METRICS.thresholds.top_events)
    assert [(e.name, e.count, e.baseline) for e in report.top_events or ()] == top


# -- an export too large to stream -------------------------------------------------------------

TINY = 50  # EXPORT_MAX_EVENTS far below any case's events
# With a per-event unique metric: the one kind Mixpanel's /events buckets can answer.
GUARDED = MetricsConfig(
    (
        *METRICS.metrics,
        MetricSpec("uploaders", "Uploaders", ":receipt:", ("Receipt Uploaded",), Measure.UNIQUE),
    ),
    METRICS.thresholds,
)


def too_large(reason: str | None) -> bool:
    return reason is not None and reason.startswith(
        f"the export is over EXPORT_MAX_EVENTS={TINY} ("
    )


@pytest.mark.parametrize(
    ("mode", "plan_refuses"),
    [(SourceMode.QUERY, None), (SourceMode.EXPORT, None), (SourceMode.AUTO, 402)],
    ids=["query", "export", "auto-on-a-free-plan"],
)
@pytest.mark.parametrize(
    "case",
    [
        pytest.param(CASES[0].values[0], id="london-weekly"),
        pytest.param(CASES[7].values[0], id="london-daily"),
        pytest.param(CASES[12].values[0], id="london-monthly"),
        pytest.param(CASES[14].values[0], id="london-biweekly"),
    ],
)
def test_with_a_tiny_export_max_no_export_is_larger_and_every_figure_is_exact_or_unavailable(
    case: Case, mode: SourceMode, plan_refuses: int | None
) -> None:
    """Over EXPORT_MAX_EVENTS: Mixpanel's own buckets where they fit the window, else a reason."""
    events = case.events()
    policy = SourcePolicy(mode=mode, export_max_events=TINY)
    with served(events, case.tz, case.today, query_api_status=plan_refuses) as (stand, client):
        report = produce_report(
            case.period,
            context(case.tz, GUARDED, sources=policy),
            mixpanel=client,
            now=morning(case.tz, case.today),
        )
    exports = [r for r in stand.requests if r.path == EXPORT_PATH]
    assert all(int(r.query["limit"]) <= TINY + 1 for r in exports)
    # Query mode knows the size from the /events totals (whatever the span's age); the others
    # probe one day, within the limit.
    assert len(exports) == (0 if mode is SourceMode.QUERY else 1)

    recount = Recount(events, case.tz)
    expected = {
        key: (value, baselines) for key, value, baselines in recount.metrics(GUARDED, case.period)
    }
    aligned = case.period.kind in (PeriodKind.WEEKLY, PeriodKind.DAILY, PeriodKind.MONTHLY)
    has_query_api = plan_refuses is None
    for metric in report.metrics:
        value, baselines = expected[metric.spec.key]
        figures = [metric.value, *(c.baseline for c in metric.changes)]
        if metric.spec.measure is Measure.TOTAL and mode is SourceMode.QUERY:
            assert figures == [value, *baselines]
        elif metric.spec.key == "uploaders" and aligned and has_query_api:
            assert figures == [value, *baselines]  # /events type=unique, one bucket per window
            assert (metric.method or "").startswith("/events type=unique")
        else:  # a total without the Query API, a union of events, an unaligned window
            assert figures == [None] * len(figures)
            assert too_large(metric.unavailable), metric.unavailable
            if not has_query_api:
                assert "this plan has no Query API" in (metric.unavailable or "")
    answered = mode is SourceMode.QUERY or (aligned and has_query_api)
    assert report.source == ("query" if answered else "export")
    assert report_to_json(report)["source"] == report.source


def test_a_saved_insights_report_answers_active_users_for_exactly_its_window() -> None:
    """A bar-chart report over the window gives active users; its baseline says how to get it."""
    case = weekly(LONDON, date(2026, 11, 23))
    week = case.period.current
    events = case.events()
    saved = {"901": SavedReport(week.start, week.end)}
    policy = SourcePolicy(
        mode=SourceMode.QUERY, export_max_events=TINY, insights_reports=(("active_users", "901"),)
    )
    with served(events, LONDON, case.today, saved_reports=saved) as (stand, client):
        report = produce_report(
            case.period,
            context(LONDON, sources=policy),
            mixpanel=client,
            now=morning(LONDON, case.today),
        )
    active = report.metrics[0]
    recount = Recount(events, LONDON)
    assert (active.value, active.method) == (recount.users(None, week), "insights report 901")
    assert active.changes[0].baseline is None
    assert active.changes[0].verdict is Verdict.UNAVAILABLE
    assert [r.path for r in stand.requests].count("/api/query/insights") == 1
    assert EXPORT_PATH not in paths(stand)


def test_weeks_that_start_on_another_day_than_the_projects_are_not_taken_from_week_buckets() -> (
    None
):
    """A Sunday-start project's buckets do not match a Monday week: unavailable, and it says why."""
    case = weekly(LONDON, date(2026, 11, 23))
    policy = SourcePolicy(mode=SourceMode.QUERY, export_max_events=TINY)
    with served(case.events(), LONDON, case.today, first_weekday=6) as (_, client):
        report = produce_report(
            case.period,
            context(LONDON, GUARDED, sources=policy),
            mixpanel=client,
            now=morning(LONDON, case.today),
        )
    uploaders = next(m for m in report.metrics if m.spec.key == "uploaders")
    assert (uploaders.value, uploaders.changes[0].baseline) == (None, None)
    assert uploaders.unavailable is not None
    assert uploaders.unavailable == (
        "the export is over EXPORT_MAX_EVENTS=50 (about 404 events); Mixpanel's week buckets "
        "['2026-11-15', '2026-11-22'] do not match 16 Nov - 22 Nov 2026: set MIXPANEL_WEEK_START "
        "to the project's first weekday"
    )
