"""The data-source port: the questions the report pipeline asks Mixpanel (or a fake)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol, runtime_checkable

from shared.report.facts import UniqueCounts
from shared.schedule.periods import Window
from shared.sources.uniques import UniqueTally


class EventSource(Protocol):
    """Where the numbers come from (MixpanelClient, or a fake in tests).

    A source that can also stream the raw export and ask for server-side aggregation
    (shared/sources/gathering.py `ExportSource`) can serve every MIXPANEL_SOURCE mode; one
    with only these three questions serves query mode.
    """

    def event_names(self, *, limit: int = ...) -> list[str]: ...

    def daily_counts(self, events: Sequence[str], window: Window) -> dict[str, dict[date, int]]: ...

    def unique_users(
        self,
        new_tally: Callable[[], UniqueTally],
        *,
        from_date: date,
        to_date: date,
        events: Sequence[str] | None = ...,
    ) -> UniqueCounts: ...


@runtime_checkable
class PropertySampler(Protocol):
    """A source that can show which property names some raw events carry (for did-you-mean)."""

    def property_names(
        self, events: Sequence[str], *, from_date: date, to_date: date, limit: int = ...
    ) -> dict[str, frozenset[str]]: ...


@dataclass(frozen=True, slots=True)
class InsightsAnswer:
    """A saved Insights report: the local dates it covers and metric -> bucket -> value."""

    from_date: date
    to_date: date
    series: Mapping[str, Mapping[str, int]]
