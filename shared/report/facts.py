"""What was gathered for one report, as plain values: the model sources fill and report reads.

Sources (shared/sources/) import this module to say what they found; the report
(shared/report/generator.py) imports it to build figures. Neither imports the other, so
this module sits below both and imports nothing above shared/report/ and shared/schedule/.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from shared.report.figures import Figures
from shared.schedule.periods import Window

DailyCounts = Mapping[str, Mapping[date, int]]


def is_automatic(event: str) -> bool:
    """Mixpanel's own events ($identify, $ae_session, ...) start with '$'."""
    return event.startswith("$")


@dataclass(frozen=True, slots=True)
class Unavailable:
    """A figure Mixpanel could not give, and why in one line; never shown as zero."""

    reason: str


@dataclass(frozen=True, slots=True)
class UniqueCounts:
    """Distinct users per window and group, plus every event name seen in the raw data."""

    users: Mapping[Window, Mapping[str, int]]
    seen_events: frozenset[str]
    lines: int
    # Figures no exact source could give: (window, group) -> a one-line reason (never a 0).
    missing: Mapping[tuple[Window, str], str] = field(default_factory=dict)
    # How each group's figures were counted ("export", "/events unit=week", ...).
    methods: Mapping[str, str] = field(default_factory=dict)
    figures: Any = None  # the accumulator's result, when one was attached


@dataclass(frozen=True, slots=True)
class Facts:
    """What was gathered from Mixpanel for one report, each part possibly unavailable."""

    counts: DailyCounts | Unavailable
    uniques: UniqueCounts | Unavailable
    event_names: frozenset[str] | Unavailable
    fetched_at: datetime
    # Set when the counts may lack some of the window's events (only the metrics' own events
    # are certain): top events, movers and warnings are then withheld rather than wrong.
    all_events: Unavailable | None = None
    # Filtered, property and breakdown figures from the export (None: no metric needs them).
    figures: Figures | Unavailable | None = None
    # Where the numbers came from: "query", "export" or "mixed" (shared/sources/README section).
    source: str = "query"
