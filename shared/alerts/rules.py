"""Alert rules and the tracking watch: what to watch, read from the alerts file; pure, no I/O."""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from shared.alerts.derived import reads_every_event
from shared.errors import MetricsFileError
from shared.report.metrics import Measure, MetricsConfig, MetricSpec, missing_file
from shared.text_rules import named_format_characters


class Condition(StrEnum):
    """What makes a rule fire."""

    ABOVE = "above"  # the value exceeds `value`
    BELOW = "below"  # the value is under `value`
    CHANGE = "change"  # the value moved from its baseline by change_pct % and change_abs
    ANOMALY = "anomaly"  # the value left the band learned from the last `weeks` same slots


class Direction(StrEnum):
    """Which way a change or anomaly counts."""

    UP = "up"
    DOWN = "down"
    BOTH = "both"


class Granularity(StrEnum):
    """The slot a rule judges: a closed local hour or a closed local day."""

    HOUR = "hour"
    DAY = "day"


@dataclass(frozen=True, slots=True)
class QuietHours:
    """Local hours [start, end) in which a rule posts nothing (it may wrap midnight)."""

    start: int
    end: int

    def contains(self, hour: int) -> bool:
        """Whether the local `hour` is quiet."""
        if self.start <= self.end:
            return self.start <= hour < self.end
        return hour >= self.start or hour < self.end


@dataclass(frozen=True, slots=True)
class AlertRule:
    """One configured rule on a metric of the metrics file."""

    name: str
    metric: str
    condition: Condition
    granularity: Granularity = Granularity.HOUR
    value: float | None = None
    change_pct: float | None = None
    change_abs: float | None = None
    direction: Direction = Direction.BOTH
    weeks: int = 4
    sensitivity: float = 3.0
    min_volume: int = 0
    quiet_hours: QuietHours | None = None
    min_interval_hours: float = 6.0

    @property
    def key(self) -> str:
        """The rule's identity in the delivery ledger."""
        return f"rule:{self.name}"


@dataclass(frozen=True, slots=True)
class WatchSettings:
    """The tracking watch: every steady event that goes silent or falls far below its history."""

    events: tuple[str, ...] | None = None  # None = every non-automatic event; () = off
    weeks: int = 4  # same weekday, same hour, this many weeks back
    lookback_hours: int = 24  # the longest silence measured at once
    drop_ratio: float = 0.3  # "far below": under this share of the expected count...
    alpha: float = 1e-7  # ...and that low by chance with at most this probability
    steady_min_daily: float = 24.0  # an event needs this many a day in each past week
    min_interval_hours: float = 3.0

    @property
    def enabled(self) -> bool:
        """False when the watch is switched off."""
        return self.events != ()


@dataclass(frozen=True, slots=True)
class AlertsConfig:
    """Everything AlertCheck evaluates."""

    watch: WatchSettings
    rules: tuple[AlertRule, ...] = ()

    @property
    def history_weeks(self) -> int:
        """How many weeks of hourly counts a check needs."""
        return max([self.watch.weeks, *(r.weeks for r in self.rules)])


_RULE_FIELDS = {
    "name",
    "metric",
    "when",
    "granularity",
    "value",
    "change_pct",
    "change_abs",
    "direction",
    "weeks",
    "sensitivity",
    "min_volume",
    "quiet_hours",
    "min_interval_hours",
}
_WATCH_FIELDS = {
    "weeks",
    "lookback_hours",
    "drop_ratio",
    "alpha",
    "steady_min_daily",
    "min_interval_hours",
}
MAX_WEEKS = 8
MAX_NUMBER = 10**12  # far above any hourly or daily figure: a larger one is a typo


def load_alerts(
    path: Path, metrics: MetricsConfig, *, watch_events: tuple[str, ...] | None = None
) -> AlertsConfig:
    """The alerts file at `path`; MetricsFileError lists every problem (a missing file is one:
    it would silently mean no rules)."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MetricsFileError([missing_file("alerts file", path)]) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
        raise MetricsFileError([f"alerts file {path} cannot be read: {exc}"]) from None
    return parse_alerts(raw, metrics, source=f"alerts file {path}", watch_events=watch_events)


def parse_alerts(
    raw: Mapping[str, Any],
    metrics: MetricsConfig,
    *,
    source: str = "alerts file",
    watch_events: tuple[str, ...] | None = None,
) -> AlertsConfig:
    """An AlertsConfig from parsed TOML: `[watch]` tuning and `[[alert]]` rules."""
    problems: list[str] = []
    unknown_top = set(raw) - {"watch", "alert"}
    if unknown_top:
        problems.append(f"{source}: unknown sections {sorted(unknown_top)}")
    watch = _watch(raw.get("watch", {}), source, problems, watch_events)
    entries = raw.get("alert", [])
    if not isinstance(entries, list):
        problems.append(f"{source}: [[alert]] must be an array of tables")
        entries = []
    by_key = {m.key: m for m in metrics.metrics}
    every = {m.key: m for m in metrics.computed}
    rules: list[AlertRule] = []
    names: set[str] = set()
    for index, entry in enumerate(entries, start=1):
        where = f"{source}: alert {index}"
        if not isinstance(entry, dict):
            problems.append(f"{where} must be a table")
            continue
        before = len(problems)
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            problems.append(f"{where} needs a name")
        elif found := named_format_characters(name):
            problems.append(
                f"{where} name contains an invisible Unicode format character ({found})"
            )
        elif name in names:
            problems.append(f"{where} repeats name {name!r}")
        else:
            names.add(name)
            where = f"{source}: alert {name!r}"
        unknown = set(entry) - _RULE_FIELDS
        if unknown:
            problems.append(f"{where} has unknown fields {sorted(unknown)}")
        metric = entry.get("metric")
        spec = by_key.get(metric) if isinstance(metric, str) else None
        if spec is None:
            problems.append(
                f"{where}: metric {metric!r} is not a key of the metrics file "
                f"(one of {', '.join(sorted(by_key))})"
            )
        elif reads_every_event(spec, every):
            problems.append(
                f"{where}: metric {metric!r} counts every event of the project (events ['*']), "
                "which no small export can count per check; alert on named events instead"
            )
        condition = _enum(entry, "when", Condition, None, where, problems)
        granularity = _enum(entry, "granularity", Granularity, Granularity.HOUR, where, problems)
        direction = _enum(entry, "direction", Direction, Direction.BOTH, where, problems)
        value = _number(entry, "value", where, problems)
        change_pct = _number(entry, "change_pct", where, problems)
        change_abs = _number(entry, "change_abs", where, problems)
        # A value given but refused above is reported once, not again as missing.
        if condition in (Condition.ABOVE, Condition.BELOW) and "value" not in entry:
            problems.append(f"{where}: when = {condition!s} needs a value")
        if condition is Condition.CHANGE and not {"change_pct", "change_abs"} & set(entry):
            problems.append(f"{where}: when = change needs change_pct and/or change_abs")
        if spec is not None and condition is not None:
            _refuse_kind(spec, condition, change_pct, where, problems)
        weeks = _number(entry, "weeks", where, problems, whole=True)
        if weeks is not None and not 1 <= weeks <= MAX_WEEKS:
            problems.append(f"{where}: weeks must be 1 to {MAX_WEEKS}")
        sensitivity = _number(entry, "sensitivity", where, problems)
        min_volume = _number(entry, "min_volume", where, problems, whole=True)
        interval = _number(entry, "min_interval_hours", where, problems)
        quiet = _quiet(entry.get("quiet_hours"), where, problems)
        if len(problems) == before and condition is not None:
            rules.append(
                AlertRule(
                    name=str(name),
                    metric=str(metric),
                    condition=condition,
                    granularity=granularity or Granularity.HOUR,
                    value=value,
                    change_pct=change_pct,
                    change_abs=change_abs,
                    direction=direction or Direction.BOTH,
                    weeks=int(weeks) if weeks is not None else 4,
                    sensitivity=sensitivity if sensitivity is not None else 3.0,
                    min_volume=int(min_volume) if min_volume is not None else 0,
                    quiet_hours=quiet,
                    min_interval_hours=interval if interval is not None else 6.0,
                )
            )
    if problems:
        raise MetricsFileError(problems)
    return AlertsConfig(watch, tuple(rules))


def _refuse_kind(
    spec: MetricSpec,
    condition: Condition,
    change_pct: float | None,
    where: str,
    problems: list[str],
) -> None:
    """Name each condition a metric kind has no sound reading for."""
    counted = spec.measure in (Measure.TOTAL, Measure.UNIQUE)
    if condition is Condition.ANOMALY and not counted:
        problems.append(
            f"{where}: metric {spec.key!r} is a {spec.measure.value}, and the anomaly band's "
            "noise floor is that of counts (Poisson); use above/below or change instead"
        )
    if condition is Condition.CHANGE and change_pct is not None and spec.unit.is_rate:
        problems.append(
            f"{where}: metric {spec.key!r} is a rate, whose change is read in percentage "
            "points: use change_abs (points), not change_pct"
        )


def _watch(
    raw: object, source: str, problems: list[str], events: tuple[str, ...] | None
) -> WatchSettings:
    if not isinstance(raw, dict):
        problems.append(f"{source}: [watch] must be a table")
        return WatchSettings(events=events)
    where = f"{source}: [watch]"
    unknown = set(raw) - _WATCH_FIELDS
    if unknown:
        problems.append(f"{where} has unknown fields {sorted(unknown)}")
    defaults = WatchSettings()
    values: dict[str, Any] = {}
    for name in sorted(_WATCH_FIELDS & set(raw)):
        whole = isinstance(getattr(defaults, name), int)
        number = _number(raw, name, where, problems, whole=whole)
        if number is not None:
            values[name] = int(number) if whole else number
    if "weeks" in values and not 1 <= values["weeks"] <= MAX_WEEKS:
        problems.append(f"{where}: weeks must be 1 to {MAX_WEEKS}")
    if "lookback_hours" in values and not 1 <= values["lookback_hours"] <= 48:
        problems.append(f"{where}: lookback_hours must be 1 to 48")
    if "drop_ratio" in values and not 0 <= values["drop_ratio"] < 1:
        problems.append(f"{where}: drop_ratio must be at least 0 and below 1")
    if "alpha" in values and not 0 < values["alpha"] < 1:
        problems.append(f"{where}: alpha must be between 0 and 1")
    return WatchSettings(events=events, **values)


def _enum(
    entry: Mapping[str, Any],
    name: str,
    kind: type[Condition] | type[Granularity] | type[Direction],
    default: Any,
    where: str,
    problems: list[str],
) -> Any:
    raw = entry.get(name)
    if raw is None:
        if default is None:
            problems.append(f"{where} needs {name} (one of {', '.join(k.value for k in kind)})")
        return default
    try:
        return kind(raw)
    except ValueError:
        problems.append(
            f"{where}: {name} must be one of {', '.join(k.value for k in kind)}, got {raw!r}"
        )
        return default


def _number(
    entry: Mapping[str, Any], name: str, where: str, problems: list[str], *, whole: bool = False
) -> float | None:
    raw = entry.get(name)
    if raw is None:
        return None
    if (
        isinstance(raw, bool)
        or not isinstance(raw, int | float)
        or not math.isfinite(raw)  # nan never fires, inf never resolves
        or not 0 <= raw <= MAX_NUMBER
    ):
        problems.append(f"{where}: {name} must be a finite number from 0 to {MAX_NUMBER:,}")
        return None
    if whole and not isinstance(raw, int):
        problems.append(f"{where}: {name} must be a whole number")
        return None
    return float(raw) if not whole else raw


def _quiet(raw: object, where: str, problems: list[str]) -> QuietHours | None:
    if raw is None:
        return None
    parts = raw.split("-") if isinstance(raw, str) else []
    if len(parts) == 2 and all(re.fullmatch(r"[0-9]{1,2}", p.strip()) for p in parts):
        start, end = (int(p) for p in parts)
        if 0 <= start <= 23 and 0 <= end <= 23 and start != end:
            return QuietHours(start, end)
    problems.append(f'{where}: quiet_hours must look like "22-07" (local hours), got {raw!r}')
    return None
