"""The metrics file: what a team reports, as validated, typed configuration."""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from shared.errors import MetricsFileError, UnknownEventsError

ANY_EVENT = "*"


class Measure(StrEnum):
    """How a metric counts its events."""

    TOTAL = "total"
    UNIQUE = "unique"


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """One reported number: its label, emoji, Mixpanel events and how to count them."""

    key: str
    label: str
    emoji: str
    events: tuple[str, ...]
    measure: Measure = Measure.TOTAL
    higher_is_better: bool = True

    @property
    def any_event(self) -> bool:
        """True when the metric counts every qualifying event (active users)."""
        return self.events == (ANY_EVENT,)


@dataclass(frozen=True, slots=True)
class Thresholds:
    """When a change is news, and when a fall looks like broken tracking."""

    in_line_band: float = 0.10
    min_abs_change: int = 5
    mover_min_volume: int = 30
    movers_per_direction: int = 3
    drop_warning: float = 0.6
    steady_min_daily: float = 5.0
    top_events: int = 5


@dataclass(frozen=True, slots=True)
class MetricsConfig:
    """The metrics a report shows and the thresholds it judges changes by."""

    metrics: tuple[MetricSpec, ...]
    thresholds: Thresholds = Thresholds()

    @property
    def named_events(self) -> tuple[str, ...]:
        """Every concrete event name the metrics mention, in order, without repeats."""
        names = (e for m in self.metrics for e in m.events if e != ANY_EVENT)
        return tuple(dict.fromkeys(names))

    def with_events(self, events: Iterable[str]) -> MetricsConfig:
        """A config reporting the total of each of `events` instead of the file's metrics."""
        metrics = tuple(
            MetricSpec(
                key=f"event:{name}",
                label=name,
                emoji=":small_blue_diamond:",
                events=(name,),
                measure=Measure.TOTAL,
            )
            for name in events
        )
        return MetricsConfig(metrics, self.thresholds)


def load_metrics(path: Path) -> MetricsConfig:
    """The metrics file at `path`, parsed and checked; MetricsFileError lists every problem."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MetricsFileError([f"metrics file {path} does not exist"]) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
        raise MetricsFileError([f"metrics file {path} cannot be read: {exc}"]) from None
    return parse_metrics(raw, source=str(path))


def parse_metrics(raw: Mapping[str, Any], *, source: str = "metrics file") -> MetricsConfig:
    """A MetricsConfig from parsed TOML; every problem is reported at once."""
    problems: list[str] = []
    metrics: list[MetricSpec] = []
    entries = raw.get("metric", [])
    if not isinstance(entries, list) or not entries:
        problems.append(f"{source}: needs at least one [[metric]]")
        entries = []
    keys: set[str] = set()
    for index, entry in enumerate(entries, start=1):
        where = f"{source}: metric {index}"
        if not isinstance(entry, dict):
            problems.append(f"{where} must be a table")
            continue
        unknown = set(entry) - {"key", "label", "emoji", "events", "measure", "higher_is_better"}
        if unknown:
            problems.append(f"{where} has unknown fields {sorted(unknown)}")
        key, label, emoji = entry.get("key"), entry.get("label"), entry.get("emoji", "")
        events, measure = entry.get("events"), entry.get("measure", "total")
        if isinstance(events, list):  # trim first, so " * " is judged as the '*' it is
            events = [e.strip() if isinstance(e, str) else e for e in events]
        better = entry.get("higher_is_better", True)
        if not isinstance(key, str) or not key:
            problems.append(f"{where} needs a key")
        elif key in keys:
            problems.append(f"{where} repeats key {key!r}")
        else:
            keys.add(key)
            where = f"{source}: metric {key!r}"
        if not isinstance(label, str) or not label:
            problems.append(f"{where} needs a label")
        if not isinstance(emoji, str):
            problems.append(f"{where} emoji must be a string like ':gift:'")
        if (
            not isinstance(events, list)
            or not events
            or not all(isinstance(e, str) and e.strip() for e in events)
        ):
            problems.append(f"{where} events must be a non-empty list of event names")
            events = []
        elif ANY_EVENT in events and events != [ANY_EVENT]:
            problems.append(f"{where} events: '*' cannot be combined with names")
        if measure not in {m.value for m in Measure}:
            problems.append(f"{where} measure must be 'total' or 'unique', got {measure!r}")
        elif events == [ANY_EVENT] and measure != Measure.UNIQUE:
            problems.append(f"{where}: events ['*'] only makes sense with measure 'unique'")
        if not isinstance(better, bool):
            problems.append(f"{where} higher_is_better must be true or false")
        if not problems:
            metrics.append(
                MetricSpec(
                    key=str(key),
                    label=str(label),
                    emoji=str(emoji),
                    events=tuple(e.strip() for e in events),
                    measure=Measure(measure),
                    higher_is_better=bool(better),
                )
            )
    thresholds = _thresholds(raw.get("thresholds", {}), source, problems)
    if problems:
        raise MetricsFileError(problems)
    return MetricsConfig(tuple(metrics), thresholds)


def _thresholds(raw: object, source: str, problems: list[str]) -> Thresholds:
    if not isinstance(raw, dict):
        problems.append(f"{source}: [thresholds] must be a table")
        return Thresholds()
    defaults = Thresholds()
    values: dict[str, Any] = {}
    for name in raw:
        if not hasattr(defaults, name):
            problems.append(f"{source}: unknown threshold {name!r}")
            continue
        value, default = raw[name], getattr(defaults, name)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            problems.append(f"{source}: threshold {name} must be a number >= 0")
        elif isinstance(default, int) and not isinstance(value, int):
            problems.append(f"{source}: threshold {name} must be a whole number")
        else:
            values[name] = value
    return Thresholds(**values)


def unknown_events(
    wanted: Iterable[str], known: Iterable[str], *, where: str
) -> UnknownEventsError | None:
    """An error naming each wanted event the project lacks, with the closest known names."""
    known_names = list(dict.fromkeys(known))
    known_set = set(known_names)
    missing = [
        name for name in dict.fromkeys(wanted) if name != ANY_EVENT and name not in known_set
    ]
    if not missing:
        return None
    return UnknownEventsError(
        {name: difflib.get_close_matches(name, known_names, n=3, cutoff=0.6) for name in missing},
        where=where,
    )
