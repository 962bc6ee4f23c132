"""Exact values of filtered, unique, summed, averaged and formula metrics per closed local hour
and per local day, reduced from one raw export; pure, no I/O.

Plain total metrics are judged on the Query API's hourly /events counts. Every other kind is
counted here from the deduplicated raw export (Mixpanel's dedup rule, as the reports count it),
bucketed by the project timezone's wall-clock hour (the fall-back day's 01:00 bucket holds
both occurrences of that hour, as Mixpanel buckets it) and by local day. A project created
before 2023 exports local wall-clock seconds (`wall_clock`), read as such (export_stream).
Sums are exact decimals of the values' JSON text; a missing or non-numeric value is skipped,
never taken as 0. A value or total beyond MAX_FIGURE (as the reports read it) leaves the
reading unknown (None), never an overflow.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from shared.report.events import Deduplicator, HourBuckets, Record
from shared.report.figures import MAX_FIGURE, Cell
from shared.report.filters import exact, matches_all
from shared.report.formulas import FormulaOverflow
from shared.report.formulas import evaluate as evaluate_formula
from shared.report.metrics import ANY_EVENT, Measure, MetricSpec
from shared.report.units import UnitKind
from shared.schedule.hours import LocalHour

Slot = LocalHour | date  # an hourly rule judges a LocalHour, a daily rule a local date
Reading = tuple[float, float]  # (the metric's value, its volume: events or users behind it)


def needs_export(spec: MetricSpec) -> bool:
    """True when a metric cannot be read from hourly /events totals (anything but a plain total)."""
    return spec.measure is not Measure.TOTAL or bool(spec.where)


def tallied(specs: Iterable[MetricSpec], by_key: Mapping[str, MetricSpec]) -> list[MetricSpec]:
    """The metrics the export must count for `specs`: themselves, or a formula's inputs."""
    found: dict[str, MetricSpec] = {}
    for spec in specs:
        if spec.formula is None:
            found[spec.key] = spec
        else:
            for key in spec.formula.keys:
                found[key] = by_key[key]
    return list(found.values())


class DerivedTally:
    """A RecordSink for the client's export_records: counts every tallied metric per hour/day.

    Covers the local days `first` to `last`; events outside them are ignored. `hourly` and
    `daily` name the metrics that need hour buckets and day buckets.
    """

    def __init__(
        self,
        specs: Sequence[MetricSpec],
        *,
        first: date,
        last: date,
        timezone: ZoneInfo,
        hourly: frozenset[str],
        daily: frozenset[str],
        wall_clock: bool = False,
    ) -> None:
        self._specs = tuple(specs)
        self._first, self._last = first, last
        self._hours = HourBuckets(first, last, timezone, wall_clock=wall_clock)
        self._hourly = hourly
        self._daily = daily
        self._of_event: dict[str, tuple[MetricSpec, ...]] = {}
        self._cells: dict[tuple[str, Slot], Cell] = {}
        self._dedup = Deduplicator()
        self.lines = 0

    @property
    def wanted_properties(self) -> frozenset[str]:
        """The property names the metrics read (the export's decoder keeps only these)."""
        return frozenset(p for s in self._specs for p in s.property_names)

    def add_all(self, records: Iterable[Record]) -> None:
        """Count a decoded batch: duplicates once, events outside the days never."""
        for event, distinct_id, when, insert_id, props in records:
            self.lines += 1
            if not self._dedup.first(event, distinct_id, when, insert_id):
                continue
            hour = self._hours.of(when)
            if hour is None:
                continue
            specs = self._of_event.get(event)
            if specs is None:
                specs = self._of_event[event] = tuple(s for s in self._specs if event in s.events)
            if not specs:
                continue
            for spec in specs:
                if not matches_all(spec.where, props):
                    continue
                number = exact(props.get(spec.value_property)) if spec.value_property else None
                slots: list[Slot] = []
                if spec.key in self._hourly:
                    slots.append(hour)
                if spec.key in self._daily:
                    slots.append(hour.day)
                for slot in slots:
                    cell = self._cells.get((spec.key, slot))
                    if cell is None:
                        cell = self._cells[(spec.key, slot)] = Cell()
                    cell.count(spec, distinct_id, number)

    def result(self) -> DerivedFigures:
        """The figures, frozen."""
        values: dict[tuple[str, Slot], Reading | None] = {}
        for (key, slot), cell in self._cells.items():
            spec = next(s for s in self._specs if s.key == key)
            values[(key, slot)] = _reading(spec, cell)
        return DerivedFigures(
            values=values,
            first=self._first,
            last=self._last,
            zeros={s.key: _reading(s, Cell()) for s in self._specs},
            lines=self.lines,
        )


def _reading(spec: MetricSpec, cell: Cell) -> Reading | None:
    """(value, volume) of one cell; None for an average of no values (nothing to judge), or a
    sum or average holding a value or total beyond MAX_FIGURE (unknown, as the reports show it)."""
    value = cell.value(spec.measure)
    if value is None:
        return None
    return float(value), float(cell.volume(spec.measure))


@dataclass(frozen=True, slots=True)
class DerivedFigures:
    """Every tallied metric's reading per hour and day of the local days `first` to `last`."""

    values: Mapping[tuple[str, Slot], Reading | None]
    first: date
    last: date
    zeros: Mapping[str, Reading | None]  # the reading of a slot with no events
    lines: int = 0

    def covers(self, slot: Slot) -> bool:
        """Whether the export read the whole slot's day."""
        day = slot.day if isinstance(slot, LocalHour) else slot
        return self.first <= day <= self.last

    def reading(
        self, spec: MetricSpec, slot: Slot, by_key: Mapping[str, MetricSpec]
    ) -> Reading | None:
        """The metric's exact (value, volume) in `slot`; None when unknown or undefined.

        A formula's value is computed from its inputs' values in the same slot (times 100 for a
        percentage, as the reports show it); its volume is its smallest input's volume. A
        division by zero is undefined: None, never 0.
        """
        if not self.covers(slot):
            return None
        if spec.formula is None:
            return self.values.get((spec.key, slot), self.zeros.get(spec.key))
        inputs: dict[str, float | None] = {}
        volumes: list[float] = []
        for key in spec.formula.keys:
            got = self.reading(by_key[key], slot, by_key)
            inputs[key] = None if got is None else got[0]
            volumes.append(0.0 if got is None else got[1])
        try:
            value = evaluate_formula(spec.formula, inputs)
        except FormulaOverflow:
            return None
        if value is None:
            return None
        scale = 100.0 if spec.unit.kind is UnitKind.PERCENT else 1.0
        if not abs(value * scale) <= MAX_FIGURE:
            return None
        return value * scale, min(volumes)


def reads_every_event(spec: MetricSpec, by_key: Mapping[str, MetricSpec]) -> bool:
    """Whether the metric (or a formula input) counts every event (events ['*'])."""
    if spec.formula is not None:
        return any(by_key[k].events == (ANY_EVENT,) for k in spec.formula.keys if k in by_key)
    return spec.events == (ANY_EVENT,)
