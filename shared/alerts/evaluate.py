"""Decide which alerts fire on the closed hours before `now`: pure, from hourly counts and the
export-derived figures of the other metric kinds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from shared.alerts.derived import DerivedFigures, Reading, Slot, needs_export
from shared.alerts.rules import (
    AlertRule,
    AlertsConfig,
    Condition,
    Direction,
    Granularity,
    WatchSettings,
)
from shared.report.facts import is_automatic
from shared.report.metrics import MetricSpec
from shared.report.noise import band, dispersion, far_below
from shared.report.units import COUNT, format_value
from shared.schedule.hours import LocalHour, closed_hours, hours_of_day, last_closed

HourlyCounts = Mapping[str, Mapping[LocalHour, int]]
MIN_HISTORY_WEEKS = 2  # fewer past weeks than this and there is nothing to learn from


@dataclass(frozen=True, slots=True)
class Finding:
    """A rule that fires now: what it watches, since when, and expected against seen."""

    key: str  # the rule's identity in the ledger, e.g. "watch:Receipt Uploaded"
    title: str  # what broke, in a few words
    since: str  # when it started, in the project's local time
    expected: float | None
    seen: float
    detail: str  # one line: the numbers and the rule behind them


@dataclass(frozen=True, slots=True)
class Evaluation:
    """One check's verdicts: `firing` by key, and `ok` for every key judged and not firing.

    A key in neither (quiet hours, too little history) keeps whatever state it had.
    """

    firing: Mapping[str, Finding]
    ok: frozenset[str]
    intervals: Mapping[str, float]  # min hours between posts, by key


def metric_value(spec: MetricSpec, counts: HourlyCounts, buckets: Sequence[LocalHour]) -> int:
    """A total metric over `buckets`: the sum of its events' hourly counts.

    Filtered, unique, summed, averaged and formula metrics are read from the raw export
    instead (shared/alerts/derived.py); `metric_reading` picks the source.
    """
    return sum(counts.get(event, {}).get(b, 0) for event in spec.events for b in buckets)


def metric_reading(
    spec: MetricSpec,
    slot: Slot,
    counts: HourlyCounts,
    *,
    tz: ZoneInfo,
    derived: DerivedFigures | None,
    specs: Mapping[str, MetricSpec],
) -> Reading | None:
    """The metric's exact (value, volume) in one closed hour or day; None when unknown.

    Plain totals come from the hourly counts (a bucket the answer lacks is unknown, never
    zero); every other kind from the export's figures (None when they were not read).
    """
    if needs_export(spec):
        return None if derived is None else derived.reading(spec, slot, specs)
    buckets = [slot] if isinstance(slot, LocalHour) else hours_of_day(slot, tz)
    if any(b not in counts.get(e, {}) for e in spec.events for b in buckets):
        return None
    value = metric_value(spec, counts, buckets)
    return float(value), float(value)


def watched_events(watch: WatchSettings, names: Sequence[str]) -> list[str]:
    """The events the tracking watch covers: the chosen ones, else every non-automatic one."""
    if not watch.enabled:
        return []
    if watch.events is not None:
        return list(watch.events)
    return sorted(n for n in names if not is_automatic(n))


def evaluate(
    config: AlertsConfig,
    metrics: Mapping[str, MetricSpec],
    counts: HourlyCounts,
    *,
    watched: Sequence[str],
    now: datetime,
    tz: ZoneInfo,
    derived: DerivedFigures | None = None,
) -> Evaluation:
    """Judge the tracking watch over `watched` and every configured rule at `now`.

    `derived` holds the export-derived metrics' figures (None: those rules stay unjudged).
    """
    firing: dict[str, Finding] = {}
    ok: set[str] = set()
    intervals: dict[str, float] = {}
    watch = config.watch
    window = closed_hours(now, tz, watch.lookback_hours)
    for event in watched:
        key = f"watch:{event}"
        intervals[key] = watch.min_interval_hours
        verdict = watch_event(event, counts.get(event, {}), window, watch, tz)
        if isinstance(verdict, Finding):
            firing[key] = verdict
        elif verdict:
            ok.add(key)
    local_hour = now.astimezone(tz).hour
    for rule in config.rules:
        intervals[rule.key] = rule.min_interval_hours
        if rule.quiet_hours and rule.quiet_hours.contains(local_hour):
            continue
        result = judge_rule(
            rule, metrics[rule.metric], counts, now=now, tz=tz, derived=derived, specs=metrics
        )
        if isinstance(result, Finding):
            firing[rule.key] = result
        elif result:
            ok.add(rule.key)
    return Evaluation(firing, frozenset(ok), intervals)


def watch_event(
    event: str,
    counts: Mapping[LocalHour, int],
    window: Sequence[LocalHour],
    watch: WatchSettings,
    tz: ZoneInfo,
) -> Finding | bool:
    """A Finding when `event` went silent or far below its history; True when fine.

    False when it cannot be judged (not steady, or too little history): no state changes.
    "Low" hours are those under drop_ratio of their expected count; the trailing run of low
    hours fires once its total is that low only by a chance of alpha (over-dispersed Poisson).
    """
    last = window[-1]
    if not _steady(counts, last.day, watch):
        return False
    phi = dispersion(
        [
            [counts[p] for k in range(1, watch.weeks + 1) if (p := h.weeks_back(k)) in counts]
            for h in hours_of_day(last.day, tz)
        ]
    )
    seen_total, expected_total, since = 0, 0.0, None
    for bucket in reversed(window):
        expected = _expected(counts, bucket, watch.weeks)
        if expected is None or bucket not in counts:
            break
        seen = counts[bucket]
        if seen > watch.drop_ratio * expected:
            break  # not low: the run of low hours ends here
        seen_total += seen
        expected_total += expected
        since = bucket
    if since is None:
        return True
    if not far_below(
        seen_total, expected_total, ratio=watch.drop_ratio, alpha=watch.alpha, phi=phi
    ):
        return True
    what = "no events" if seen_total == 0 else f"far below its usual volume ({seen_total:,})"
    return Finding(
        key=f"watch:{event}",
        title=f"{event}: {what} since {since.label()}",
        since=since.label(),
        expected=expected_total,
        seen=seen_total,
        detail=(
            f"expected about {expected_total:,.0f} from the same weekday and hour of the last "
            f"{watch.weeks} weeks, seen {seen_total:,} from {since.label()} to "
            f"{last.hour:02d}:59"
        ),
    )


def _expected(counts: Mapping[LocalHour, int], bucket: LocalHour, weeks: int) -> float | None:
    """The mean of the same weekday and hour over past weeks (None with too little history)."""
    past = [counts[p] for k in range(1, weeks + 1) if (p := bucket.weeks_back(k)) in counts]
    if len(past) < MIN_HISTORY_WEEKS:
        return None
    return sum(past) / len(past)


def _steady(counts: Mapping[LocalHour, int], day: date, watch: WatchSettings) -> bool:
    """Whether the event had at least steady_min_daily events on each past same weekday."""
    days = [day - timedelta(weeks=k) for k in range(1, watch.weeks + 1)]
    totals: dict[date, int] = dict.fromkeys(days, 0)
    present: set[date] = set()
    for bucket, count in counts.items():
        if bucket.day in totals:
            totals[bucket.day] += count
            present.add(bucket.day)
    if len(present) < MIN_HISTORY_WEEKS:
        return False
    return all(totals[d] >= watch.steady_min_daily for d in present)


def judge_rule(
    rule: AlertRule,
    spec: MetricSpec,
    counts: HourlyCounts,
    *,
    now: datetime,
    tz: ZoneInfo,
    derived: DerivedFigures | None = None,
    specs: Mapping[str, MetricSpec] | None = None,
) -> Finding | bool:
    """A Finding when the rule fires on its last closed slot; True when fine; False if unknown."""
    slot: Slot
    if rule.granularity is Granularity.HOUR:
        hour = last_closed(now, tz)
        slot, label = hour, hour.label()
        past: list[Slot] = [hour.weeks_back(k) for k in range(1, rule.weeks + 1)]
    else:
        day = now.astimezone(tz).date() - timedelta(days=1)
        slot, label = day, f"{day:%a %d %b}"
        past = [day - timedelta(weeks=k) for k in range(1, rule.weeks + 1)]
    by_key = specs if specs is not None else {spec.key: spec}

    def read(at: Slot) -> Reading | None:
        return metric_reading(spec, at, counts, tz=tz, derived=derived, specs=by_key)

    now_reading = read(slot)
    if now_reading is None:
        return False  # the answer lacks the slot (or the figure is undefined): unknown, not zero
    value, volume = now_reading
    readings = [r for at in past if (r := read(at)) is not None]
    history = [v for v, _ in readings]
    baseline = sum(history) / len(history) if history else None
    usual_volume = sum(n for _, n in readings) / len(readings) if readings else 0.0
    if max(volume, usual_volume) < rule.min_volume:
        return True
    unit = "hour" if rule.granularity is Granularity.HOUR else "day"
    shown = _shown(value, spec)
    fired: str | None = None
    expected: float | None = baseline
    if rule.condition is Condition.ABOVE and rule.value is not None and value > rule.value:
        fired = f"{shown} in the {unit} of {label}, above the threshold of {rule.value:,g}"
        expected = rule.value
    elif rule.condition is Condition.BELOW and rule.value is not None and value < rule.value:
        fired = f"{shown} in the {unit} of {label}, below the threshold of {rule.value:,g}"
        expected = rule.value
    elif rule.condition is Condition.CHANGE:
        if baseline is None:
            return False
        fired = _changed(rule, spec, value, baseline, unit, label)
    elif rule.condition is Condition.ANOMALY:
        if len(history) < MIN_HISTORY_WEEKS:
            return False
        learned = band(history, z=rule.sensitivity)
        expected = learned.center
        outside = (value > learned.high and rule.direction is not Direction.DOWN) or (
            value < learned.low and rule.direction is not Direction.UP
        )
        if outside:
            fired = (
                f"{shown} in the {unit} of {label}, outside the usual "
                f"{learned.low:,.0f}-{learned.high:,.0f} (last {len(history)} same "
                f"{'weekdays and hours' if unit == 'hour' else 'weekdays'})"
            )
    if fired is None:
        return True
    return Finding(
        key=rule.key,
        title=f"{spec.label}: alert {rule.name!r}",
        since=label,
        expected=expected,
        seen=value,
        detail=fired,
    )


def _shown(value: float, spec: MetricSpec) -> str:
    """A value in the metric's unit ('1,234', '£1,234.50', '62.5%')."""
    return format_value(value, spec.unit)


def _changed(
    rule: AlertRule, spec: MetricSpec, value: float, baseline: float, unit: str, label: str
) -> str | None:
    delta = value - baseline
    if rule.direction is Direction.UP and delta <= 0:
        return None
    if rule.direction is Direction.DOWN and delta >= 0:
        return None
    pct = abs(delta) / baseline * 100 if baseline else float("inf")
    if rule.change_pct is not None and pct < rule.change_pct:
        return None
    if rule.change_abs is not None and abs(delta) < rule.change_abs:
        return None
    moved = "up" if delta > 0 else "down"
    shown = "new" if not baseline else f"{pct:.0f}%"
    usual = f"{baseline:,.1f}" if spec.unit == COUNT else _shown(baseline, spec)
    if spec.unit.is_rate:
        shown = f"{abs(delta):,.{spec.unit.decimals}f} pts"
    return (
        f"{_shown(value, spec)} in the {unit} of {label}, {moved} {shown} from its usual "
        f"{usual} (change rule: {rule.change_pct or 0:g}% and {rule.change_abs or 0:g})"
    )
