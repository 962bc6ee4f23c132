"""Raw export lines to Mixpanel's deduplicated events, and the reducer they feed; pure, no I/O.

- The decoder reads only the fields a figure needs (event, time, distinct_id, $insert_id and the
  properties an accumulator asks for) with msgspec, which skips every other field unparsed.
- Deduplication is Mixpanel's rule (reference/event-deduplication.mdx): lines with the same
  event, distinct_id, time and $insert_id are one event; a line without $insert_id is its own.
  Duplicates share their time, so they always fall into the same fetched day range: the set of
  seen keys lives as long as one range, not the whole export.
- The reducer turns each deduplicated event into its local-day index once, then hands it to the
  per-event daily totals, the distinct-user tally and any pluggable accumulators.
- Times: the client asks for `time_in_ms=true` and decodes milliseconds to float seconds, so the
  dedup key compares Mixpanel's millisecond `time` (distinct ms stay distinct floats). A project
  created before 2023 exports local wall-clock seconds of the project timezone, not a UTC epoch
  (`wall_clock=True`): its day and hour bounds are wall-clock readings, see `export_time`.
"""

from __future__ import annotations

import bisect
import json
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

import msgspec

from shared.report.events import Deduplicator, Record, export_time
from shared.report.facts import UniqueCounts
from shared.schedule.periods import Window
from shared.sources.uniques import UniqueTally

NO_PROPERTIES: Mapping[str, Any] = {}


S = TypeVar("S", bound="RecordSink")


class RecordSink(Protocol):
    """Takes decoded export records batch by batch (an ExportReducer)."""

    def add_all(self, records: list[Record]) -> None: ...


class LineBudget:
    """How many export lines a report may still read, shared by concurrent day ranges."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._used = 0
        self._lock = threading.Lock()

    @property
    def remaining(self) -> int:
        """Lines still allowed."""
        with self._lock:
            return max(self.limit - self._used, 0)

    @property
    def used(self) -> int:
        """Lines read so far."""
        with self._lock:
            return self._used

    def take(self, lines: int) -> bool:
        """Count `lines` just read; False once the total passes the limit."""
        with self._lock:
            self._used += lines
            return self._used <= self.limit


class BadExportLine(ValueError):
    """An export line that is not a complete event; carries the offending line."""

    def __init__(self, why: str, line: bytes) -> None:
        super().__init__(why)
        self.why = why
        self.line = line


class _Core(msgspec.Struct):
    time: float
    distinct_id: str | int | None = None
    insert_id: str | None = msgspec.field(name="$insert_id", default=None)


class _Line(msgspec.Struct):
    event: str
    properties: _Core


def _as_id(value: object) -> str:
    return "" if value is None else str(value)


class LineDecoder:
    """Decodes JSONL export bytes into Records, keeping only the properties it is told to keep."""

    def __init__(self, keep: Iterable[str] = ()) -> None:
        self.keep = tuple(dict.fromkeys(k for k in keep if k not in _RESERVED))
        line_type: type[msgspec.Struct] = _Line
        if self.keep:
            # Attribute names are positional (p0, p1...): property names need not be identifiers.
            props = msgspec.defstruct(
                "_KeptProperties",
                [
                    ("time", float),
                    ("distinct_id", str | int | None, None),
                    ("insert_id", str | None, msgspec.field(name="$insert_id", default=None)),
                    *(
                        # UNSET, not None: a property the event lacks is absent, not null,
                        # so a misspelt property name is never taken for one that exists.
                        (f"p{i}", Any, msgspec.field(name=name, default=msgspec.UNSET))
                        for i, name in enumerate(self.keep)
                    ),
                ],
            )
            line_type = msgspec.defstruct("_KeptLine", [("event", str), ("properties", props)])
        self._decoder = msgspec.json.Decoder(line_type)
        self._attrs = tuple(f"p{i}" for i in range(len(self.keep)))

    def decode(self, chunk: bytes, *, in_ms: bool = False) -> list[Record]:
        """Every complete line of `chunk` (newline-separated JSON objects) as a Record.

        With `in_ms` the lines' `time` is milliseconds (time_in_ms=true): records carry seconds.
        """
        per_second = 1000 if in_ms else 1
        try:
            lines: list[Any] = self._decoder.decode_lines(chunk)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return self._one_by_one(chunk, per_second)
        return [self._record(line, per_second) for line in lines]

    def _one_by_one(self, chunk: bytes, per_second: int) -> list[Record]:
        """Find and name the bad line (only after a batch failed to decode)."""
        records = []
        for raw in chunk.splitlines():
            if not raw.strip():
                continue
            try:
                line = self._decoder.decode(raw)
            except msgspec.ValidationError as exc:
                if "out of range" in str(exc):  # 1e309 or a 400-digit integer: untrusted data
                    records.append(self._lenient(raw, per_second))
                    continue
                raise BadExportLine(f"an export line has a malformed field ({exc})", raw) from None
            except msgspec.DecodeError:
                records.append(self._lenient(raw, per_second))
                continue
            records.append(self._record(line, per_second))
        return records

    def _lenient(self, raw: bytes, per_second: int) -> Record:
        """A line strict JSON refuses but the standard decoder reads (NaN or Infinity in a
        property, which Python-based trackers send; a number beyond a float or int64, which
        stays an exact Decimal): decoded slowly, once, never dropped."""
        try:
            line = json.loads(raw, parse_int=_json_int, parse_float=_json_float)
            props = line["properties"]
            event, when = line["event"], props["time"]
        except (ValueError, KeyError, TypeError):
            raise BadExportLine(
                "an export line is not a complete event (truncated?)", raw
            ) from None
        if (
            not isinstance(event, str)
            or isinstance(when, bool)
            or not isinstance(when, int | float)
        ):
            raise BadExportLine("an export line has a malformed event or time", raw)
        kept = {name: props[name] for name in self.keep if name in props}
        insert_id = props.get("$insert_id")
        return (
            event,
            _as_id(props.get("distinct_id")),
            float(when) / per_second,
            insert_id if isinstance(insert_id, str) else "",
            kept or NO_PROPERTIES,
        )

    def _record(self, line: Any, per_second: int) -> Record:
        props = line.properties
        kept = (
            {
                name: value
                for name, a in zip(self.keep, self._attrs, strict=True)
                if (value := getattr(props, a)) is not msgspec.UNSET
            }
            if self._attrs
            else NO_PROPERTIES
        )
        when = props.time if per_second == 1 else props.time / per_second
        return (line.event, _as_id(props.distinct_id), when, props.insert_id or "", kept)


_RESERVED = frozenset({"time", "distinct_id", "$insert_id"})


def _json_int(text: str) -> int | Decimal:
    """An integer's JSON text; one too long for int() (Python's 4300-digit guard) as a Decimal."""
    return int(text) if len(text) <= 4000 else Decimal(text)


def _json_float(text: str) -> float | Decimal:
    """A float's JSON text; one beyond a float (1e309, which float() reads as inf) as a Decimal."""
    number = float(text)
    return number if number - number == 0 else Decimal(text)


class EventAccumulator(Protocol):
    """A figure fed by each deduplicated event of the export (issue #13's metric kinds).

    `day` is the index of the event's local day in the reducer's `days`; `properties` holds the
    property names the accumulator listed in `wanted_properties` (None when absent).
    """

    @property
    def wanted_properties(self) -> frozenset[str]: ...

    def add(self, day: int, distinct_id: str, event: str, properties: Mapping[str, Any]) -> None:
        """Take one event."""

    def merge(self, other: Any) -> None:
        """Fold in another accumulator of the same kind, fed from another day range."""


@dataclass(frozen=True, slots=True)
class ExportTally:
    """What one export yielded: daily totals, distinct users, and how many lines it took."""

    counts: Mapping[str, Mapping[date, int]]
    uniques: UniqueCounts
    lines: int
    duplicates: int
    accumulators: tuple[EventAccumulator, ...] = ()


def local_day_bounds(
    first: date, last: date, timezone: ZoneInfo, *, wall_clock: bool = False
) -> list[float]:
    """Export time at which each local day from `first` to `last + 1` starts (DST-exact)."""
    days = (last - first).days + 2
    return [
        export_time(
            datetime.combine(first + timedelta(days=i), time(0)), timezone, wall_clock=wall_clock
        )
        for i in range(days)
    ]


class ExportReducer:
    """Folds deduplicated events into per-local-day totals, unique users and accumulators.

    One per fetched day range (a retried range starts a fresh one), so the dedup keys live only
    as long as their range; `merge` combines the ranges' reducers. `wall_clock`: the export's
    `time` is local wall-clock seconds (a project created before 2023).
    """

    def __init__(
        self,
        windows: Sequence[Window],
        groups: Mapping[str, frozenset[str] | None],
        *,
        timezone: ZoneInfo,
        qualifying: Callable[[str], bool],
        accumulators: Sequence[EventAccumulator] = (),
        wall_clock: bool = False,
    ) -> None:
        self._first = min(w.start for w in windows)
        last = max(w.end for w in windows)
        self._ndays = (last - self._first).days + 1
        self._bounds = local_day_bounds(self._first, last, timezone, wall_clock=wall_clock)
        self._tally = UniqueTally(
            windows, groups, timezone=timezone, qualifying=qualifying, wall_clock=wall_clock
        )
        self._counts: dict[str, list[int]] = {}
        self._dedup = Deduplicator()
        self._targets: dict[str, tuple[tuple[set[str], ...], ...]] = {}
        self._accumulators = tuple(accumulators)
        self.lines = 0
        self.used_ranges = 1

    def add_all(self, records: Iterable[Record]) -> None:
        """Count every record of a decoded batch (duplicates once, out-of-span ones never).

        The hot loop of a large export: the dedup rule and the tally are inlined on purpose
        (Deduplicator.first and UniqueTally.add_at state the same rules one event at a time).
        """
        bounds, ndays, counts, targets = self._bounds, self._ndays, self._counts, self._targets
        first_second, end_second = bounds[0], bounds[-1]
        seen = self._dedup._seen
        remember = seen.add
        accumulators = self._accumulators
        lines = duplicates = 0
        for event, distinct_id, when, insert_id, props in records:
            lines += 1
            if insert_id:
                key = f"{insert_id}\0{when!r}\0{len(event)}\0{event}\0{distinct_id}"
                if key in seen:
                    duplicates += 1
                    continue
                remember(key)
            if when < first_second or when >= end_second:
                continue
            index = bisect.bisect_right(bounds, when) - 1
            per_day = counts.get(event)
            if per_day is None:
                per_day = counts[event] = [0] * ndays
                targets[event] = self._tally.targets(event)
            per_day[index] += 1
            if distinct_id:
                for users in targets[event][index]:
                    users.add(distinct_id)
            for accumulator in accumulators:
                accumulator.add(index, distinct_id, event, props)
        self.lines += lines
        self._dedup.duplicates += duplicates

    def finish_range(self) -> None:
        """The range is read whole: its dedup keys can meet no more duplicates, free them."""
        duplicates = self._dedup.duplicates
        self._dedup = Deduplicator()
        self._dedup.duplicates = duplicates

    def merge(self, other: ExportReducer) -> None:
        """Fold in a reducer over the same windows that read another day range."""
        for event, days in other._counts.items():
            mine = self._counts.setdefault(event, [0] * self._ndays)
            for i, n in enumerate(days):
                mine[i] += n
        self._tally.merge(other._tally)
        for mine_acc, theirs in zip(self._accumulators, other._accumulators, strict=True):
            mine_acc.merge(theirs)
        self.lines += other.lines
        self._dedup.duplicates += other._dedup.duplicates
        self.used_ranges += other.used_ranges

    def result(self, names: Iterable[str] = ()) -> ExportTally:
        """The totals per event and local day (zeros for `names` never seen), users, lines."""
        days = [self._first + timedelta(days=i) for i in range(self._ndays)]
        counts = {
            event: dict(zip(days, per_day, strict=True)) for event, per_day in self._counts.items()
        }
        for name in names:
            counts.setdefault(name, dict.fromkeys(days, 0))
        in_windows = self._tally.window_days()
        seen = frozenset(
            event for event, per_day in self._counts.items() if any(per_day[i] for i in in_windows)
        )
        return ExportTally(
            counts=counts,
            uniques=self._tally.result(seen, self.lines),
            lines=self.lines,
            duplicates=self._dedup.duplicates,
            accumulators=self._accumulators,
        )
