"""Decide which alerts fire on the closed hours before `now`: pure, from hourly counts alone."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from shared.alerts.hours import LocalHour, closed_hours, hours_of_day, last_closed
from shared.alerts.rules import (
    AlertRule,
    AlertsConfig,
    Condition,
    Direction,
    Granularity,
    WatchSettings,
)
from shared.report.metrics import MetricSpec
from shared.report.noise import band, dispersion, far_below
from shared.sources.uniques import is_automatic

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

    The one place alerts compute a metric, so filtered/summed/ratio metrics plug in here.
    """
    return sum(counts.get(event, {}).get(b, 0) for event in spec.events for b in buckets)


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
) -> Evaluation:
    """Judge the tracking watch over `watched` and every configured rule at `now`."""
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
        result = judge_rule(rule, metrics[rule.metric], counts, now=now, tz=tz)
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
) -> Finding | bool:
    """A Finding when the rule fires on its last closed slot; True when fine; False if unknown."""
    if rule.granularity is Granularity.HOUR:
        slot = last_closed(now, tz)
        buckets = [slot]
        label = slot.label()
        past = [[slot.weeks_back(k)] for k in range(1, rule.weeks + 1)]
    else:
        day = now.astimezone(tz).date() - timedelta(days=1)
        buckets = hours_of_day(day, tz)
        label = f"{day:%a %d %b}"
        past = [hours_of_day(day - timedelta(weeks=k), tz) for k in range(1, rule.weeks + 1)]
    if any(b not in counts.get(e, {}) for e in spec.events for b in buckets):
        return False  # the answer lacks the slot: unknown, not zero
    value = metric_value(spec, counts, buckets)
    history = [
        metric_value(spec, counts, hours)
        for hours in past
        if all(h in counts.get(e, {}) for e in spec.events for h in hours)
    ]
    baseline = sum(history) / len(history) if history else None
    if max(value, baseline or 0) < rule.min_volume:
        return True
    unit = "hour" if rule.granularity is Granularity.HOUR else "day"
    fired: str | None = None
    expected: float | None = baseline
    if rule.condition is Condition.ABOVE and rule.value is not None and value > rule.value:
        fired = f"{value:,} in the {unit} of {label}, above the threshold of {rule.value:,g}"
        expected = rule.value
    elif rule.condition is Condition.BELOW and rule.value is not None and value < rule.value:
        fired = f"{value:,} in the {unit} of {label}, below the threshold of {rule.value:,g}"
        expected = rule.value
    elif rule.condition is Condition.CHANGE:
        if baseline is None:
            return False
        fired = _changed(rule, value, baseline, unit, label)
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
                f"{value:,} in the {unit} of {label}, outside the usual "
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


def _changed(rule: AlertRule, value: int, baseline: float, unit: str, label: str) -> str | None:
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
    return (
        f"{value:,} in the {unit} of {label}, {moved} {shown} from its usual "
        f"{baseline:,.1f} (change rule: {rule.change_pct or 0:g}% and {rule.change_abs or 0:g})"
    )
