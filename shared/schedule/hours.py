"""Local hours in the project timezone, as Mixpanel buckets them, and which of them are closed.

Mixpanel's hourly buckets are wall-clock hours of the project timezone. Around DST that means:
the spring-forward day has no 01:00 bucket (23 buckets), and on the fall-back day the 01:00
bucket holds both occurrences of that hour (24 buckets covering 25 hours of real time). An hour
is *closed* once real time has passed its end: only closed hours are judged, so a check never
mistakes the hour still filling up for a fall.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True, order=True)
class LocalHour:
    """One hourly bucket: a local date and wall-clock hour (0-23) in the project timezone."""

    day: date
    hour: int

    def __post_init__(self) -> None:
        if not 0 <= self.hour <= 23:
            raise ValueError(f"hour must be 0-23, got {self.hour}")

    def key(self) -> str:
        """The bucket's key in a Mixpanel hourly answer: `YYYY-MM-DD HH:00:00`."""
        return f"{self.day.isoformat()} {self.hour:02d}:00:00"

    def label(self) -> str:
        """Short human form, e.g. `Wed 15 Jul 10:00`."""
        return f"{self.day:%a %d %b} {self.hour:02d}:00"

    def weeks_back(self, weeks: int) -> LocalHour:
        """The same weekday and wall-clock hour `weeks` weeks earlier."""
        return LocalHour(self.day - timedelta(weeks=weeks), self.hour)


def exists(day: date, hour: int, tz: ZoneInfo) -> bool:
    """Whether the wall-clock hour exists on `day` (False for the skipped spring hour)."""
    wall = datetime.combine(day, time(hour), tz)
    return wall.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == wall.replace(tzinfo=None)


def hours_of_day(day: date, tz: ZoneInfo) -> list[LocalHour]:
    """The day's buckets in order: 24, or 23 on a spring-forward day."""
    return [LocalHour(day, h) for h in range(24) if exists(day, h, tz)]


def start_of(bucket: LocalHour, tz: ZoneInfo) -> datetime:
    """The first instant (UTC) of the bucket: its first occurrence on the wall clock."""
    return datetime.combine(bucket.day, time(bucket.hour), tz).astimezone(UTC)


def end_of(bucket: LocalHour, tz: ZoneInfo) -> datetime:
    """The instant (UTC) the bucket closes: when the next bucket (or the next day) begins."""
    for hour in range(bucket.hour + 1, 24):
        if exists(bucket.day, hour, tz):
            return start_of(LocalHour(bucket.day, hour), tz)
    return datetime.combine(bucket.day + timedelta(days=1), time(), tz).astimezone(UTC)


def bucket_of(moment: datetime, tz: ZoneInfo) -> LocalHour:
    """The bucket an aware instant falls in."""
    if moment.tzinfo is None:
        raise ValueError("moment must be timezone-aware")
    local = moment.astimezone(tz)
    return LocalHour(local.date(), local.hour)


def last_closed(now: datetime, tz: ZoneInfo) -> LocalHour:
    """The latest bucket that ended at or before `now`."""
    current = bucket_of(now, tz)
    if end_of(current, tz) <= now:  # only at an exact boundary
        return current
    return previous(current, tz)


def previous(bucket: LocalHour, tz: ZoneInfo) -> LocalHour:
    """The bucket before `bucket` (skipping the missing spring hour, crossing midnight)."""
    day, hour = bucket.day, bucket.hour - 1
    while True:
        if hour < 0:
            day, hour = day - timedelta(days=1), 23
        if exists(day, hour, tz):
            return LocalHour(day, hour)
        hour -= 1


def closed_hours(now: datetime, tz: ZoneInfo, count: int) -> list[LocalHour]:
    """The last `count` closed buckets, oldest first."""
    found = [last_closed(now, tz)]
    while len(found) < count:
        found.append(previous(found[-1], tz))
    return found[::-1]


def days_between(first: date, last: date) -> Iterator[date]:
    """Every date from `first` to `last`, inclusive."""
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)
