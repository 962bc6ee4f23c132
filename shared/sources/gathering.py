"""Gather a report's facts from the source that fits the project: query, export or aggregation.

- query: `/events/names`, one `/events` call for every total, and the raw export for unique
  users (what every report did before). Source "mixed" (Query API + export), or "query" when the
  export was too large and Mixpanel's own aggregation answered the unique figures.
- export: every figure from the raw export alone, deduplicated as Mixpanel does. Source "export".
- auto (the default): query, until a Query API endpoint answers 402, or 403 while the Export
  API accepts the same credentials; then export, and this process remembers not to knock again.

Before streaming, the export's size is known or probed; above EXPORT_MAX_EVENTS it is not
streamed (and never read past that many lines), and unique figures come from server-side
aggregation or read "unavailable" with their reason.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Protocol, TypeVar, runtime_checkable
from zoneinfo import ZoneInfo

from shared.errors import (
    ExportTooLarge,
    MixpanelAuthError,
    MixpanelBudgetSpent,
    MixpanelError,
    MixpanelPlanError,
    MixpanelRateLimited,
)
from shared.report.facts import Facts, Unavailable, UniqueCounts, is_automatic
from shared.report.figures import DayIndexedFigures, Figures, FigureTally
from shared.schedule.periods import ReportPeriod, Window
from shared.settings import DEFAULT_EXPORT_MAX_EVENTS
from shared.sources.export_stream import (
    ExportReducer,
    ExportTally,
    LineBudget,
    LineDecoder,
    S,
)
from shared.sources.port import EventSource, InsightsAnswer
from shared.sources.server_side import EXPORT_METHOD, server_side_uniques
from shared.sources.size_store import PROCESS_EXPORT_SIZES, ExportSizes
from shared.sources.uniques import UniqueTally

log = logging.getLogger("analytics_reporter")
T = TypeVar("T")
NAMES_WINDOW_DAYS = 31  # /events/names answers for the last 31 days

# Day ranges fetched at once per report, and in all: at most 1 probe + 8 of the Export API's
# 60 queries an hour leave room for the hour's other reports (its 100-at-once and 3-a-second
# limits are far away). More, smaller ranges keep fewer dedup keys in memory at once.
DEFAULT_EXPORT_PARALLEL = 4
DEFAULT_EXPORT_MAX_RANGES = 8
RANGE_EVENTS = 500_000  # below this many events a range is not worth splitting


class SourceMode(StrEnum):
    """Where a report's numbers come from (MIXPANEL_SOURCE)."""

    AUTO = "auto"
    QUERY = "query"
    EXPORT = "export"


@dataclass(frozen=True, slots=True)
class SourcePolicy:
    """How to choose and bound the data source (from settings)."""

    mode: SourceMode = SourceMode.AUTO
    export_max_events: int = DEFAULT_EXPORT_MAX_EVENTS
    week_start: int = 0  # the project's first weekday, 0 = Monday (Mixpanel's week buckets)
    insights_reports: tuple[tuple[str, str], ...] = ()  # (metric key, saved report bookmark id)
    export_parallel: int = DEFAULT_EXPORT_PARALLEL
    export_max_ranges: int = DEFAULT_EXPORT_MAX_RANGES
    range_events: int = RANGE_EVENTS  # about this many events per fetched day range
    # Where export sizes are remembered (shared/sources/size_store.py); None: this process.
    sizes: ExportSizes | None = field(default=None, compare=False)

    @property
    def export_sizes(self) -> ExportSizes:
        """The size store to read and teach."""
        return PROCESS_EXPORT_SIZES if self.sizes is None else self.sizes


class QueryApiMemory:
    """Projects whose plan has no Query API, per process: after one refusal, stop knocking."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lacking: set[tuple[str, str]] = set()

    def lacks(self, key: tuple[str, str]) -> bool:
        """Whether the project's Query API was found missing in this process."""
        with self._lock:
            return key in self._lacking

    def mark(self, key: tuple[str, str]) -> None:
        """Remember that the project has no Query API."""
        with self._lock:
            self._lacking.add(key)

    def clear(self) -> None:
        """Forget everything (tests start each stand-in project afresh)."""
        with self._lock:
            self._lacking.clear()


PROCESS_QUERY_API_MEMORY = QueryApiMemory()


@runtime_checkable
class ExportSource(EventSource, Protocol):
    """An EventSource that can also stream the export and ask for server-side aggregation."""

    @property
    def project_key(self) -> tuple[str, str]: ...

    def export_records(
        self,
        new_sink: Callable[[], S],
        *,
        from_date: date,
        to_date: date,
        decoder: LineDecoder,
        events: Sequence[str] | None = ...,
        budget: LineBudget | None = ...,
    ) -> S: ...

    def export_accepts_credentials(self, day: date) -> bool: ...

    def unique_buckets(
        self, events: Sequence[str], *, unit: str, from_date: date, to_date: date
    ) -> dict[str, dict[str, int]]: ...

    def insights_report(self, bookmark_id: str) -> InsightsAnswer: ...


@dataclass(frozen=True, slots=True)
class FigurePlan:
    """Export-derived metric figures (filters, sums, breakdowns): what to feed and from where.

    `make` builds a fresh tally over the request's windows; `events` are the events it reads
    (None: every event, so the export cannot be narrowed).
    """

    make: Callable[[], FigureTally]
    events: frozenset[str] | None = frozenset()


@dataclass(frozen=True, slots=True)
class GatherRequest:
    """What one report needs from Mixpanel, whatever the source."""

    period: ReportPeriod
    timezone: ZoneInfo
    groups: Mapping[str, frozenset[str] | None]  # unique metrics: key -> events (None = any)
    named_events: tuple[str, ...]
    now: datetime
    active_user_events: tuple[str, ...] | None = None
    # False: a project created before 2023, whose export dates are project-timezone days and
    # whose `time` is local wall-clock seconds (MIXPANEL_EXPORT_TIMEZONE=project).
    export_in_utc: bool = True
    # The windows unique users are counted over: the period's, plus trend days and spans and
    # month-to-date windows (None: the period's own).
    windows: tuple[Window, ...] | None = None
    # Filtered counts, sums, averages and breakdowns, fed from the same export stream.
    figures: FigurePlan | None = None

    @property
    def tally_windows(self) -> tuple[Window, ...]:
        """Every window the export's tallies count over."""
        return self.windows or self.period.windows

    @property
    def export_span(self) -> Window:
        """The local days the export must cover: the period's span and every tally window."""
        windows = (self.period.span, *self.tally_windows)
        return Window(min(w.start for w in windows), max(w.end for w in windows))

    def accumulators(self) -> list[DayIndexedFigures]:
        """Fresh accumulators for one day range (the reducer numbers days from the span)."""
        if self.figures is None:
            return []
        windows = self.tally_windows
        first = min(w.start for w in windows)
        days = (max(w.end for w in windows) - first).days + 1
        return [DayIndexedFigures(self.figures.make(), first, days)]

    @property
    def qualifying(self) -> Callable[[str], bool]:
        """Which events make a user active."""
        chosen = frozenset(self.active_user_events or ())
        return chosen.__contains__ if chosen else (lambda e: not is_automatic(e))

    def export_days(self) -> list[date]:
        """The export's dates for the span: widened by a day each side when they are UTC."""
        span = self.export_span
        if self.export_in_utc:  # the export's dates are UTC: widen, then filter by local day
            first = span.start - timedelta(days=1)
            last = min(span.end + timedelta(days=1), self.now.astimezone(ZoneInfo("UTC")).date())
        else:
            first, last = span.start, span.end
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]


Figured = Figures | Unavailable | None  # export-derived figures; None: no metric needs them


class _NoQueryApi(Exception):
    """A Query API endpoint refused the plan (not a MixpanelError: _attempt lets it through)."""


def gather_facts(
    request: GatherRequest,
    mixpanel: EventSource,
    policy: SourcePolicy = SourcePolicy(),
    memory: QueryApiMemory = PROCESS_QUERY_API_MEMORY,
) -> Facts:
    """The facts for one report from the source `policy` picks (see the module docstring)."""
    if not isinstance(mixpanel, ExportSource):  # a plain EventSource (a fake): query only
        if policy.mode is SourceMode.EXPORT:
            raise TypeError("export mode needs a source that can stream the export")
        return gather_query(request, mixpanel, policy, detect=False)
    key = mixpanel.project_key
    mode = policy.mode
    if mode is SourceMode.AUTO and memory.lacks(key):
        mode = SourceMode.EXPORT
    if mode is SourceMode.EXPORT:
        return gather_export(request, mixpanel, policy, query_api=not memory.lacks(key))
    try:
        return gather_query(request, mixpanel, policy, detect=mode is SourceMode.AUTO)
    except _NoQueryApi:
        log.warning("this Mixpanel plan has no Query API: reading the raw export instead")
        memory.mark(key)
        return gather_export(request, mixpanel, policy, query_api=False)


# -- query ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueryPlan:
    """A query-source report's requests, decided from the request alone before any is made.

    1. /events/names: the project's events of the last 31 days. `names_cover_span`: they
       include every event of the span, so the export may be narrowed and need no probe.
    2. /events over `span` for the `named` events and every listed name: every total, and
       the export's size (no probe request) when the names answered.
    3. When `need_export`, the raw export over the request's tally windows, narrowed to
       `export_filter` (None: every event), probed first when `probe`: unique users for the
       `groups`, the export-derived `figures`, and every event the names list cannot reveal.
    4. /events again only for events the export saw that the totals lack and a whole export
       did not count itself (or, when the names failed, for the totals the names would have
       listed).
    """

    span: Window
    named: frozenset[str]
    names_cover_span: bool
    need_export: bool
    export_filter: tuple[str, ...] | None
    groups: bool  # some metric counts unique users
    figures: bool  # some metric needs export-derived figures (filters, sums, breakdowns)

    @property
    def probe(self) -> bool:
        """Whether the export is sized by reading its last day first (no names to size it)."""
        return not self.names_cover_span

    def estimate(self, counts: Mapping[str, Mapping[date, int]]) -> int:
        """The export's event count over the span, from the /events totals of what it reads."""
        read = (
            counts
            if self.export_filter is None
            else {e: counts.get(e, {}) for e in self.export_filter}
        )
        return sum(sum(days.values()) for days in read.values())


def plan_query(request: GatherRequest) -> QueryPlan:
    """The requests a query-source report makes (QueryPlan); pure."""
    groups, figures, span = request.groups, request.figures, request.period.span
    today = request.now.astimezone(request.timezone).date()
    names_cover_span = span.start >= today - timedelta(days=NAMES_WINDOW_DAYS - 2)
    export_filter: tuple[str, ...] | None = None
    if (
        names_cover_span
        and (all(members is not None for members in groups.values()) or request.active_user_events)
        and (figures is None or figures.events is not None)
    ):
        narrowed = {e for members in groups.values() if members for e in members}
        if figures is not None and figures.events is not None:
            narrowed |= figures.events
        export_filter = tuple(sorted(narrowed | set(request.active_user_events or ())))
    return QueryPlan(
        span=span,
        named=frozenset(request.named_events),
        names_cover_span=names_cover_span,
        need_export=bool(groups) or figures is not None or not names_cover_span,
        export_filter=export_filter,
        groups=bool(groups),
        figures=figures is not None,
    )


@dataclass(frozen=True, slots=True)
class ExportAnswer:
    """What the export gave a query-source report."""

    uniques: UniqueCounts | MixpanelError = field(
        default_factory=lambda: UniqueCounts({}, frozenset(), 0)
    )
    figures: Figured = None
    server_side: bool = False  # too large: Mixpanel's own aggregation answered the uniques
    whole_counts: Mapping[str, Mapping[date, int]] | None = None  # None: narrowed or not read


def gather_query(
    request: GatherRequest,
    mixpanel: EventSource,
    policy: SourcePolicy,
    *,
    detect: bool,
    sizes: ExportSizes | None = None,
) -> Facts:
    """Names, then every total in one /events call, then the export (plan_query); the answers
    become facts in query_facts.

    With `detect`, a Query API refusal of the plan raises _NoQueryApi.
    """
    plan = plan_query(request)
    sizes = policy.export_sizes if sizes is None else sizes
    ask = _asker(request, mixpanel, detect)
    names = ask(lambda: frozenset(mixpanel.event_names()))
    if isinstance(names, MixpanelAuthError):
        raise names  # wrong credentials: nothing else would be answered either
    listed = frozenset[str]() if isinstance(names, MixpanelError) else names
    counts: dict[str, dict[date, int]] | MixpanelError | None = None
    export = ExportAnswer()
    exported = not plan.need_export
    if not isinstance(names, MixpanelError):
        everything = sorted(plan.named | names)
        per_day = (
            sizes.per_day(mixpanel.project_key)
            if isinstance(mixpanel, ExportSource) and plan.export_filter is None
            else None
        )
        if plan.need_export and per_day is not None:
            # A warm instance knows the export's size: it need not wait for the totals.
            known = math.ceil(per_day * plan.span.days)
            with ThreadPoolExecutor(max_workers=1) as pool:
                job = pool.submit(_query_export, request, mixpanel, policy, plan, known, sizes)
                counts = ask(lambda: mixpanel.daily_counts(everything, plan.span))
                export = job.result()
            exported = True
        else:
            counts = ask(lambda: mixpanel.daily_counts(everything, plan.span))
    if not exported:
        estimate = plan.estimate(counts) if isinstance(counts, dict) else None
        export = _query_export(request, mixpanel, policy, plan, estimate, sizes)
    seen = frozenset() if isinstance(export.uniques, MixpanelError) else export.uniques.seen_events
    if counts is None:
        wanted = sorted(plan.named | seen | listed)
        counts = ask(lambda: mixpanel.daily_counts(wanted, plan.span))
    elif isinstance(counts, dict) and not seen <= counts.keys():
        extra = sorted(seen - counts.keys())
        from_export = _span_counts(export.whole_counts, extra, plan.span)
        if from_export is not None:  # the whole export counted them, as Mixpanel does
            counts = {**counts, **from_export}
        else:
            more = ask(lambda: mixpanel.daily_counts(extra, plan.span))
            counts = more if isinstance(more, MixpanelError) else {**counts, **more}
    return query_facts(plan, names, counts, export, fetched_at=request.now)


def query_facts(
    plan: QueryPlan,
    names: frozenset[str] | MixpanelError,
    counts: Mapping[str, Mapping[date, int]] | MixpanelError,
    export: ExportAnswer,
    *,
    fetched_at: datetime,
) -> Facts:
    """The facts from a query-source report's answers; pure.

    A part that failed becomes Unavailable (shown as such, never as 0); when nothing at all
    could be read, or the credentials are wrong, the error is raised instead.
    """
    uniques = export.uniques
    for part in (names, uniques, counts):
        if isinstance(part, MixpanelAuthError):
            raise part
    if isinstance(counts, MixpanelError) and (
        isinstance(uniques, MixpanelError) or not (plan.groups or plan.figures)
    ):
        raise counts  # nothing to report: a failure notice says so instead
    seen = frozenset() if isinstance(uniques, MixpanelError) else uniques.seen_events
    # Does the counts call know every event of the span? Either source can vouch for it.
    names_known = plan.names_cover_span and not isinstance(names, MixpanelError)
    export_known = (
        plan.need_export
        and not export.server_side
        and not isinstance(uniques, MixpanelError)
        and plan.export_filter is None
    )
    gap: Unavailable | None = None
    if not (names_known or export_known):
        failed = names if isinstance(names, MixpanelError) else uniques
        reason = str(failed) if isinstance(failed, MixpanelError) else "no source lists them"
        gap = Unavailable(f"the full list of events in this window is unknown ({reason})")
    known: frozenset[str] | Unavailable
    if gap is not None:
        known = gap  # do not call a metric event unknown on a partial list
    elif isinstance(names, MixpanelError):
        known = _unavailable(names)
    else:
        known = names | seen
    exported = plan.need_export and not export.server_side and (plan.groups or plan.figures)
    return Facts(
        counts=_unavailable(counts),
        uniques=_unavailable(uniques) if plan.groups else UniqueCounts({}, frozenset(), 0),
        event_names=known,
        fetched_at=fetched_at,
        all_events=gap,
        figures=export.figures,
        source="mixed" if exported else "query",
    )


def _asker(
    request: GatherRequest, mixpanel: EventSource, detect: bool
) -> Callable[[Callable[[], T]], T | MixpanelError]:
    """Runs one Query API request: its MixpanelError returned, not raised; with `detect`, a
    refusal of the plan (402, or 403 while the export takes the credentials) raises
    _NoQueryApi."""

    def ask(job: Callable[[], T]) -> T | MixpanelError:
        def query() -> T:
            try:
                return job()
            except MixpanelPlanError:
                if detect and isinstance(mixpanel, ExportSource):
                    raise _NoQueryApi from None
                raise
            except MixpanelAuthError as exc:
                if (
                    detect
                    and exc.status == 403
                    and isinstance(mixpanel, ExportSource)
                    and mixpanel.export_accepts_credentials(request.period.span.end)
                ):
                    raise _NoQueryApi from None
                raise

        return _attempt(query)

    return ask


def _query_export(
    request: GatherRequest,
    mixpanel: EventSource,
    policy: SourcePolicy,
    plan: QueryPlan,
    estimate: int | None,
    sizes: ExportSizes,
) -> ExportAnswer:
    """Unique users and figures from the export, or aggregation when it is too large."""
    events = None if plan.export_filter is None else list(plan.export_filter)
    figures = request.figures
    if not isinstance(mixpanel, ExportSource):  # a plain EventSource: its own export
        days = request.export_days()
        found = _attempt(
            lambda: mixpanel.unique_users(
                lambda: UniqueTally(
                    request.tally_windows,
                    request.groups,
                    timezone=request.timezone,
                    qualifying=request.qualifying,
                    figures=figures.make() if figures else None,
                    wall_clock=not request.export_in_utc,
                ),
                from_date=days[0],
                to_date=days[-1],
                events=events,
            )
        )
        if isinstance(found, MixpanelError):
            return ExportAnswer(found, _failed(found) if figures else None)
        figured = found.figures if figures and isinstance(found.figures, Figures) else None
        return ExportAnswer(_with_method(found), figured)
    try:
        # Without totals to size it (the names list failed), probe first.
        tally = read_export(
            request,
            mixpanel,
            policy,
            events=events,
            estimate=estimate,
            probe=plan.probe,
            sizes=sizes,
        )
    except ExportTooLarge as exc:
        why = _too_large(exc, policy)
        aggregated = server_side_uniques(
            request.period.windows,
            request.groups,
            why=why,
            query=mixpanel,
            week_start=policy.week_start,
            insights=policy.insights_reports,
        )
        return ExportAnswer(aggregated, _figures_too_large(why) if figures else None, True)
    except MixpanelError as exc:
        log.warning("Mixpanel request failed: %s", exc)
        return ExportAnswer(exc, _failed(exc) if figures else None)
    whole = tally.counts if events is None else None
    return ExportAnswer(_with_method(tally.uniques), _figures_of(tally), False, whole)


# -- export -----------------------------------------------------------------------------------


def gather_export(
    request: GatherRequest, mixpanel: ExportSource, policy: SourcePolicy, *, query_api: bool
) -> Facts:
    """Every figure from the raw export, deduplicated; too large: aggregation or unavailable."""
    try:
        tally = read_export(request, mixpanel, policy, events=None, estimate=None, probe=True)
    except ExportTooLarge as exc:
        why = _too_large(exc, policy)
        reason = Unavailable(
            f"{why}; this plan has no Query API to count it: raise EXPORT_MAX_EVENTS"
            if not query_api
            else f"{why}; MIXPANEL_SOURCE=auto takes totals from the Query API"
        )
        uniques = server_side_uniques(
            request.period.windows,
            request.groups,
            why=why,
            query=mixpanel if query_api else None,
            week_start=policy.week_start,
            insights=policy.insights_reports,
        )
        return Facts(
            counts=reason,
            uniques=uniques,
            event_names=reason,
            fetched_at=request.now,
            all_events=reason,
            figures=_figures_too_large(why) if request.figures else None,
            source="query" if query_api and uniques.methods else "export",
        )
    seen = frozenset(e for e, days in tally.counts.items() if any(days.values()))
    counts = tally.counts
    for name in request.named_events:  # a metric event with no events: zeros, never missing
        if name not in counts:
            counts = {**counts, name: dict.fromkeys(request.period.span.dates(), 0)}
    return Facts(
        counts=counts,
        uniques=_with_method(tally.uniques, EXPORT_METHOD),
        event_names=seen,
        fetched_at=request.now,
        figures=_figures_of(tally),
        source="export",
    )


def read_export(
    request: GatherRequest,
    mixpanel: ExportSource,
    policy: SourcePolicy,
    *,
    events: Sequence[str] | None,
    estimate: int | None,
    probe: bool = False,
    sizes: ExportSizes | None = None,
) -> ExportTally:
    """The export over the request's span, reduced; never more than EXPORT_MAX_EVENTS lines.

    `estimate` is the span's event count when known (the /events totals); otherwise, with
    `probe`, the previous export's size (policy.export_sizes), or else the report's last day is
    read first, allowed only its share of the limit. Then the
    other days are fetched in up to `policy.export_parallel` concurrent ranges. Either way the
    stream is dropped as soon as it passes the limit.
    """
    days = request.export_days()
    sizes = policy.export_sizes if sizes is None else sizes
    limit = policy.export_max_events
    known = sizes.per_day(mixpanel.project_key) if probe and events is None else None
    if estimate is None and known is not None:
        estimate = math.ceil(known * request.period.span.days)
    if estimate is not None:
        estimate = math.ceil(estimate * len(days) / request.period.span.days)
        if estimate > limit:
            raise ExportTooLarge(
                f"about {estimate:,} events",
                endpoint="/export",
            )
    keep = {p for acc in request.accumulators() for p in acc.wanted_properties}
    decoder = LineDecoder(sorted(keep))
    budget = LineBudget(limit)

    def fresh() -> ExportReducer:
        return ExportReducer(
            request.tally_windows,
            request.groups,
            timezone=request.timezone,
            qualifying=request.qualifying,
            accumulators=request.accumulators(),
            wall_clock=not request.export_in_utc,
        )

    def fetch(first: date, last: date, allowance: LineBudget) -> ExportReducer:
        reducer = mixpanel.export_records(
            fresh, from_date=first, to_date=last, decoder=decoder, events=events, budget=allowance
        )
        reducer.finish_range()
        return reducer

    done: list[ExportReducer] = []
    todo = days
    if estimate is None and probe and len(days) > 1:
        # The probe: the report's last day (with the widened UTC day after it, which alone
        # is partial), within its share of the limit; the estimate scales it to every day.
        tail = [d for d in days if d >= min(request.period.span.end, days[-1])]
        # Today (in the export's days: UTC, or local before 2023) is partial: only whole days
        # set the share and the estimate.
        zone = ZoneInfo("UTC") if request.export_in_utc else request.timezone
        whole = sum(1 for d in tail if d < request.now.astimezone(zone).date()) or 1
        share = max(limit * whole // len(days), 1)
        try:
            first = fetch(tail[0], tail[-1], LineBudget(share))
        except ExportTooLarge:
            if events is None:
                sizes.put(mixpanel.project_key, share / whole)  # at least this many a day
            raise ExportTooLarge(
                f"more than {share:,} events on its last day alone",
                endpoint="/export",
            ) from None
        budget.take(first.lines)
        done.append(first)
        todo = days[: len(days) - len(tail)]
        estimate = math.ceil(first.lines * len(days) / whole)
    if todo:
        wanted = 1 if estimate is None else math.ceil(estimate / policy.range_events)
        parts = max(1, min(policy.export_max_ranges, len(todo), wanted))
        ranges = _split(todo, parts)
        # Dedup keys live while their range is read: fewer at once, less memory.
        with ThreadPoolExecutor(max_workers=min(len(ranges), policy.export_parallel)) as pool:
            done.extend(pool.map(lambda r: fetch(r[0], r[-1], budget), ranges))
    merged = done[0]
    for other in done[1:]:
        merged.merge(other)
    if events is None:
        sizes.put(mixpanel.project_key, merged.lines / max(len(days) - 1, 1))
    return merged.result(request.named_events)


def _span_counts(
    exported: Mapping[str, Mapping[date, int]] | None, events: Sequence[str], span: Window
) -> dict[str, dict[date, int]] | None:
    """The daily totals of `events` over `span` from the whole export, or None when it did
    not count every one of them on every day of the span."""
    if exported is None:
        return None
    days = list(span.dates())
    found: dict[str, dict[date, int]] = {}
    for event in events:
        per_day = exported.get(event)
        if per_day is None or any(day not in per_day for day in days):
            return None
        found[event] = {day: per_day[day] for day in days}
    return found


def _split(days: list[date], parts: int) -> list[list[date]]:
    """`days` in `parts` contiguous runs of nearly equal length."""
    size, extra = divmod(len(days), parts)
    runs, start = [], 0
    for i in range(parts):
        end = start + size + (1 if i < extra else 0)
        runs.append(days[start:end])
        start = end
    return [r for r in runs if r]


def _too_large(exc: ExportTooLarge, policy: SourcePolicy) -> str:
    detail = str(exc).split(": ", 1)[-1]
    return f"the export is over EXPORT_MAX_EVENTS={policy.export_max_events:,} ({detail})"


def _figures_of(tally: ExportTally) -> Figured:
    """The figures the export's accumulator counted (None when no metric asked for any)."""
    for accumulator in tally.accumulators:
        if isinstance(accumulator, DayIndexedFigures):
            return accumulator.result()
    return None


def _figures_too_large(why: str) -> Unavailable:
    return Unavailable(
        f"{why}; filtered, summed and breakdown figures are counted from the raw export only: "
        "raise EXPORT_MAX_EVENTS or narrow the report"
    )


def _with_method(uniques: UniqueCounts, method: str = EXPORT_METHOD) -> UniqueCounts:
    names = {name for per_window in uniques.users.values() for name in per_window}
    return UniqueCounts(
        uniques.users,
        uniques.seen_events,
        uniques.lines,
        uniques.missing,
        {**dict.fromkeys(names, method), **uniques.methods},
    )


def _attempt(job: Callable[[], T]) -> T | MixpanelError:
    try:
        return job()
    except MixpanelError as exc:
        log.warning("Mixpanel request failed: %s", exc)
        return exc


def _failed(error: MixpanelError) -> Unavailable:
    """Why the figures a failed request feeds are unavailable, in one line."""
    if isinstance(error, MixpanelBudgetSpent):
        return Unavailable("this hour's shared budget of Mixpanel calls is spent; try again later")
    if isinstance(error, MixpanelRateLimited):
        return Unavailable("Mixpanel's query limit was reached (60 per hour); try again later")
    return Unavailable(str(error))


def _unavailable(part: T | MixpanelError) -> T | Unavailable:
    return _failed(part) if isinstance(part, MixpanelError) else part


__all__ = [
    "DEFAULT_EXPORT_MAX_EVENTS",
    "ExportAnswer",
    "ExportSource",
    "GatherRequest",
    "QueryApiMemory",
    "QueryPlan",
    "SourceMode",
    "SourcePolicy",
    "gather_facts",
    "plan_query",
    "query_facts",
    "read_export",
]
