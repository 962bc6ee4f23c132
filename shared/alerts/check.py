"""AlertCheck's shell: gather hourly counts (one query) and, for rules on filtered, unique,
summed or formula metrics, one export; decide what fires (pure); apply once.

Also the backtest: the same decide-and-apply replayed hour by hour over past data, against an
in-memory ledger and a recording poster, so a dry run answers exactly what the live check would
have posted.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Generic, Protocol, TypeVar, runtime_checkable
from zoneinfo import ZoneInfo

from shared.alerts.derived import DerivedFigures, DerivedTally, needs_export, tallied
from shared.alerts.evaluate import Evaluation, Finding, HourlyCounts, evaluate, watched_events
from shared.alerts.rules import AlertsConfig, Condition, Granularity, WatchSettings
from shared.delivery.breach import NEVER, Outcome, states, step
from shared.delivery.ledger import DeliveryLedger, InMemoryLedger
from shared.delivery.port import Message, Poster
from shared.errors import ExportTooLarge, ReporterError, UnknownEventsError
from shared.report.metrics import MetricsConfig, MetricSpec, unknown_events
from shared.schedule.hours import LocalHour, bucket_of, end_of, last_closed
from shared.settings import DEFAULT_EXPORT_MAX_EVENTS

log = logging.getLogger("analytics_reporter")
PARTITION = "alerts"
BACKTEST_DAYS = 30

M = TypeVar("M", bound=Message)
M_co = TypeVar("M_co", bound=Message, covariant=True)


class HourlySource(Protocol):
    """Where hourly counts come from (MixpanelClient, or a fake in tests)."""

    def event_names(self, *, limit: int = ...) -> list[str]: ...

    def hourly_counts(
        self, events: Sequence[str], *, from_date: date, to_date: date
    ) -> dict[str, dict[LocalHour, int]]: ...


@runtime_checkable
class RecordSource(Protocol):
    """Where the raw export comes from, for filtered/unique/summed/formula rules: it streams
    `events` from `from_date` to `to_date` into a fresh tally (a fresh one per retried range),
    decoding just `properties`, and raises ExportTooLarge past `max_events` lines."""

    def export_tally(
        self,
        new_sink: Callable[[], DerivedTally],
        *,
        from_date: date,
        to_date: date,
        properties: Sequence[str],
        events: Sequence[str],
        max_events: int,
    ) -> DerivedTally: ...


class OpeningMessage(Protocol[M_co]):
    """Builds the post that opens a breach (shared/render/alert_message.py render_alert)."""

    def __call__(
        self, finding: Finding, /, *, company: str, now: datetime, tz: ZoneInfo
    ) -> M_co: ...


class ResolvedMessage(Protocol[M_co]):
    """Builds the all-clear that ends a breach (render_resolved)."""

    def __call__(self, title: str, /, *, company: str, now: datetime, tz: ZoneInfo) -> M_co: ...


@dataclass(frozen=True, slots=True)
class AlertContext(Generic[M]):
    """What every check of this deployment shares, with how its posts are built (the
    composition root passes the renderers in)."""

    alerts: AlertsConfig
    metrics: MetricsConfig
    timezone: ZoneInfo
    company: str
    opening: OpeningMessage[M]
    resolving: ResolvedMessage[M]
    # The export's from/to dates are UTC days and `time` a UTC epoch; False: a project created
    # before 2023 (local days, local wall-clock `time`; MIXPANEL_EXPORT_TIMEZONE=project).
    export_in_utc: bool = True
    export_max_events: int = DEFAULT_EXPORT_MAX_EVENTS  # the derived rules' export stops here

    @property
    def specs(self) -> dict[str, MetricSpec]:
        """Every metric of the metrics file by key (formula inputs included)."""
        return {m.key: m for m in self.metrics.computed}


@dataclass(frozen=True, slots=True)
class CheckResult:
    """What one check did, by rule key."""

    outcomes: Mapping[str, Outcome]
    firing: tuple[str, ...]


def needed_events(ctx: AlertContext[M], names: Sequence[str]) -> tuple[list[str], list[str]]:
    """(watched events, every event the check must count)."""
    watched = watched_events(ctx.alerts.watch, names)
    specs = ctx.specs
    ruled = [
        e
        for r in ctx.alerts.rules
        if not needs_export(specs[r.metric])
        for e in specs[r.metric].events
    ]
    return watched, sorted(set(watched) | set(ruled))


def gather_counts(
    ctx: AlertContext[M],
    source: HourlySource,
    *,
    now: datetime,
    days_back: int = 0,
    rules: frozenset[str] | None = None,
) -> tuple[list[str], HourlyCounts]:
    """The watched events and hourly counts from `days_back` + history weeks ago to today.

    Counts cost one /events request; the names come from /events/names (cached per process
    for an hour). An event TRACKING_WATCH names, or a `watch:<event>` of `rules`, that the
    project does not have is an UnknownEventsError: it would silently watch nothing.
    """
    watch = ctx.alerts.watch
    wanted = [r.removeprefix("watch:") for r in sorted(rules or ()) if r.startswith("watch:")]
    names = source.event_names() if watch.enabled or wanted else []
    check_watched_names(watch, names, wanted)
    watched, events = needed_events(ctx, names)
    if not events:
        return watched, {}
    today = now.astimezone(ctx.timezone).date()
    # The lookback may reach into yesterday, whose history starts a further week back.
    first = today - timedelta(days=days_back + 7 * ctx.alerts.history_weeks + 2)
    return watched, source.hourly_counts(events, from_date=first, to_date=today)


def check_watched_names(watch: WatchSettings, names: Sequence[str], wanted: Sequence[str]) -> None:
    """Raise UnknownEventsError for an event the watch or a `watch:` rule names that the project
    lacks (did-you-mean from `names`, the project's events of the last 31 days)."""
    if watch.enabled and watch.events is not None:
        problem = unknown_events(watch.events, names, where="TRACKING_WATCH")
        if problem is not None:
            raise problem
    if not wanted:
        return
    problem = unknown_events(wanted, names, where="rule watch:<event>")
    if problem is not None:
        raise problem
    watched = watched_events(watch, names)
    unwatched = [w for w in wanted if w not in watched]
    if unwatched:
        why = "the tracking watch is off" if not watch.enabled else "events the watch covers"
        raise UnknownEventsError(
            {w: difflib.get_close_matches(w, watched, n=3, cutoff=0.6) for w in unwatched},
            where=f"rule watch:<event> ({why})",
        )


def gather_derived(
    ctx: AlertContext[M],
    source: HourlySource,
    *,
    now: datetime,
    days_back: int = 0,
    strict: bool = False,
) -> DerivedFigures | None:
    """The export-derived rules' figures: ONE raw export of just their events, for them all.

    It covers the local days their slots and history need (today and yesterday for thresholds,
    `weeks` further weeks back for change and anomaly rules, `days_back` more for a backtest),
    widened a day each side when the export's dates are UTC. None when no rule needs it, or
    when the export is over EXPORT_MAX_EVENTS (those rules then stay unjudged, and say so in
    the log): never a partial count. With `strict` (the backtest) that export error is raised
    instead, so a dry run never reads "would not have fired" for rules it could not judge.
    """
    specs = ctx.specs
    rules = [r for r in ctx.alerts.rules if needs_export(specs[r.metric])]
    if not rules:
        return None
    if not isinstance(source, RecordSource):
        raise TypeError("rules on filtered, unique, summed or formula metrics need the export")
    today = now.astimezone(ctx.timezone).date()
    back = max(
        1 + (7 * r.weeks if r.condition in (Condition.CHANGE, Condition.ANOMALY) else 0)
        for r in rules
    )
    first = today - timedelta(days=days_back + back)
    hourly: set[str] = set()
    daily: set[str] = set()
    counted: dict[str, MetricSpec] = {}
    for rule in rules:
        for spec in tallied([specs[rule.metric]], specs):
            counted[spec.key] = spec
            (hourly if rule.granularity is Granularity.HOUR else daily).add(spec.key)
    chosen = list(counted.values())
    events = sorted({e for spec in chosen for e in spec.events})
    from_date, to_date = first, today
    if ctx.export_in_utc:  # the export's dates are UTC: widen, then bucket by local hour
        from_date = first - timedelta(days=1)
        to_date = min(today + timedelta(days=1), now.astimezone(UTC).date())

    def fresh() -> DerivedTally:
        return DerivedTally(
            chosen,
            first=first,
            last=today,
            timezone=ctx.timezone,
            hourly=frozenset(hourly),
            daily=frozenset(daily),
            wall_clock=not ctx.export_in_utc,
        )

    try:
        tally = source.export_tally(
            fresh,
            from_date=from_date,
            to_date=to_date,
            properties=sorted({p for spec in chosen for p in spec.property_names}),
            events=events,
            max_events=ctx.export_max_events,
        )
    except ExportTooLarge as exc:
        if strict:
            raise
        log.error(
            "alert rules on %s not judged: the export is over EXPORT_MAX_EVENTS=%s (%s)",
            ", ".join(sorted(counted)),
            f"{ctx.export_max_events:,}",
            exc,
        )
        return None
    return tally.result()


def run_alert_check(
    ctx: AlertContext[M],
    *,
    now: datetime,
    source: HourlySource,
    poster: Poster[M],
    ledger: DeliveryLedger,
) -> CheckResult:
    """One AlertCheck fire: at most one post per rule that started or stopped firing."""
    watched, counts = gather_counts(ctx, source, now=now)  # gather
    derived = gather_derived(ctx, source, now=now)
    return decide_and_apply(
        ctx, counts, watched, now=now, poster=poster, ledger=ledger, derived=derived
    )


def decide_and_apply(
    ctx: AlertContext[M],
    counts: HourlyCounts,
    watched: Sequence[str],
    *,
    now: datetime,
    poster: Poster[M],
    ledger: DeliveryLedger,
    derived: DerivedFigures | None = None,
) -> CheckResult:
    """Evaluate every rule on the closed hours before `now`, then step each one's breach."""
    verdicts: Evaluation = evaluate(  # decide
        ctx.alerts, ctx.specs, counts, watched=watched, now=now, tz=ctx.timezone, derived=derived
    )
    current = states(ledger.history(report=PARTITION), poster.destination)  # apply
    on = last_closed(now, ctx.timezone).day
    outcomes: dict[str, Outcome] = {}
    errors: list[ReporterError] = []
    for key in sorted(set(verdicts.firing) | verdicts.ok):
        state = current.get(key, NEVER)
        finding = verdicts.firing.get(key)

        def opening(found: Finding | None = finding) -> M:
            if found is None:
                raise ValueError("only a firing rule opens a breach")
            return ctx.opening(found, company=ctx.company, now=now, tz=ctx.timezone)

        def resolving(key: str = key) -> M:
            return ctx.resolving(
                _resolved_title(key), company=ctx.company, now=now, tz=ctx.timezone
            )

        try:
            outcomes[key] = step(
                ledger,
                poster,
                partition=PARTITION,
                rule=key,
                state=state,
                firing=finding is not None,
                on=on,
                now=now,
                min_interval=timedelta(hours=verdicts.intervals.get(key, 6.0)),
                opening=opening,
                resolving=resolving,
            )
        except ReporterError as exc:  # one rule's failed post must not silence the others
            log.error("alert %s: %s", key, exc)
            errors.append(exc)
    if errors:
        raise errors[0]
    return CheckResult(outcomes, tuple(sorted(verdicts.firing)))


def _resolved_title(key: str) -> str:
    kind, _, name = key.partition(":")
    if kind == "watch":
        return f"{name}: events are back to their usual volume"
    return f"alert {name!r} no longer fires"


# --------------------------------------------------------------------------- backtest


@dataclass(frozen=True, slots=True)
class WouldPost:
    """One post the live check would have made."""

    at: datetime
    rule: str
    outcome: Outcome
    text: str


@dataclass(slots=True)
class _Recorder:
    destination: str = "backtest"
    posts: list[str] = field(default_factory=list)

    def post(self, message: Message) -> None:
        self.posts.append(message.text)


def replay(
    ctx: AlertContext[M],
    counts: HourlyCounts,
    watched: Sequence[str],
    *,
    first: datetime,
    last: datetime,
    rules: frozenset[str] | None = None,
    derived: DerivedFigures | None = None,
) -> list[WouldPost]:
    """Run the hourly check at every hour end from `first` to `last` over `counts`.

    Only the keys in `rules` (all when None) are replayed; the flapping interval, quiet hours
    and once-per-breach all apply, as live.
    """
    ledger = InMemoryLedger()
    recorder = _Recorder()
    config = ctx.alerts
    if rules is not None:
        watched = [e for e in watched if f"watch:{e}" in rules]
        config = AlertsConfig(config.watch, tuple(r for r in config.rules if r.key in rules))
    scoped = replace(ctx, alerts=config)
    found: list[WouldPost] = []
    moment = end_of(bucket_of(first, ctx.timezone), ctx.timezone)
    while moment <= last:
        before = len(recorder.posts)
        result = decide_and_apply(
            scoped, counts, watched, now=moment, poster=recorder, ledger=ledger, derived=derived
        )
        posted = iter(recorder.posts[before:])
        for key, outcome in sorted(result.outcomes.items()):
            if outcome in (Outcome.OPENED, Outcome.RESOLVED):
                found.append(WouldPost(moment, key, outcome, next(posted)))
        moment = end_of(bucket_of(moment, ctx.timezone), ctx.timezone)
    return found


def backtest(
    ctx: AlertContext[M],
    source: HourlySource,
    *,
    now: datetime,
    days: int = BACKTEST_DAYS,
    rules: frozenset[str] | None = None,
) -> list[WouldPost]:
    """dry_run: what the hourly check would have posted over the last `days` days.

    One hourly /events request and, for rules on export-derived metrics, one export over the
    whole range, reduced per hour and day: never a request per replayed day.
    """
    if rules is not None:
        ctx = _only(ctx, rules)
    watched, counts = gather_counts(ctx, source, now=now, days_back=days, rules=rules)
    derived = gather_derived(ctx, source, now=now, days_back=days, strict=True)
    return replay(
        ctx,
        counts,
        watched,
        first=now - timedelta(days=days),
        last=now.astimezone(UTC),
        rules=rules,
        derived=derived,
    )


def _only(ctx: AlertContext[M], rules: frozenset[str]) -> AlertContext[M]:
    """The context with only the configured rules in `rules` (the watch is filtered later)."""
    kept = tuple(r for r in ctx.alerts.rules if r.key in rules)
    return replace(ctx, alerts=AlertsConfig(ctx.alerts.watch, kept))
