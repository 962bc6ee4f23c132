"""The report: what the numbers are and what they mean, built from Mixpanel facts; pure, no I/O."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from shared.report.facts import DailyCounts, Facts, Unavailable, is_automatic
from shared.report.figures import MAX_FIGURE, Figures
from shared.report.formulas import FormulaOverflow, evaluate
from shared.report.metrics import Measure, MetricsConfig, MetricSpec, Thresholds
from shared.report.noise import beyond_chance, in_line
from shared.report.trends import Trend, build_trend
from shared.report.units import UnitKind, format_points, format_value
from shared.schedule.periods import Comparison, PeriodKind, ReportPeriod, Window, month_to_date

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


Number = int | float


@dataclass(frozen=True, slots=True)
class Undefined:
    """A figure that has no value by definition ('n/a'): a ratio over 0, an average of nothing."""

    reason: str


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
    baseline: Number | None
    verdict: Verdict
    ratio: float | None = None
    good: bool | None = None
    points: float | None = None  # a rate's change in percentage points


@dataclass(frozen=True, slots=True)
class BreakdownRow:
    """One value of a breakdown property ('other' for the rest) and its change."""

    label: str
    value: Number | None
    change: Change | None


@dataclass(frozen=True, slots=True)
class MonthToDate:
    """This month so far against the same days of last month."""

    value: Number | None
    change: Change


@dataclass(frozen=True, slots=True)
class MetricResult:
    """One metric's value over the window and its changes against each baseline."""

    spec: MetricSpec
    value: Number | None
    changes: tuple[Change, ...]
    unavailable: str | None = None
    undefined: str | None = None  # why the value reads "n/a" (then `value` is None)
    breakdown: tuple[BreakdownRow, ...] = ()
    month_to_date: MonthToDate | None = None
    trend: Trend | None = None  # per day (or span) over the window and the reference window
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
    title: str = ""  # a named report's title ('Growth'); empty for the single default report
    source: str = "query"  # where the numbers came from: query, export or mixed

    @property
    def unavailable(self) -> tuple[str, ...]:
        """One line per figure that could not be fetched."""
        lines = [f"{m.spec.label}: {m.unavailable}" for m in self.metrics if m.unavailable]
        return tuple(lines)


def judge(
    value: Number,
    baseline: Number,
    thresholds: Thresholds,
    *,
    higher_is_better: bool = True,
    counted: bool = True,
) -> tuple[Verdict, float | None, bool | None]:
    """Verdict, relative change and whether it is good news, for `value` against `baseline`.

    `counted`: the figure is a count, so a change smaller than min_abs_change is noise.
    """
    if baseline == 0:
        if value == 0:
            return Verdict.IN_LINE, None, None
        return Verdict.NEW, None, higher_is_better
    ratio = (value - baseline) / baseline
    if value == 0 and (baseline >= thresholds.min_abs_change or not counted):
        return Verdict.DROPPED_TO_ZERO, ratio, not higher_is_better
    if counted:
        # One noise model (shared/report/noise.py): small counts also read "in line" within chance.
        quiet = in_line(
            int(value),
            int(baseline),
            band=thresholds.in_line_band,
            min_abs_change=thresholds.min_abs_change,
        )
    else:  # sums, averages: no count noise to allow for, the percentage band alone
        quiet = abs(ratio) <= thresholds.in_line_band
    if quiet:
        return Verdict.IN_LINE, ratio, None
    up = value > baseline
    return (Verdict.UP if up else Verdict.DOWN), ratio, up == higher_is_better


def window_total(counts: DailyCounts, event: str, window: Window) -> int:
    """The event's total over the window: the sum of Mixpanel's local-day buckets."""
    days = counts.get(event, {})
    return sum(days.get(d, 0) for d in window.dates())


def judge_rate(
    value: float, baseline: float, thresholds: Thresholds, *, higher_is_better: bool = True
) -> tuple[Verdict, float, bool | None]:
    """Verdict, change in percentage points and good news, for two percentages."""
    points = value - baseline
    if abs(points) <= thresholds.in_line_points:
        return Verdict.IN_LINE, points, None
    up = points > 0
    return (Verdict.UP if up else Verdict.DOWN), points, up == higher_is_better


def compare(
    spec: MetricSpec, label: str, window: Window, value: Number, baseline: Number, th: Thresholds
) -> Change:
    """`value` against `baseline` as the metric's unit reads it (a rate in points)."""
    if spec.unit.kind is UnitKind.PERCENT:
        verdict, points, good = judge_rate(
            value, baseline, th, higher_is_better=spec.higher_is_better
        )
        ratio = None if baseline == 0 else (value - baseline) / baseline
        return Change(label, window, baseline, verdict, ratio, good, points)
    verdict, ratio, good = judge(
        value,
        baseline,
        th,
        higher_is_better=spec.higher_is_better,
        counted=spec.unit.kind is UnitKind.COUNT,
    )
    if ratio is not None and not math.isfinite(ratio):  # 1e15 against 1e-300: no percentage
        return Change(label, window, baseline, Verdict.UNAVAILABLE)
    return Change(label, window, baseline, verdict, ratio, good)


def _figure(spec: MetricSpec, window: Window, facts: Facts) -> Number | Unavailable | Undefined:
    if facts.figures is None:
        return Unavailable("the raw export was not read")
    if isinstance(facts.figures, Unavailable):
        return facts.figures
    figure = facts.figures.values[(spec.key, window)]
    if figure.too_large:
        return Unavailable(
            f"{spec.value_property} values beyond ±{MAX_FIGURE:,} (see data quality)"
        )
    if figure.value is None:
        return Undefined(f"no {spec.value_property} values to average")
    return figure.value


def _metric_value(
    spec: MetricSpec, window: Window, facts: Facts
) -> Number | Unavailable | Undefined:
    if spec.from_export:
        return _figure(spec, window, facts)
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
    def value_in(window: Window) -> Number | Unavailable | Undefined:
        uniques = facts.uniques
        untallied = not isinstance(uniques, Unavailable) and window not in uniques.users
        if spec.measure is Measure.UNIQUE and not spec.from_export and untallied:
            # a source that tallied no day windows: the trend is left out, never drawn as 0
            return Unavailable("no per-day unique users were counted")
        return _metric_value(spec, window, facts)

    result = _judged(spec, period, value_in, th)
    if spec.measure is Measure.UNIQUE and not isinstance(facts.uniques, Unavailable):
        result = replace(result, method=facts.uniques.methods.get(spec.key))
    if isinstance(facts.figures, Figures) and result.value is not None:
        result = replace(
            result,
            breakdown=_breakdown(spec, period, facts.figures, th),
            month_to_date=_month_to_date(spec, period, facts, th),
        )
    return result


def _judged(
    spec: MetricSpec,
    period: ReportPeriod,
    value_in: Callable[[Window], Number | Unavailable | Undefined],
    th: Thresholds,
) -> MetricResult:
    """The metric over the current window, judged against each comparison window."""
    value = value_in(period.current)
    if isinstance(value, Unavailable | Undefined):
        changes = tuple(
            Change(c.label, c.window, None, Verdict.UNAVAILABLE) for c in period.comparisons
        )
        if isinstance(value, Undefined):
            return MetricResult(spec, None, changes, undefined=value.reason)
        return MetricResult(spec, None, changes, unavailable=value.reason)
    changes_list = []
    for comparison in period.comparisons:
        baseline = value_in(comparison.window)
        if isinstance(baseline, Unavailable | Undefined):
            changes_list.append(
                Change(comparison.label, comparison.window, None, Verdict.UNAVAILABLE)
            )
            continue
        changes_list.append(compare(spec, comparison.label, comparison.window, value, baseline, th))
    trend = build_trend(period, lambda window: _trend_value(value_in(window)))
    return MetricResult(spec, value, tuple(changes_list), trend=trend)


def _trend_value(value: Number | Unavailable | Undefined) -> Number | None:
    """A trend point's figure; None leaves the whole trend out (never a 0 drawn for a gap)."""
    return None if isinstance(value, Unavailable | Undefined) else value


def _formula_metric(
    spec: MetricSpec, period: ReportPeriod, results: Mapping[str, MetricResult], th: Thresholds
) -> MetricResult:
    """A formula of other metrics' figures, window by window; 'n/a' on a division by zero."""
    formula = spec.formula
    if formula is None:
        raise ValueError(f"metric {spec.key!r} has no formula")
    windows = [period.current, *(c.window for c in period.comparisons)]
    inputs: dict[Window, dict[str, float | None]] = {w: {} for w in windows}
    missing: list[str] = []
    for key in formula.keys:
        used = results[key]
        if used.unavailable:
            missing.append(f"{used.spec.label} is unavailable ({used.unavailable})")
        inputs[period.current][key] = used.value
        for change in used.changes:
            inputs[change.window][key] = change.baseline
    scale = 100.0 if spec.unit.kind is UnitKind.PERCENT else 1.0

    def value_in(window: Window) -> Number | Unavailable | Undefined:
        if missing:
            return Unavailable("; ".join(missing))
        if window not in inputs:  # a trend day: a formula is judged on whole windows only
            return Unavailable("a formula has no per-day trend")
        try:
            value = evaluate(formula, inputs[window])
        except FormulaOverflow as too_large:
            return Unavailable(str(too_large))
        if value is None:
            return Undefined(f"n/a: {formula.text} divides by zero")
        if not abs(value * scale) <= MAX_FIGURE:  # also catches inf and NaN
            return Unavailable(f"{formula.text} is beyond ±{MAX_FIGURE:,}")
        return value * scale

    return _judged(spec, period, value_in, th)


def _breakdown(
    spec: MetricSpec, period: ReportPeriod, figures: Figures, th: Thresholds
) -> tuple[BreakdownRow, ...]:
    """The current window's top values of the breakdown property, each against the reference."""
    if spec.breakdown is None:
        return ()
    reference = period.comparisons[0] if period.comparisons else None
    before = dict(figures.values[(spec.key, reference.window)].breakdown) if reference else {}
    rows = []
    for label, value in figures.values[(spec.key, period.current)].breakdown:
        baseline = before.get(label, 0)
        change = None
        if reference is not None and value is not None and baseline is not None:
            change = compare(spec, reference.label, reference.window, value, baseline, th)
        rows.append(BreakdownRow(label, value, change))
    return tuple(rows)


def _month_to_date(
    spec: MetricSpec, period: ReportPeriod, facts: Facts, th: Thresholds
) -> MonthToDate | None:
    """For a daily report: the month so far against the same days of last month."""
    if not spec.month_to_date or period.kind is not PeriodKind.DAILY:
        return None
    now, before = month_to_date(period.current.end)
    value = _metric_value(spec, now.window, facts)
    baseline = _metric_value(spec, before.window, facts)
    if isinstance(value, Unavailable | Undefined) or isinstance(baseline, Unavailable | Undefined):
        return MonthToDate(None, Change(before.label, before.window, None, Verdict.UNAVAILABLE))
    return MonthToDate(value, compare(spec, before.label, before.window, value, baseline, th))


def _data_quality(config: MetricsConfig, period: ReportPeriod, facts: Facts) -> list[str]:
    """One line per sum or average that skipped values: how many, of how many, never as 0."""
    if not isinstance(facts.figures, Figures):
        return []
    lines = []
    for spec in config.metrics:
        if spec.value_property is None:
            continue
        beyond = [
            w.label() for w in period.windows if facts.figures.values[(spec.key, w)].too_large
        ]
        if beyond:
            lines.append(
                f"{spec.label}: {spec.value_property} has values (or a total) beyond "
                f"±{MAX_FIGURE:,} in {', '.join(dict.fromkeys(beyond))}, which no figure can "
                "show exactly; it reads unavailable there. Check what sends "
                f"{spec.value_property}"
            )
        figure = facts.figures.values[(spec.key, period.current)]
        if figure.skipped:
            events = " or ".join(spec.events)
            lines.append(
                f"{spec.label}: {figure.skipped:,} of {figure.matched + figure.skipped:,} "
                f"{events} events had no numeric {spec.value_property}; "
                "they were skipped, not counted as 0"
            )
    return lines


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
        if not beyond_chance(now, round(expected)):
            continue  # one noise model: a fall the digest calls "in line" is no warning either
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
    notable.sort(key=lambda mc: -abs(mc[1].ratio or (mc[1].points or 0.0) / 100))
    for metric, change in notable[:2]:
        direction = "rose" if change.verdict is Verdict.UP else "fell"
        unit = metric.spec.unit
        size = (
            format_points(change.points)
            if change.points is not None
            else f"{abs(change.ratio or 0):.0%}"
        )
        before, after = (format_value(v or 0, unit) for v in (change.baseline, metric.value))
        lines.append(
            f"{metric.spec.label} {direction} {size} {change.label} ({before} to {after})."
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
    title: str = "",
) -> Report:
    """The report for `period` from gathered `facts`: every figure exact or marked unavailable."""
    th = config.thresholds
    results = {
        spec.key: _metric(spec, period, facts, th)
        for spec in config.computed
        if spec.measure is not Measure.FORMULA
    }
    for spec in config.computed:
        if spec.measure is Measure.FORMULA:
            results[spec.key] = _formula_metric(spec, period, results, th)
    metrics = tuple(results[spec.key] for spec in config.metrics)
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
        warnings=warnings + tuple(_data_quality(config, period, facts)),
        insights=insights,
        notes=notes + extra,
        title=title,
        source=facts.source,
    )
