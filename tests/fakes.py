"""Hand-written fakes that record what they received (no unittest.mock)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from shared.delivery.slack_client import Postable
from shared.errors import MixpanelError, SlackError
from shared.report.facts import UniqueCounts
from shared.schedule.periods import Window
from shared.sources.uniques import UniqueTally


@dataclass(frozen=True, slots=True)
class FakeEvent:
    """One raw event of a fake project: name, user and aware time."""

    name: str
    user: str
    at: datetime

    @property
    def timestamp(self) -> float:
        return self.at.timestamp()


@dataclass
class FakeMixpanel:
    """An EventSource over a list of raw events, bucketed as Mixpanel does (local days).

    `fail` maps a method name to the error it raises; `calls` records every call.
    """

    events: list[FakeEvent]
    timezone: Any
    fail: dict[str, MixpanelError] = field(default_factory=dict)
    calls: list[tuple[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _record(self, name: str, args: Any) -> None:
        with self._lock:
            self.calls.append((name, args))
        if name in self.fail:
            raise self.fail[name]

    def event_names(self, *, limit: int = 10_000) -> list[str]:
        self._record("event_names", limit)
        counts: dict[str, int] = {}
        for e in self.events:
            counts[e.name] = counts.get(e.name, 0) + 1
        return sorted(counts, key=lambda n: (-counts[n], n))[:limit]

    def daily_counts(self, events: Sequence[str], window: Window) -> dict[str, dict[date, int]]:
        self._record("daily_counts", (tuple(events), window))
        result = {name: dict.fromkeys(window.dates(), 0) for name in events}
        for e in self.events:
            day = e.at.astimezone(self.timezone).date()
            if e.name in result and day in window:
                result[e.name][day] += 1
        return result

    def unique_users(
        self,
        new_tally: Callable[[], UniqueTally],
        *,
        from_date: date,
        to_date: date,
        events: Sequence[str] | None = None,
    ) -> UniqueCounts:
        self._record("unique_users", (from_date, to_date, events))
        tally = new_tally()
        for e in self.events:
            utc_day = e.at.astimezone(UTC).date()
            if from_date <= utc_day <= to_date and (events is None or e.name in events):
                tally.add(e.name, e.user, e.timestamp)
        return tally.result()


@dataclass
class FakeSlack:
    """A MessagePoster that records payloads; `fail_with` makes the next posts raise."""

    destination: str = "fake-webhook"
    posts: list[dict[str, Any]] = field(default_factory=list)
    fail_with: list[SlackError] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def post(self, message: Postable) -> None:
        with self._lock:
            if self.fail_with:
                raise self.fail_with.pop(0)
            self.posts.append(message.payload())


def events_every_day(
    names: Iterable[str], users: Iterable[str], days: Iterable[date], tz: Any, hour: int = 12
) -> list[FakeEvent]:
    """One event of each name by each user at `hour` local time on each day."""
    return [
        FakeEvent(name, user, datetime(d.year, d.month, d.day, hour, tzinfo=tz))
        for d in days
        for user in users
        for name in names
    ]
