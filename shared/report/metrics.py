"""The metrics file: what a team reports, as validated, typed configuration."""

from __future__ import annotations

import difflib
import math
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from shared.errors import MetricsFileError, UnknownEventsError
from shared.report.filters import Condition, parse_condition
from shared.report.formulas import Formula, FormulaError, parse_formula
from shared.report.reports import ReportSpec, parse_reports
from shared.report.units import COUNT, DEFAULT_DECIMALS, Unit, UnitKind, parse_unit
from shared.text_rules import named_format_characters

ANY_EVENT = "*"
MAX_BREAKDOWN_TOP = 20
MAX_THRESHOLD = 1_000_000_000  # a band, count or volume beyond this is a typo, never a choice


class Measure(StrEnum):
    """How a metric counts its events."""

    TOTAL = "total"
    UNIQUE = "unique"
    SUM = "sum"
    AVERAGE = "average"
    FORMULA = "formula"


# Measures read from an event property; a formula is computed from other metrics.
PROPERTY_MEASURES = frozenset({Measure.SUM, Measure.AVERAGE})
_FIELDS = {
    "key",
    "label",
    "emoji",
    "events",
    "measure",
    "higher_is_better",
    "where",
    "property",
    "formula",
    "breakdown",
    "top",
    "month_to_date",
    "unit",
    "currency",
    "decimals",
}


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """One reported number: its label, emoji, Mixpanel events and how to count them."""

    key: str
    label: str
    emoji: str
    events: tuple[str, ...]
    measure: Measure = Measure.TOTAL
    higher_is_better: bool = True
    where: tuple[Condition, ...] = ()
    value_property: str | None = None  # the numeric property a sum or average reads
    formula: Formula | None = None
    breakdown: str | None = None  # the property whose top values are listed
    top: int = 5
    month_to_date: bool = False
    unit: Unit = COUNT

    @property
    def any_event(self) -> bool:
        """True when the metric counts every qualifying event (active users)."""
        return self.events == (ANY_EVENT,)

    @property
    def from_export(self) -> bool:
        """True when the figure is derived from the raw export stream (not /events totals)."""
        return bool(
            self.where
            or self.measure in PROPERTY_MEASURES
            or self.breakdown
            or (self.month_to_date and self.measure is not Measure.FORMULA)
        )

    @property
    def property_names(self) -> tuple[str, ...]:
        """Every event property the metric reads, in order, without repeats."""
        names = [c.property for c in self.where]
        names += [n for n in (self.value_property, self.breakdown) if n]
        return tuple(dict.fromkeys(names))


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
    in_line_points: float = 2.0  # a rate within +/-2 percentage points reads "in line"


@dataclass(frozen=True, slots=True)
class MetricsConfig:
    """The metrics a report shows and the thresholds it judges changes by.

    `inputs` are metrics computed only because a shown formula uses them; `reports` are the
    file's [[report]] tables (none: one report of every metric, as before reports existed).
    """

    metrics: tuple[MetricSpec, ...]
    thresholds: Thresholds = Thresholds()
    inputs: tuple[MetricSpec, ...] = ()
    reports: tuple[ReportSpec, ...] = ()
    source: str = "metrics file"

    @property
    def computed(self) -> tuple[MetricSpec, ...]:
        """The shown metrics, then the hidden formula inputs."""
        return self.metrics + self.inputs

    @property
    def named_events(self) -> tuple[str, ...]:
        """Every concrete event name the metrics mention, in order, without repeats."""
        names = (e for m in self.computed for e in m.events if e != ANY_EVENT)
        return tuple(dict.fromkeys(names))

    def report(self, name: str) -> MetricsConfig:
        """The config of the [[report]] called `name`: its metrics, and the inputs they need."""
        spec = next(r for r in self.reports if r.name == name)
        by_key = {m.key: m for m in self.computed}
        shown = tuple(by_key[k] for k in spec.metrics)
        needed = [k for m in shown if m.formula for k in m.formula.keys if k not in spec.metrics]
        inputs = tuple(by_key[k] for k in dict.fromkeys(needed))
        return MetricsConfig(shown, self.thresholds, inputs, (), self.source)

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
        return MetricsConfig(metrics, self.thresholds, source=self.source)


def load_metrics(path: Path) -> MetricsConfig:
    """The metrics file at `path`, parsed and checked; MetricsFileError lists every problem."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MetricsFileError([missing_file("metrics file", path)]) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
        raise MetricsFileError([f"metrics file {path} cannot be read: {exc}"]) from None
    return parse_metrics(raw, source=str(path))


def missing_file(kind: str, path: Path) -> str:
    """'<kind> <path> does not exist', with the closest names in its folder if there are any."""
    try:
        siblings = [p.name for p in path.parent.iterdir() if p.is_file()]
    except OSError:  # no such folder, or not readable: nothing to suggest
        siblings = []
    close = difflib.get_close_matches(path.name, siblings, n=3, cutoff=0.6)
    hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
    return f"{kind} {path} does not exist{hint}"


def parse_metrics(raw: Mapping[str, Any], *, source: str = "metrics file") -> MetricsConfig:
    """A MetricsConfig from parsed TOML; every problem is reported at once."""
    problems: list[str] = []
    metrics: list[MetricSpec] = []
    entries = raw.get("metric", [])
    if not isinstance(entries, list) or not entries:
        problems.append(f"{source}: needs at least one [[metric]]")
        entries = []
    keys: set[str] = set()
    declared: list[str] = []  # every key, valid metric or not, in the file's order
    for index, entry in enumerate(entries, start=1):
        before = len(keys)
        spec = _metric(entry, index, source, keys, problems)
        if len(keys) > before and isinstance(entry, dict):
            declared.append(str(entry["key"]))
        if spec is not None:
            metrics.append(spec)
    # A metric that is defined but broken has its own problem above: the formulas and reports
    # that use it are not told again that it is "not defined" (with a wrong suggestion).
    _check_formulas(metrics, set(declared), source, problems)
    thresholds = _thresholds(raw.get("thresholds", {}), source, problems)
    unknown = set(raw) - {"metric", "thresholds", "report"}
    if unknown:
        problems.append(f"{source}: unknown tables {sorted(unknown)}")
    reports = parse_reports(raw.get("report", []), declared, source, problems)
    if problems:
        raise MetricsFileError(problems)
    return MetricsConfig(tuple(metrics), thresholds, (), reports, source)


def _metric(
    entry: object, index: int, source: str, keys: set[str], problems: list[str]
) -> MetricSpec | None:
    """One [[metric]] table as a MetricSpec; None (with problems added) when it is broken."""
    where = f"{source}: metric {index}"
    if not isinstance(entry, dict):
        problems.append(f"{where} must be a table")
        return None
    before = len(problems)
    unknown = set(entry) - _FIELDS
    if unknown:
        problems.append(f"{where} has unknown fields {sorted(unknown)}")
    key, label, emoji = entry.get("key"), entry.get("label"), entry.get("emoji", "")
    measure = entry.get("measure", "formula" if "formula" in entry else "total")
    events = entry.get("events", [] if measure == "formula" else None)
    if isinstance(events, list):  # trim first, so " * " is judged as the '*' it is
        events = [e.strip() if isinstance(e, str) else e for e in events]
    better = entry.get("higher_is_better", True)
    if not isinstance(key, str) or not key:
        problems.append(f"{where} needs a key")
    elif found := named_format_characters(key):
        problems.append(f"{where} key contains an invisible Unicode format character ({found})")
    elif key in keys:
        problems.append(f"{where} repeats key {key!r}")
    else:
        keys.add(key)
        where = f"{source}: metric {key!r}"
    if not isinstance(label, str) or not label:
        problems.append(f"{where} needs a label")
    else:
        refuse_format_characters(label, f"{where} label", problems)
    if not isinstance(emoji, str):
        problems.append(f"{where} emoji must be a string like ':gift:'")
    else:
        refuse_format_characters(emoji, f"{where} emoji", problems)
    if not isinstance(measure, str) or measure not in {m.value for m in Measure}:
        choices = ", ".join(repr(m.value) for m in Measure)
        problems.append(f"{where} measure must be one of {choices}, got {measure!r}")
        measure = "total"
    kind = Measure(measure)
    if kind is Measure.FORMULA:
        if events:
            problems.append(f"{where}: a formula takes no events (it uses other metrics)")
        events = []
    elif (
        not isinstance(events, list)
        or not events
        or not all(isinstance(e, str) and e.strip() for e in events)
    ):
        problems.append(f"{where} events must be a non-empty list of event names")
        events = []
    elif ANY_EVENT in events and events != [ANY_EVENT]:
        problems.append(f"{where} events: '*' cannot be combined with names")
    elif events == [ANY_EVENT] and kind is not Measure.UNIQUE:
        problems.append(f"{where}: events ['*'] only makes sense with measure 'unique'")
    if not isinstance(better, bool):
        problems.append(f"{where} higher_is_better must be true or false")
    conditions = _conditions(entry.get("where", []), where, problems)
    prop = _property_name(entry, "property", where, problems)
    if kind in PROPERTY_MEASURES and prop is None:
        problems.append(f"{where}: measure {kind.value!r} needs the numeric property to read")
    elif kind not in PROPERTY_MEASURES and prop is not None:
        problems.append(f"{where}: property only applies to measure 'sum' or 'average'")
    formula = _formula(entry.get("formula"), kind, where, problems)
    breakdown = _property_name(entry, "breakdown", where, problems)
    top = entry.get("top", 5)
    if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= MAX_BREAKDOWN_TOP:
        problems.append(f"{where} top must be a whole number from 1 to {MAX_BREAKDOWN_TOP}")
    elif "top" in entry and breakdown is None:
        problems.append(f"{where}: top only applies with a breakdown")
    mtd = entry.get("month_to_date", False)
    if not isinstance(mtd, bool):
        problems.append(f"{where} month_to_date must be true or false")
    if kind is Measure.FORMULA and (conditions or breakdown or mtd is True):
        problems.append(
            f"{where}: a formula cannot have where, breakdown or month_to_date "
            "(give them to the metrics it uses)"
        )
    default_unit = {
        Measure.AVERAGE: Unit(UnitKind.NUMBER, None, DEFAULT_DECIMALS[UnitKind.NUMBER]),
        Measure.FORMULA: Unit(UnitKind.NUMBER, None, DEFAULT_DECIMALS[UnitKind.NUMBER]),
    }.get(kind, COUNT)
    unit = parse_unit(entry, where, problems, default=default_unit)
    if len(problems) > before:
        return None
    return MetricSpec(
        key=str(key),
        label=str(label),
        emoji=str(emoji),
        events=tuple(e.strip() for e in events),
        measure=kind,
        higher_is_better=bool(better),
        where=conditions,
        value_property=prop,
        formula=formula,
        breakdown=breakdown,
        top=int(top),
        month_to_date=bool(mtd),
        unit=unit,
    )


def refuse_format_characters(text: str, where: str, problems: list[str]) -> None:
    """Append a problem naming `where` when `text` hides an invisible format character."""
    if found := named_format_characters(text):
        problems.append(f"{where} contains an invisible Unicode format character ({found})")


def _conditions(raw: object, where: str, problems: list[str]) -> tuple[Condition, ...]:
    if not isinstance(raw, list):
        problems.append(f"{where} where must be a list of conditions")
        return ()
    found = [parse_condition(c, f"{where} where[{i}]", problems) for i, c in enumerate(raw, 1)]
    return tuple(c for c in found if c is not None)


def _property_name(
    entry: Mapping[str, Any], name: str, where: str, problems: list[str]
) -> str | None:
    value = entry.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{where} {name} must be an event property name")
        return None
    return value.strip()


def _formula(raw: object, kind: Measure, where: str, problems: list[str]) -> Formula | None:
    if kind is not Measure.FORMULA:
        if raw is not None:
            problems.append(f"{where}: formula only applies to measure 'formula'")
        return None
    if not isinstance(raw, str) or not raw.strip():
        problems.append(f'{where} needs a formula like "users_onboarded / new_signups"')
        return None
    try:
        return parse_formula(raw)
    except FormulaError as exc:
        problems.append(f"{where}: {exc}")
        return None


def _check_formulas(
    metrics: list[MetricSpec], declared: set[str], source: str, problems: list[str]
) -> None:
    by_key = {m.key: m for m in metrics}
    for metric in metrics:
        if metric.formula is None:
            continue
        for key in metric.formula.keys:
            used = by_key.get(key)
            where = f"{source}: metric {metric.key!r} formula"
            if used is None and key in declared:
                continue  # defined but broken: reported once, at its own table
            if used is None:
                close = difflib.get_close_matches(key, list(by_key), n=3, cutoff=0.6)
                hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
                problems.append(f"{where} uses unknown metric {key!r}{hint}")
            elif used.measure is Measure.FORMULA:
                problems.append(f"{where} uses {key!r}, itself a formula; use its inputs instead")


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
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or not 0 <= value <= MAX_THRESHOLD
        ):
            problems.append(
                f"{source}: threshold {name} must be a finite number from 0 to {MAX_THRESHOLD:,}"
            )
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
