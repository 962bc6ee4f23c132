"""When a scheduled report is due: 9:00 local all year, every other week, monthly on the 1st,
quiet days; pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from shared.schedule.periods import PeriodKind, ReportPeriod, report_period

# The timers fire every 15 minutes in UTC (function.json): a fire is a report slot only if its
# intended time is within this much after the slot's local time.
SLOT_TOLERANCE = timedelta(minutes=15)
# How far back to look for a slot: longer than the bi-weekly cycle (monthly: than a month).
_LOOKBACK_DAYS = 15
_MONTHLY_LOOKBACK_DAYS = 31


@dataclass(frozen=True, slots=True)
class ScheduleRules:
    """The settings that say when each scheduled report posts."""

    timezone: ZoneInfo
    hour: int = 9
    daily_days: frozenset[int] = frozenset(range(7))
    skip_dates: frozenset[date] = frozenset()
    biweekly_anchor: date = date(2026, 1, 5)


@dataclass(frozen=True, slots=True)
class Run:
    """Post the report for `period`; `slot` is the local time it was due."""

    period: ReportPeriod
    slot: datetime
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Skip:
    """Do nothing this fire, and why."""

    reason: str


def is_report_day(kind: PeriodKind, day: date, rules: ScheduleRules) -> bool:
    """True when a `kind` report posts on local date `day`."""
    if kind is PeriodKind.DAILY:
        return day.weekday() in rules.daily_days and day not in rules.skip_dates
    if kind is PeriodKind.WEEKLY:
        return day.weekday() == 0
    if kind is PeriodKind.BIWEEKLY:
        # Counted from an anchor Monday, never ISO week parity (53-week years break parity).
        return day.weekday() == 0 and (day - rules.biweekly_anchor).days % 14 == 0
    if kind is PeriodKind.MONTHLY:  # on the 1st, covering the previous calendar month
        return day.day == 1
    raise ValueError(f"{kind} reports are not scheduled")


def slot_at(day: date, rules: ScheduleRules) -> datetime:
    """The instant (in UTC) a report posts on local `day` (the first one if the hour repeats)."""
    # In UTC: Python compares and subtracts datetimes sharing one tzinfo by wall clock,
    # ignoring fold, which would take the repeated autumn hour for the slot a second time.
    return datetime.combine(day, time(rules.hour), tzinfo=rules.timezone).astimezone(UTC)


def latest_slot(kind: PeriodKind, at: datetime, rules: ScheduleRules) -> datetime | None:
    """The most recent slot of `kind` at or before the aware time `at`."""
    local_day = at.astimezone(rules.timezone).date()
    for back in range(_lookback(kind) + 1):
        day = local_day - timedelta(days=back)
        if is_report_day(kind, day, rules) and slot_at(day, rules) <= at:
            return slot_at(day, rules)
    return None


def decide(
    kind: PeriodKind,
    *,
    scheduled_for: datetime | None,
    now: datetime,
    past_due: bool,
    rules: ScheduleRules,
) -> Run | Skip:
    """Whether this timer fire posts, and which window.

    A regular fire posts only when its intended time (the timer's own schedule time, else the
    clock) is a slot. A past-due fire (the host replaying a run it missed while down) posts the
    latest slot before now: the delivery ledger makes sure a slot is only ever posted once.
    """
    if now.tzinfo is None or (scheduled_for is not None and scheduled_for.tzinfo is None):
        raise ValueError("decide() needs aware datetimes")
    at = (now if past_due or scheduled_for is None else scheduled_for).astimezone(UTC)
    slot = latest_slot(kind, at, rules)
    if slot is None:
        return Skip(f"no {kind} report day in the last {_lookback(kind)} days")
    if not past_due and at - slot >= SLOT_TOLERANCE:
        return Skip(f"not a {kind} report slot ({at.astimezone(rules.timezone):%a %H:%M %Z})")
    local = slot.astimezone(rules.timezone)
    period = report_period(kind, local.date())
    return Run(period, local, _skipped_notes(kind, local.date(), rules))


def catch_up(
    kind: PeriodKind, *, now: datetime, rules: ScheduleRules, horizon: timedelta
) -> Run | Skip:
    """Which slot a fire that is not a slot may complete: the latest slot before `now`, if it
    is less than `horizon` ago (and so before the next slot, which is later than `now`).

    Pure: whether that slot's delivery is in fact unfinished is the ledger's to say (one read,
    shared/pipeline.py), and only a delivery whose attempt failed is completed.
    """
    if now.tzinfo is None:
        raise ValueError("catch_up() needs an aware datetime")
    if horizon <= timedelta(0):
        return Skip("catch-up is off (CATCH_UP_HOURS=0)")
    at = now.astimezone(UTC)
    slot = latest_slot(kind, at, rules)
    if slot is None or at - slot >= horizon:
        return Skip(f"no {kind} slot within CATCH_UP_HOURS ({horizon} before now)")
    local = slot.astimezone(rules.timezone)
    return Run(report_period(kind, local.date()), local, _skipped_notes(kind, local.date(), rules))


def _lookback(kind: PeriodKind) -> int:
    return _MONTHLY_LOOKBACK_DAYS if kind is PeriodKind.MONTHLY else _LOOKBACK_DAYS


def _skipped_notes(kind: PeriodKind, day: date, rules: ScheduleRules) -> tuple[str, ...]:
    """For the daily report: which days no daily report covered since the previous one."""
    if kind is not PeriodKind.DAILY:
        return ()
    skipped: list[date] = []
    for back in range(1, 32):
        earlier = day - timedelta(days=back)
        if is_report_day(kind, earlier, rules):
            break
        skipped.append(earlier - timedelta(days=1))  # the data day that post would have covered
    if not skipped:
        return ()
    days = ", ".join(d.strftime("%a %d %b") for d in sorted(skipped))
    return (
        f"No daily report covered {days} (quiet days: DAILY_REPORT_DAYS / "
        "DAILY_REPORT_SKIP_DATES); the weekly report includes them.",
    )


def intended_time(schedule_status: Mapping[str, object] | None) -> datetime | None:
    """The occurrence being run, from the timer's ScheduleStatus 'Next' (None if absent)."""
    if not schedule_status:
        return None
    raw = schedule_status.get("Next") or schedule_status.get("next")
    if not isinstance(raw, str):
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo is not None else None
