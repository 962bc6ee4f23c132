"""Exact distinct-user counts from raw events, bucketed by local day; pure, streaming, no I/O."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from shared.report.facts import UniqueCounts
from shared.schedule.periods import Window


class DatedAccumulator(Protocol):
    """More figures from the same stream (shared/report/figures.py): fed each in-range event."""

    wanted_properties: frozenset[str]

    def add(
        self, day: date, event: str, distinct_id: str, properties: Mapping[str, Any] | None
    ) -> None: ...

    def result(self) -> Any: ...


class UniqueTally:
    """Feeds raw events one at a time; memory grows with distinct users, never with events.

    A group is a named set of events (None = every qualifying event); a user counts once per
    window and group however many events or days they have.
    """

    def __init__(
        self,
        windows: Sequence[Window],
        groups: Mapping[str, frozenset[str] | None],
        *,
        timezone: ZoneInfo,
        qualifying: Callable[[str], bool],
        figures: DatedAccumulator | None = None,
        wall_clock: bool = False,
    ) -> None:
        self._figures = figures
        self.wanted_properties = figures.wanted_properties if figures else frozenset[str]()
        self._windows = tuple(dict.fromkeys(windows))
        self._groups = dict(groups)
        self._qualifying = qualifying
        first = min(w.start for w in self._windows)
        last = max(w.end for w in self._windows)
        # Export time at which each local day starts: a bisect turns an event time into its
        # local date without a datetime per event, and stays right on 23- and 25-hour days.
        # `wall_clock`: times are local wall-clock seconds (a project created before 2023).
        self._days = [first + timedelta(days=i) for i in range((last - first).days + 2)]
        self._bounds = [
            datetime.combine(d, time(0), tzinfo=UTC if wall_clock else timezone).timestamp()
            for d in self._days
        ]
        self._windows_of_day: list[tuple[int, ...]] = [
            tuple(i for i, w in enumerate(self._windows) if d in w) for d in self._days
        ]
        self._sets: list[dict[str, set[str]]] = [
            {name: set() for name in self._groups} for _ in self._windows
        ]
        self._member_cache: dict[str, tuple[str, ...]] = {}
        self._seen: set[str] = set()
        self._lines = 0

    def _groups_of(self, event: str) -> tuple[str, ...]:
        cached = self._member_cache.get(event)
        if cached is None:
            cached = tuple(
                name
                for name, members in self._groups.items()
                if (self._qualifying(event) if members is None else event in members)
            )
            self._member_cache[event] = cached
        return cached

    def add(
        self,
        event: str,
        distinct_id: str,
        timestamp: float,
        properties: Mapping[str, Any] | None = None,
    ) -> None:
        """Count one raw event; events outside every window are ignored."""
        self._lines += 1
        index = bisect.bisect_right(self._bounds, timestamp) - 1
        if index < 0 or index >= len(self._days) - 1:
            return
        if self._figures is not None:
            self._figures.add(self._days[index], event, distinct_id, properties)
        self.add_at(index, event, distinct_id)

    def add_at(self, index: int, event: str, distinct_id: str) -> None:
        """Count one event already placed on local day `index` (0 = the first window day)."""
        windows = self._windows_of_day[index]
        if not windows:
            return
        self._seen.add(event)
        if not distinct_id:
            return
        groups = self._groups_of(event)
        for w in windows:
            sets = self._sets[w]
            for name in groups:
                sets[name].add(distinct_id)

    def targets(self, event: str) -> tuple[tuple[set[str], ...], ...]:
        """Per local-day index, the user sets an `event` on that day adds its user to."""
        groups = self._groups_of(event)
        return tuple(
            tuple(self._sets[w][name] for w in windows for name in groups)
            for windows in self._windows_of_day
        )

    def window_days(self) -> tuple[int, ...]:
        """The local-day indices that fall in some window."""
        return tuple(i for i, windows in enumerate(self._windows_of_day) if windows)

    def merge(self, other: UniqueTally) -> None:
        """Fold in a tally over the same windows and groups that read other events."""
        for mine, theirs in zip(self._sets, other._sets, strict=True):
            for name, ids in theirs.items():
                mine[name] |= ids
        self._seen |= other._seen
        self._lines += other._lines

    def result(self, seen: frozenset[str] | None = None, lines: int | None = None) -> UniqueCounts:
        """The counts so far, frozen (`seen` and `lines` when the caller kept them itself)."""
        return UniqueCounts(
            users={
                w: {name: len(ids) for name, ids in self._sets[i].items()}
                for i, w in enumerate(self._windows)
            },
            seen_events=frozenset(self._seen) if seen is None else seen,
            lines=self._lines if lines is None else lines,
            figures=self._figures.result() if self._figures else None,
        )


def local_day(timestamp: float, timezone: ZoneInfo) -> date:
    """The local calendar date of an epoch timestamp (reference for tests)."""
    return datetime.fromtimestamp(timestamp, timezone).date()
