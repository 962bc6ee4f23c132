"""Raw events as the tallies see them: the record shape, Mixpanel's dedup rule, and which
local wall-clock hour an export time falls in; pure, no I/O.

Decoding the export's lines is the source's job (shared/sources/export_stream.py); counting
what they say is shared by the reports and the alerts, so it lives here, below both.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from shared.schedule.hours import LocalHour, days_between, hours_of_day

# One raw event as the reducer sees it: (event, distinct_id, time, $insert_id, kept properties).
Record = tuple[str, str, float, str, Mapping[str, Any]]


class Deduplicator:
    """Mixpanel's dedup rule over one fetched range: True the first time an event is seen."""

    def __init__(self) -> None:
        # One joined string per key: about half the memory of a tuple holding four objects.
        self._seen: set[str] = set()
        self.duplicates = 0

    def first(self, event: str, distinct_id: str, when: float, insert_id: str) -> bool:
        """Whether this line counts: always without $insert_id, once per identical key."""
        if not insert_id:
            return True
        # The separator cannot be in a JSON-decoded name unless sent escaped as \u0000; the
        # lengths make the key unambiguous even then.
        key = f"{insert_id}\0{when!r}\0{len(event)}\0{event}\0{distinct_id}"
        if key in self._seen:
            self.duplicates += 1
            return False
        self._seen.add(key)
        return True


def export_time(wall: datetime, timezone: ZoneInfo, *, wall_clock: bool = False) -> float:
    """The export `time` (seconds) at which the naive local wall-clock moment `wall` begins.

    A UTC-epoch export (projects created from 2023): the instant `wall` first reads in
    `timezone` (fold=0; a wall time in the spring gap resolves as zoneinfo does). A pre-2023
    project (`wall_clock`): the wall-clock reading itself, counted as seconds since 1970-01-01
    00:00 on that clock. Both readings of the repeated autumn hour are then the same value,
    so that hour is one wall-clock hour holding both occurrences (as Mixpanel's hourly
    buckets are), and every value maps to exactly one local day.
    """
    return wall.replace(tzinfo=UTC if wall_clock else timezone).timestamp()


class HourBuckets:
    """The wall-clock hours of the local days `first` to `last`, and the export time each
    starts at: `of(time)` is the bucket an export `time` falls in (None outside the days).

    The repeated autumn hour is one bucket holding both occurrences; the skipped spring hour
    has no bucket (a wall-clock value inside it cannot be recorded, and would count in the
    hour before).
    """

    def __init__(
        self, first: date, last: date, timezone: ZoneInfo, *, wall_clock: bool = False
    ) -> None:
        self.buckets = [h for d in days_between(first, last) for h in hours_of_day(d, timezone)]
        self._starts = [
            export_time(datetime.combine(h.day, time(h.hour)), timezone, wall_clock=wall_clock)
            for h in self.buckets
        ]
        self._end = export_time(
            datetime.combine(last + timedelta(days=1), time(0)), timezone, wall_clock=wall_clock
        )

    def of(self, when: float) -> LocalHour | None:
        """The bucket of export time `when`, or None before `first` or after `last`."""
        if when < self._starts[0] or when >= self._end:
            return None
        return self.buckets[bisect.bisect_right(self._starts, when) - 1]
