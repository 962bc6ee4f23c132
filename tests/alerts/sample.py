"""Helpers: hourly counts recounted straight from raw sample events, as Mixpanel buckets them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from devtools.sample_data import RawEvent
from shared.schedule.hours import LocalHour, days_between, hours_of_day


def hourly(events: Iterable[RawEvent], tz: ZoneInfo) -> dict[str, dict[LocalHour, int]]:
    """Every event's count per local wall-clock hour (zeros filled for every existing hour)."""
    counted: Counter[tuple[str, LocalHour]] = Counter()
    days: set[date] = set()
    for e in events:
        local = datetime.fromtimestamp(e.time, tz)
        counted[(e.name, LocalHour(local.date(), local.hour))] += 1
        days.add(local.date())
    names = {name for name, _ in counted}
    buckets = [h for d in days_between(min(days), max(days)) for h in hours_of_day(d, tz)]
    return {n: {b: counted[(n, b)] for b in buckets} for n in names}


@dataclass
class HourlyFromEvents:
    """An HourlySource over precomputed hourly counts; records each call."""

    counts: dict[str, dict[LocalHour, int]]
    calls: list[tuple[str, object]] = field(default_factory=list)

    def event_names(self, *, limit: int = 10_000) -> list[str]:
        self.calls.append(("event_names", limit))
        return sorted(self.counts)

    def hourly_counts(
        self, events: Sequence[str], *, from_date: date, to_date: date
    ) -> dict[str, dict[LocalHour, int]]:
        self.calls.append(("hourly_counts", (tuple(events), from_date, to_date)))
        return {
            e: {b: c for b, c in self.counts.get(e, {}).items() if from_date <= b.day <= to_date}
            for e in events
        }
