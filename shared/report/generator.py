"""The report: what the numbers are and what they mean, built from Mixpanel facts; pure, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from shared.report.metrics import Measure, MetricsConfig, MetricSpec, Thresholds
from shared.schedule.periods import Comparison, ReportPeriod, Window
from shared.sources.uniques import UniqueCounts, is_automatic

# Which Mixpanel endpoint answers which figure, and why (also in the README):
# - event totals (metrics with measure "total", top events, notable changes, warnings): ONE
#   Query API `/events?type=general&unit=day` call naming every event, over the span that holds
#   the window and its baselines. Mixpanel buckets it by local day in the project timezone and
#   dedupes it, so summing the days of a window gives exactly Mixpanel's own total.
# - unique users (active users and metrics with measure "unique"): ONE raw `/export` stream over
#   the same span, reduced to distinct `distinct_id`s per window. `/events?type=unique` cannot
#   answer this: its buckets are calendar units (summing daily uniques counts a user once per
#   day), it has no union across events, and week/month buckets only fit aligned windows.
# - the project's event names (top events over every event, did-you-mean checks):
#   `/events/names` (last 31 days) joined with every name the export saw in the span.


@dataclass(frozen=True, slots=True)
class Unavailable:
    """A figure Mixpanel could not give, and why in one line; never shown as zero."""

    reason: str


DailyCounts = Mapping[str, Mapping[date, int]]


@dataclass(frozen=True, slots=True)
class Facts:
    """What was gathered from Mixpanel for one report, each part possibly unavailable."""

    counts: DailyCounts | Unavailable
    uniques: UniqueCounts | Unavailable
    event_names: frozenset[str] | Unavailable
    fetched_at: datetime
    # Set when the counts may lack some of the window's events (only the metrics' own events
    # are certain): top events, movers and warnings are then withheld rather than wrong.
    all_events: Unavailable | None = None
    # Where the numbers came from: "query", "export" or "mixed" (shared/sources/README section).
    source: str = "query"


class Verdict(StrEnum):
    """How a value compares with its baseline."""

    UP = "up"
    DOWN = "down"
    IN_LINE = "in_line"
    NEW = "new"
    DROPPED_TO_ZERO = "dropped_to_zero"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True, slots=True)
class Change:
    """A value against one baseline window."""

    label: str
    window: Window
    baseline: int | None
    verdict: Verdict
    ratio: float | None = None
    good: bool | None = None


@dataclass(frozen=True, slots=True)
class MetricResult:
    """One metric's value over the window and its changes against each baseline."""

    spec: MetricSpec
    value: int | None
    changes: tuple[Change, ...]
    unavailable: str | None = None
    method: str | None = None  # how a unique figure was counted ("export", "/events unit=week")


@dataclass(frozen=True, slots=True)
class EventCount:
    """An event's total over the window and over the reference baseline."""

    name: str
    count: int
    baseline: int | None


@dataclass(frozen=True, slots=True)
class Mover:
    """An event whose total moved notably against the reference baseline."""

    name: str
    count: int
    baseline: int
    verdict: Verdict
    ratio: float | None


@dataclass(frozen=True, slots=True)
class Report:
    """Everything the Slack message, the preview and the JSON show; nothing more."""

    company: str
    period: ReportPeriod
    timezone: str
    fetched_at: datetime
    project_url: str
    metrics: tuple[MetricResult, ...]
    top_events: tuple[EventCount, ...] | None
    movers: tuple[Mover, ...]
    warnings: tuple[str, ...]
    insights: tuple[str, ...]
    notes: tuple[str, ...] = field(default=())
    source: str = "query"  # where the numbers came from: query, export or mixed

    @property
    def unavailable(self) -> tuple[str, ...]:
        """One line per figure that could not be fetched."""
        lines = [f"{m.spec.label}: {m.unavailable}" for m in self.metrics if m.unavailable]
        return tuple(lines)


def judge(
    value: int, baseline: int, thresholds: Thresholds, *, higher_is_better: bool = True
) -> tuple[Verdict, float | None, bool | None]:
    """Verdict, relative change and whether it is good news, for `value` against `baseline`."""
    if baseline == 0:
        if value == 0:
            return Verdict.IN_LINE, None, None
        return Verdict.NEW, None, higher_is_better
    ratio = (value - baseline) / baseline
    if value == 0 and baseline >= thresholds.min_abs_change:
        return Verdict.DROPPED_TO_ZERO, ratio, not higher_is_better
    if abs(ratio) <= thresholds.in_line_band or abs(value - baseline) < thresholds.min_abs_change:
        return Verdict.IN_LINE, ratio, None
    up = value > baseline
    return (Verdict.UP if up else Verdict.DOWN), ratio, up == higher_is_better


def window_total(counts: DailyCounts, event: str, window: Window) -> int:
    """The event's total over the window: the sum of Mixpanel's local-day buckets."""
    days = counts.get(event, {})
    return sum(days.get(d, 0) for d in window.dates())


def _metric_value(spec: MetricSpec, window: Window, facts: Facts) -> int | Unavailable:
    if spec.measure is Measure.TOTAL:
        if isinstance(facts.counts, Unavailable):
            return facts.counts
        return sum(window_total(facts.counts, e, window) for e in spec.events)
    if isinstance(facts.uniques, Unavailable):
        return facts.uniques
    reason = facts.uniques.missing.get((window, spec.key))
    if reason is not None:
        return Unavailable(reason)
    return facts.uniques.users[window][spec.key]


def _metric(spec: MetricSpec, period: ReportPeriod, facts: Facts, th: Thresholds) -> MetricResult:
    method = None
    if spec.measure is Measure.UNIQUE and not isinstance(facts.uniques, Unavailable):
        method = facts.uniques.methods.get(spec.key)
    value = _metric_value(spec, period.current, facts)
    if isinstance(value, Unavailable):
        changes = tuple(
            Change(c.label, c.window, None, Verdict.UNAVAILABLE) for c in period.comparisons
        )
        return MetricResult(spec, None, changes, unavailable=value.reason, method=method)
    changes_list = []
    for comparison in period.comparisons:
        baseline = _metric_value(spec, comparison.window, facts)
        if isinstance(baseline, Unavailable):
            changes_list.append(
                Change(comparison.label, comparison.window, None, Verdict.UNAVAILABLE)
            )
            continue
        verdict, ratio, good = judge(value, baseline, th, higher_is_better=spec.higher_is_better)
        changes_list.append(
            Change(comparison.label, comparison.window, baseline, verdict, ratio, good)
        )
    return MetricResult(spec, value, tuple(changes_list), method=method)


def _reported_events(counts: DailyCounts) -> list[str]:
    return sorted(e for e in counts if not is_automatic(e))


def _top_events(counts: DailyCounts, period: ReportPeriod, n: int) -> tuple[EventCount, ...]:
    reference = period.comparisons[0].window if period.comparisons else None
    totals = [
        (name, window_total(counts, name, period.current)) for name in _reported_events(counts)
    ]
    ranked = sorted((t for t in totals if t[1] > 0), key=lambda t: (-t[1], t[0]))[:n]
    return tuple(
        EventCount(name, total, window_total(counts, name, reference) if reference else None)
        for name, total in ranked
    )


def _movers(
    counts: DailyCounts, reference: Comparison, period: ReportPeriod, th: Thresholds
) -> tuple[Mover, ...]:
    ups: list[Mover] = []
    downs: list[Mover] = []
    for name in _reported_events(counts):
        now = window_total(counts, name, period.current)
        before = window_total(counts, name, reference.window)
        if max(now, before) < th.mover_min_volume:
            continue
        verdict, ratio, _ = judge(now, before, th)
        mover = Mover(name, now, before, verdict, ratio)
        if verdict in (Verdict.UP, Verdict.NEW):
            ups.append(mover)
        elif verdict in (Verdict.DOWN, Verdict.DROPPED_TO_ZERO):
            downs.append(mover)

    def size(m: Mover) -> tuple[float, int, str]:
        relative = float("inf") if m.ratio is None else abs(m.ratio)
        return (-relative, -abs(m.count - m.baseline), m.name)

    k = th.movers_per_direction
    return tuple(sorted(ups, key=size)[:k] + sorted(downs, key=size)[:k])


def _warnings(
    counts: DailyCounts, reference: Comparison, period: ReportPeriod, th: Thresholds
) -> tuple[str, ...]:
    lines = []
    for name in _reported_events(counts):
        days = counts.get(name, {})
        baseline_days = [days.get(d, 0) for d in reference.window.dates()]
        before = sum(baseline_days)
        steady = min(baseline_days) > 0 and before / len(baseline_days) >= th.steady_min_daily
        if not steady:
            continue
        now = window_total(counts, name, period.current)
        # Scale the baseline when the windows differ in length (monthly: 30 vs 31 days).
        expected = before * period.current.days / reference.window.days
        if now == 0:
            lines.append(
                f"{name}: no events this period after {before:,} {reference.label} "
                "- tracking may be broken"
            )
        elif now < expected * (1 - th.drop_warning):
            fall = 1 - now / expected
            lines.append(
                f"{name}: down {fall:.0%} ({before:,} to {now:,}) {reference.label} "
                "- tracking may be broken"
            )
    return tuple(lines)


def _insights(
    metrics: tuple[MetricResult, ...],
    top: tuple[EventCount, ...] | None,
    movers: tuple[Mover, ...],
    counts: DailyCounts | Unavailable,
    period: ReportPeriod,
) -> tuple[str, ...]:
    lines: list[str] = []
    notable = [
        (m, m.changes[0])
        for m in metrics
        if m.value is not None and m.changes and m.changes[0].verdict in (Verdict.UP, Verdict.DOWN)
    ]
    notable.sort(key=lambda mc: -abs(mc[1].ratio or 0.0))
    for metric, change in notable[:2]:
        direction = "rose" if change.verdict is Verdict.UP else "fell"
        lines.append(
            f"{metric.spec.label} {direction} {abs(change.ratio or 0):.0%} "
            f"{change.label} ({change.baseline:,} to {metric.value:,})."
        )
    in_line = [m for m in metrics if m.changes and m.changes[0].verdict is Verdict.IN_LINE]
    if in_line and len(in_line) == len([m for m in metrics if m.value is not None]):
        lines.append(f"Every metric is in line {period.comparisons[0].label}.")
    elif len(in_line) > 1:
        lines.append(
            f"{len(in_line)} of {len(metrics)} metrics are in line {period.comparisons[0].label}."
        )
    if top:
        lines.append(f"Most frequent event: {top[0].name} ({top[0].count:,} times).")
    new = [m for m in movers if m.verdict is Verdict.NEW]
    if new:
        lines.append(f"New this period: {new[0].name} ({new[0].count:,} times, none before).")
    if not isinstance(counts, Unavailable) and period.current.days > 1:
        per_day = {
            d: sum(days.get(d, 0) for name, days in counts.items() if not is_automatic(name))
            for d in period.current.dates()
        }
        busiest = max(per_day, key=lambda d: (per_day[d], -d.toordinal()))
        if per_day[busiest] > 0:
            lines.append(f"Busiest day: {busiest:%A %d %b} ({per_day[busiest]:,} events).")
    return tuple(lines)


def build_report(
    config: MetricsConfig,
    period: ReportPeriod,
    facts: Facts,
    *,
    company: str,
    timezone: str,
    project_url: str,
    notes: tuple[str, ...] = (),
) -> Report:
    """The report for `period` from gathered `facts`: every figure exact or marked unavailable."""
    th = config.thresholds
    metrics = tuple(_metric(spec, period, facts, th) for spec in config.metrics)
    reference = period.comparisons[0]
    withheld = facts.counts if isinstance(facts.counts, Unavailable) else facts.all_events
    if withheld is not None or isinstance(facts.counts, Unavailable):
        top: tuple[EventCount, ...] | None = None
        movers: tuple[Mover, ...] = ()
        warnings: tuple[str, ...] = ()
        reason = withheld.reason if withheld else ""
        extra: tuple[str, ...] = (f"Top events and notable changes: {reason}",)
    else:
        top = _top_events(facts.counts, period, th.top_events)
        movers = _movers(facts.counts, reference, period, th)
        warnings = _warnings(facts.counts, reference, period, th)
        extra = ()
    insights = _insights(metrics, top, movers, withheld or facts.counts, period)
    return Report(
        company=company,
        period=period,
        timezone=timezone,
        fetched_at=facts.fetched_at,
        project_url=project_url,
        metrics=metrics,
        top_events=top,
        movers=movers,
        warnings=warnings,
        insights=insights,
        notes=notes + extra,
        source=facts.source,
    )
