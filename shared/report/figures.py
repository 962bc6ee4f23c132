"""Filtered counts, property sums and averages and breakdowns from raw events; pure, streaming.

Fed one raw export event at a time (already deduplicated by the source), by local day. Sums
are kept as exact decimals of the values' JSON text, so the order of events never changes a
figure. A missing or non-numeric value (text, true, NaN, Infinity) is skipped and counted, never
taken as 0. Event data is untrusted: a value beyond MAX_FIGURE (1e308, a 400-digit integer) is
never added to a total; the figure it feeds reads unavailable, and a data-quality line names
the property, so one hostile event can neither crash a report nor shift a figure.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from shared.report.filters import exact, matches_all
from shared.report.metrics import ANY_EVENT, Measure, MetricSpec
from shared.schedule.periods import Window

NOT_SET = "(not set)"
OTHER = "other"
Number = int | float
# The largest figure shown: a float holds every whole number up to 2**53 exactly, so a figure
# within it prints exactly and every ratio or formula over it stays a finite float.
MAX_FIGURE = Decimal(2**53)


def breakdown_label(value: object) -> str:
    """How a property value is listed in a breakdown ('(not set)' when the event lacks it)."""
    if value is None:
        return NOT_SET
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def as_number(value: Decimal) -> Number:
    """A decimal as an int when whole, else the nearest float."""
    return int(value) if value == value.to_integral_value() else float(value)


@dataclass(slots=True)
class Cell:
    """Running figures for one metric over one slot: a report's window (or breakdown value), an
    alert's hour or day. The one tally both reports and alerts count with, so they agree.

    Fed deduplicated events (dedup is the source's job). Sums are exact decimals; a missing or
    non-finite value is skipped and counted, never taken as 0; a value beyond MAX_FIGURE is read,
    never added, and makes a sum or average unknown (None), never an overflow.
    """

    events: int = 0
    users: set[str] = field(default_factory=set)
    total: Decimal = Decimal(0)
    values: int = 0
    skipped: int = 0
    huge: int = 0  # values beyond MAX_FIGURE: read, never added

    def count(self, spec: MetricSpec, distinct_id: str, number: Decimal | None) -> None:
        """Count one matching event of `spec` (`number`: its value property, when it has one)."""
        self.events += 1
        if distinct_id and spec.measure is Measure.UNIQUE:
            self.users.add(distinct_id)
        if spec.value_property is not None:
            self.take(number)

    def merge(self, other: Cell) -> None:
        """Fold in a cell of the same metric and slot that read other events."""
        self.events += other.events
        self.users |= other.users
        self.total += other.total
        self.values += other.values
        self.skipped += other.skipped
        self.huge += other.huge

    def take(self, number: Decimal | None) -> None:
        """Add one event's value (None: missing or not a finite number, skipped)."""
        if number is None:
            self.skipped += 1
        elif abs(number) > MAX_FIGURE:
            self.huge += 1
            self.values += 1
        else:
            self.total += number
            self.values += 1

    def too_large(self, measure: Measure) -> bool:
        """Whether a sum or average cannot be shown exactly: a value or total beyond MAX_FIGURE."""
        if measure is Measure.SUM:
            return self.huge > 0 or abs(self.total) > MAX_FIGURE
        # values within the limit average within it, whatever their total
        return measure is Measure.AVERAGE and self.huge > 0

    def value(self, measure: Measure) -> Number | None:
        """The figure; None for an average of no values or a sum or average `too_large`."""
        if measure is Measure.UNIQUE:
            return len(self.users)
        if measure not in (Measure.SUM, Measure.AVERAGE):
            return self.events
        if self.too_large(measure):
            return None
        if measure is Measure.SUM:
            return as_number(self.total)
        return None if self.values == 0 else float(self.total / self.values)

    def volume(self, measure: Measure) -> int:
        """How much stands behind the figure: users for a unique count, values read for a sum
        or average, else events."""
        if measure is Measure.UNIQUE:
            return len(self.users)
        if measure in (Measure.SUM, Measure.AVERAGE):
            return self.values
        return self.events


@dataclass(frozen=True, slots=True)
class Figure:
    """One metric over one window: its value, and for sums/averages how many values were read.

    `value` is None for an average of no values, or when `too_large` (a value or the total is
    beyond MAX_FIGURE). `breakdown` lists (label, value) for the current window's top values,
    then ('other', value) when any other value occurred.
    """

    value: Number | None
    matched: int
    skipped: int = 0
    breakdown: tuple[tuple[str, Number | None], ...] = ()
    too_large: bool = False


@dataclass(frozen=True, slots=True)
class Figures:
    """Every export-derived figure, and what the stream showed about the metrics' events."""

    values: Mapping[tuple[str, Window], Figure]
    event_lines: Mapping[str, int]
    property_keys: Mapping[str, frozenset[str]]


class FigureTally:
    """Accumulates every export-derived metric over every window (the first is the current one)."""

    def __init__(
        self,
        specs: Iterable[MetricSpec],
        windows: Sequence[Window],
        *,
        qualifying: Callable[[str], bool],
    ) -> None:
        self._specs = tuple(s for s in specs if s.measure is not Measure.FORMULA)
        self._windows = tuple(dict.fromkeys(windows))
        self._qualifying = qualifying
        self._cells: dict[tuple[int, int], Cell] = {}
        self._split: dict[tuple[int, int], dict[str, Cell]] = {}
        self._day_windows: dict[date, tuple[int, ...]] = {}
        self._member: dict[str, tuple[int, ...]] = {}
        self._lines: dict[str, int] = {}
        self._keys: dict[str, set[str]] = {}
        self.wanted_properties = frozenset(p for s in self._specs for p in s.property_names)

    def _specs_of(self, event: str) -> tuple[int, ...]:
        found = self._member.get(event)
        if found is None:
            found = tuple(
                i
                for i, s in enumerate(self._specs)
                if (self._qualifying(event) if s.events == (ANY_EVENT,) else event in s.events)
            )
            self._member[event] = found
        return found

    def _windows_of(self, day: date) -> tuple[int, ...]:
        found = self._day_windows.get(day)
        if found is None:
            found = tuple(i for i, w in enumerate(self._windows) if day in w)
            self._day_windows[day] = found
        return found

    def add(
        self, day: date, event: str, distinct_id: str, properties: Mapping[str, Any] | None
    ) -> None:
        """Count one raw event of local date `day`."""
        specs = self._specs_of(event)
        windows = self._windows_of(day)
        if not specs or not windows:
            return
        props = properties or {}
        self._lines[event] = self._lines.get(event, 0) + 1
        keys = self._keys.setdefault(event, set())
        keys.update(props)
        for s in specs:
            spec = self._specs[s]
            if not matches_all(spec.where, props):
                continue
            number: Decimal | None = None
            if spec.value_property is not None:
                number = exact(props.get(spec.value_property))
            label = breakdown_label(props.get(spec.breakdown)) if spec.breakdown is not None else ""
            for w in windows:
                cells = [self._cell(s, w)]
                if spec.breakdown is not None:
                    cells.append(self._split.setdefault((s, w), {}).setdefault(label, Cell()))
                for cell in cells:
                    cell.count(spec, distinct_id, number)

    def merge(self, other: FigureTally) -> None:
        """Fold in a tally of the same metrics and windows that read another day range."""
        for key, cell in other._cells.items():
            self._cell(*key).merge(cell)
        for key, split in other._split.items():
            mine = self._split.setdefault(key, {})
            for label, cell in split.items():
                mine.setdefault(label, Cell()).merge(cell)
        for event, lines in other._lines.items():
            self._lines[event] = self._lines.get(event, 0) + lines
        for event, keys in other._keys.items():
            self._keys.setdefault(event, set()).update(keys)

    def _cell(self, s: int, w: int) -> Cell:
        cell = self._cells.get((s, w))
        if cell is None:
            cell = self._cells[(s, w)] = Cell()
        return cell

    def result(self) -> Figures:
        """The figures so far, frozen."""
        values: dict[tuple[str, Window], Figure] = {}
        for s, spec in enumerate(self._specs):
            top = self._top(s, spec)
            for w, window in enumerate(self._windows):
                cell = self._cells.get((s, w), Cell())
                rows: list[tuple[str, Number | None]] = []
                if spec.breakdown is not None:
                    split = self._split.get((s, w), {})
                    rows = [(label, split.get(label, Cell()).value(spec.measure)) for label in top]
                    rest = Cell()
                    for label, part in split.items():
                        if label not in top:
                            rest.merge(part)
                    if any(label not in top for label in self._labels(s)):
                        rows.append((OTHER, rest.value(spec.measure)))
                matched = cell.values if spec.value_property else cell.events
                values[(spec.key, window)] = Figure(
                    cell.value(spec.measure),
                    matched,
                    cell.skipped,
                    tuple(rows),
                    cell.too_large(spec.measure),
                )
        return Figures(
            values,
            dict(self._lines),
            {event: frozenset(keys) for event, keys in self._keys.items()},
        )

    def _labels(self, s: int) -> set[str]:
        return {label for w in range(len(self._windows)) for label in self._split.get((s, w), {})}

    def _top(self, s: int, spec: MetricSpec) -> tuple[str, ...]:
        """The current window's top values by the metric's own figure, ties by label."""
        if spec.breakdown is None:
            return ()
        split = self._split.get((s, 0), {})
        ranked = sorted(
            ((label, cell.value(spec.measure)) for label, cell in split.items()),
            key=lambda lv: (-(lv[1] or 0), lv[0]),
        )
        return tuple(label for label, _ in ranked[: spec.top])


def unknown_properties(
    specs: Iterable[MetricSpec], figures: Figures, *, where: str
) -> tuple[list[str], list[str]]:
    """(problems, notes): each property a metric reads that none of its events carried.

    Checked against the property names the export actually showed on the metric's events, with
    the closest of them suggested; a metric whose events did not occur cannot be checked (note).
    """
    problems: list[str] = []
    notes: list[str] = []
    for spec in specs:
        names = spec.property_names
        if not names:
            continue
        events = [e for e in spec.events if e != ANY_EVENT] or sorted(figures.event_lines)
        lines = sum(figures.event_lines.get(e, 0) for e in events)
        if not lines:
            notes.append(
                f"{spec.label}: no {' or '.join(events) or 'qualifying'} events in these "
                f"windows, so its property names ({', '.join(names)}) could not be checked"
            )
            continue
        keys = sorted({k for e in events for k in figures.property_keys.get(e, ())})
        for name in names:
            if name in keys:
                continue
            close = difflib.get_close_matches(name, keys, n=3, cutoff=0.6)
            hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
            problems.append(
                f"{where}: metric {spec.key!r}: property {name!r} is on none of its "
                f"{lines:,} {' or '.join(events)} events{hint}"
            )
    return problems, notes


class DayIndexedFigures:
    """A FigureTally fed by local-day index, as the export reducer hands events over.

    The reducer numbers the local days of its windows from `first`; this turns the index back
    into the date and forwards the event (shared/sources/export_stream.EventAccumulator).
    """

    def __init__(self, tally: FigureTally, first: date, days: int) -> None:
        self.tally = tally
        self._days = [first + timedelta(days=i) for i in range(days)]

    @property
    def wanted_properties(self) -> frozenset[str]:
        """The property names the metrics read (the decoder keeps only these)."""
        return self.tally.wanted_properties

    def add(self, day: int, distinct_id: str, event: str, properties: Mapping[str, Any]) -> None:
        """Take one deduplicated event of local day number `day`."""
        self.tally.add(self._days[day], event, distinct_id, properties)

    def merge(self, other: Any) -> None:
        """Fold in the figures another day range read."""
        if not isinstance(other, DayIndexedFigures):
            raise TypeError("can only merge figures of the same kind")
        self.tally.merge(other.tally)

    def result(self) -> Figures:
        """The figures, frozen."""
        return self.tally.result()
